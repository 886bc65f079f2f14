// Process helpers for the lab: run a command (async with timeout, or sync for exit-time teardown),
// and check processes through /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult { code: number; stdout: string; stderr: string }
export interface RunOptions { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string }

/** Runs a command without a shell. code is -1 when it was killed (timeout or signal). */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.on('error', () => { /* the command may exit before reading its input */ });
    child.stdin.end(opts.input ?? '');
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err.message) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[lab] ${cmd} timed out after ${opts.timeoutMs} ms`;
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(readonly argv: string[], readonly result: RunResult) {
    super(`${argv.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs a command and returns its stdout; throws CommandError with stderr on a non-zero exit. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 20_000, ...opts });
  if (r.code !== 0) throw new CommandError([cmd, ...args], r);
  return r.stdout;
}

export function runSync(cmd: string, args: string[], timeoutMs = 10_000): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error.message) : '') };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces; fields after it are space separated.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  const f = procStat(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
}

/** Kernel start time of a process (clock ticks since boot), to tell a reused PID from the original. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}
