// Runs the real `holdfast start` (built CLI, real controller, real SQLite file) for tests and
// benchmarks, and runs CLI verbs against it.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository: the nearest folder above with a package.json, whether this module runs from
 * source (vitest: tools/rig) or compiled (benchmarks: dist/tools/rig). */
export const ROOT: string = (() => {
  let d = import.meta.dirname;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();
export const CLI = join(ROOT, 'dist/tools/cli/main.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function fresh(): boolean {
  const srcs = ['openflow', 'controller', 'apps', 'db', 'tools'].map((d) => newestMtime(join(ROOT, d)));
  return existsSync(CLI) && statSync(CLI).mtimeMs >= Math.max(...srcs);
}

const sleepSync = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

/**
 * Builds dist/ when it is missing or older than the sources (others' type errors do not stop
 * emit). Test workers run in parallel: one builds under a lock, the others wait for it, so no
 * worker runs the CLI from half-written files.
 */
export function ensureBuilt(): void {
  if (fresh()) return;
  const lock = join(tmpdir(), `holdfast-build-${ROOT.replace(/\W/g, '_')}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run goes stale.
      try { if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true }); } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`waited too long for the build lock ${lock}`);
      sleepSync(200);
    }
  }
  try {
    if (fresh()) return;
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch { /* type errors elsewhere still emit JS */ }
    if (!existsSync(CLI)) throw new Error('building dist/ failed: no dist/tools/cli/main.js');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface CliResult { code: number; stdout: string; stderr: string }

export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [CLI, ...args], {
      env: { ...process.env, HOLDFAST_API: undefined, HOLDFAST_TOKEN: undefined, HOLDFAST_LOG: undefined, ...env },
      timeout: timeoutMs,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export interface HoldfastProcess {
  api: string;
  apiPort: number;
  openflowPort: number;
  dir: string;
  db: string;
  proc: ChildProcess;
  /** Runs a CLI verb against this controller (HOLDFAST_API set; token too if one was given). */
  cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  /** SIGTERM and wait for exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown code runs) and wait for exit. */
  kill(): Promise<void>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

export interface StartProcessOptions {
  token?: string;
  apiHost?: string;
  /** Reuse these (restart tests). */
  apiPort?: number;
  openflowPort?: number;
  dir?: string;
  /** More `holdfast start` options (e.g. --init-db, --allow-dpid). */
  extraArgs?: string[];
}

export async function startHoldfastProcess(o: StartProcessOptions = {}): Promise<HoldfastProcess> {
  ensureBuilt();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'holdfast-test-'));
  const db = join(dir, 'h.db');
  const args = [CLI, 'start', '--api', `${o.apiHost ?? '127.0.0.1'}:${o.apiPort ?? 0}`, '--openflow', `127.0.0.1:${o.openflowPort ?? 0}`, '--db', db];
  if (o.token) args.push('--token', o.token);
  if (o.extraArgs) args.push(...o.extraArgs);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOLDFAST_TOKEN: undefined } });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const { apiPort, openflowPort, scheme } = await new Promise<{ apiPort: number; openflowPort: number; scheme: string }>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`holdfast start did not come up: ${out}${err}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const a = /api listening on (https?):\/\/[^\s]+:(\d+)/.exec(out);
      const f = /openflow listening on [^\s]+:(\d+)/.exec(out);
      if (a && f) {
        clearTimeout(timer);
        resolveStart({ apiPort: Number(a[2]), openflowPort: Number(f[1]), scheme: a[1]! });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`holdfast start exited (${code}): ${err.trim() || out.trim()}`));
    });
  });
  const api = `${scheme}://127.0.0.1:${apiPort}`;
  return {
    api, apiPort, openflowPort, dir, db, proc,
    cli: (args, env = {}) => runCli(args, { HOLDFAST_API: api, ...(o.token ? { HOLDFAST_TOKEN: o.token } : {}), ...env }),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
