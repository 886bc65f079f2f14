// Running the traffic server and client as child processes (in a lab host namespace or not) and
// reading their output: for end-to-end tests, benchmarks and the demo. The caller supplies how to
// spawn, e.g. (cmd) => lab.spawn('h1', cmd) or (cmd) => spawn(cmd[0], cmd.slice(1)).
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BackendCounters } from './backend.js';
import type { FinalReport, ProgressReport } from './stats.js';

/** dist/tools/traffic, whether this module runs compiled (from there) or from source (vitest). */
export const TRAFFIC_DIST_DIR: string = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, 'server.js')) ? here : resolve(here, '../../dist/tools/traffic');
})();
export const SERVER_JS = join(TRAFFIC_DIST_DIR, 'server.js');
export const CLIENT_JS = join(TRAFFIC_DIST_DIR, 'client.js');

export interface ServerFlags { name: string; tcp?: number; udp?: number; bind?: string }

export interface ClientFlags {
  target?: string;
  udpTarget?: string;
  long?: number;
  intervalMs?: number;
  jitter?: number;
  newRate?: number;
  udpFlows?: number;
  durationMs?: number;
  reportMs?: number;
  stallMs?: number;
  startStaggerMs?: number;
  maxInflight?: number;
  bindIp?: string;
}

export type SpawnFn = (cmd: string[]) => ChildProcess;

function flags(obj: object): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    out.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v));
  }
  return out;
}

export function serverCommand(f: ServerFlags): string[] {
  return [process.execPath, SERVER_JS, ...flags(f)];
}

export function clientCommand(f: ClientFlags): string[] {
  return [process.execPath, CLIENT_JS, ...flags(f)];
}

/** Collects a child's stdout lines and stderr text, and lets callers wait for a line. */
export class ProcOutput {
  readonly lines: string[] = [];
  stderr = '';
  private readonly waiters = new Set<() => void>();
  exitCode: number | null = null;
  exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    if (!child.stdout) throw new Error('child needs piped stdout');
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters) w();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => {
      child.once('close', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : -1);
        for (const w of this.waiters) w();
        r(this.exitCode);
      });
    });
  }

  /** The first stdout line (past or future) that satisfies pred. */
  waitLine(pred: (l: string) => boolean, timeoutMs = 10_000, what = 'line'): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const check = (): void => {
        const l = this.lines.find(pred);
        if (l !== undefined) {
          done();
          resolveLine(l);
        } else if (this.exitCode !== null) {
          // Set on 'close', after stdout was read to its end, so no line is missed.
          done();
          reject(new Error(`process exited (${this.exitCode}) before ${what}; stderr: ${this.stderr.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; stdout: ${this.lines.slice(-5).join(' | ')}; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Parsed JSON lines of one type. */
  json<T>(type: string): T[] {
    const out: T[] = [];
    for (const l of this.lines) {
      if (!l.startsWith('{')) continue;
      try {
        const o = JSON.parse(l) as { type?: string };
        if (o.type === type) out.push(o as T);
      } catch {
        /* not ours */
      }
    }
    return out;
  }
}

/** The server's last line: its backend's counters, named. */
export interface ServerFinal extends BackendCounters {
  type: 'server-final';
  name: string;
}

export interface ServerProc {
  readonly out: ProcOutput;
  readonly tcpPort: number | null;
  readonly udpPort: number | null;
  /** SIGTERM and wait for its final counters (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<ServerFinal | undefined>;
  /** SIGKILL: the backend vanishes without closing anything itself. */
  kill(): Promise<void>;
}

/** Spawns the server and waits for "ready". */
export async function startServerProc(spawnFn: SpawnFn, f: ServerFlags, readyTimeoutMs = 10_000): Promise<ServerProc> {
  const child = spawnFn(serverCommand(f));
  const out = new ProcOutput(child);
  try {
    await out.waitLine((l) => l === 'ready', readyTimeoutMs, `"ready" from server ${f.name}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const listening = out.json<{ tcp: number | null; udp: number | null }>('listening')[0];
  const stopAndWait = async (sig: NodeJS.Signals, timeoutMs: number): Promise<void> => {
    if (out.exitCode === null && child.exitCode === null) {
      child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await out.exited;
      clearTimeout(t);
    }
  };
  return {
    out,
    tcpPort: listening?.tcp ?? null,
    udpPort: listening?.udp ?? null,
    stop: async (timeoutMs = 5000) => {
      await stopAndWait('SIGTERM', timeoutMs);
      return out.json<ServerFinal>('server-final')[0];
    },
    kill: () => stopAndWait('SIGKILL', 5000),
  };
}

export interface ClientProc {
  readonly out: ProcOutput;
  progress(): ProgressReport[];
  /** The final report, once the client has finished (duration over or stopped). */
  final(timeoutMs?: number): Promise<FinalReport>;
  /** SIGTERM: the client winds down gracefully and prints its final report. */
  stop(timeoutMs?: number): Promise<FinalReport>;
}

export function startClientProc(spawnFn: SpawnFn, f: ClientFlags): ClientProc {
  const child = spawnFn(clientCommand(f));
  const out = new ProcOutput(child);
  const final = async (timeoutMs = (f.durationMs ?? 0) + 30_000): Promise<FinalReport> => {
    const line = await out.waitLine((l) => l.startsWith('{"type":"final"'), timeoutMs, 'the final report');
    return JSON.parse(line) as FinalReport;
  };
  return {
    out,
    progress: () => out.json<ProgressReport>('progress'),
    final,
    stop: (timeoutMs = 30_000) => {
      if (out.exitCode === null && child.exitCode === null) child.kill('SIGTERM');
      return final(timeoutMs);
    },
  };
}
