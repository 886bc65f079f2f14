// `npm run demo` end to end: the built demo as a child process (real Open vSwitch lab, controller,
// traffic), the management API and the CLI against it while it runs, and a clean end: exit 0, no
// client failures, no namespace of its lab left, its ports free again.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceView } from '../../apps/lb/control.js';
import { cleanupStaleLabs } from '../../tools/lab/lab.js';
import { ensureBuilt, ROOT, runCli } from '../helpers/holdfast-process.js';
import { freePort } from '../helpers/ports.js';

const DEMO = join(ROOT, 'dist/tools/demo/demo.js');

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function namespacesOf(labId: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${labId}-`));
}

/** The demo as a child process, with its output collected. */
class DemoRun {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  readonly dir = mkdtempSync(join(tmpdir(), 'hf-demo-test-'));

  constructor(readonly apiPort: number, durationMs: number) {
    this.child = spawn(process.execPath, [DEMO, '--duration-ms', String(durationMs), '--api', `127.0.0.1:${apiPort}`, '--db', join(this.dir, 'demo.db'), '--report-ms', '1000'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code)));
  }

  get api(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > end) throw new Error(`demo: no ${re} (exit ${this.child.exitCode})\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  labId(): string {
    const m = this.out.match(/^demo: lab (hf[0-9a-f]+):/m);
    if (!m) throw new Error(`demo printed no lab id:\n${this.out}`);
    return m[1]!;
  }

  summaries(): string[] {
    return this.out.split('\n').filter((l) => /^\[\s*\d+s\] conns /.test(l));
  }

  async service(): Promise<ServiceView> {
    const r = await fetch(`${this.api}/api/services/web`);
    expect(r.status).toBe(200);
    return (await r.json()) as ServiceView;
  }

  /** Kills what is left after a failed test; the lab of a killed demo goes with the stale-lab sweep. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(t);
    }
    await cleanupStaleLabs();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let run: DemoRun | undefined;

beforeAll(() => ensureBuilt(), 120_000);
afterEach(async () => {
  await run?.dispose();
  run = undefined;
}, 60_000);

describe('npm run demo', () => {
  it('serves web over 3 backends, survives a CLI drain with no client failure, and ends cleanly', async () => {
    const port = await freePort();
    run = new DemoRun(port, 15_000);
    await run.waitFor(/Live view: {2}http:\/\/127\.0\.0\.1:\d+\//, 90_000);
    const labId = run.labId();
    expect(namespacesOf(labId).length).toBeGreaterThan(0);

    const before = await run.service();
    expect(before.vip).toBe('10.0.0.100');
    expect(before.backends.filter((b) => b.state === 'active').map((b) => b.key).sort()).toEqual(['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080']);

    // Traffic is flowing before the drain.
    await run.waitFor(/^\[\s*\d+s\] conns 40\/40 open/m, 15_000);

    const drain = await runCli(['--api', run.api, 'backend', 'drain', 'web', '10.0.0.11:8080']);
    expect(drain.stderr).toBe('');
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/10\.0\.0\.11:8080 of web: draining/);
    const after = await run.service();
    expect(after.backends.find((b) => b.key === '10.0.0.11:8080')?.state).toBe('draining');
    const drainedAt = run.summaries().length;

    const code = await run.exited;
    expect(code, `stdout:\n${run.out}\nstderr:\n${run.err}`).toBe(0);

    const lines = run.summaries();
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const l of lines) expect(l).toMatch(/failures 0 \|/);
    // After the drain b1 holds its established connections: it is draining and still answers.
    const afterDrain = lines.slice(drainedAt + 1);
    expect(afterDrain.length).toBeGreaterThan(5);
    for (const l of afterDrain) {
      expect(l).toMatch(/pool: b1 draining/);
      expect(Number(/replies b1 (\d+)/.exec(l)?.[1])).toBeGreaterThan(0);
      expect(l).toMatch(/conns 40\/40 open/);
    }
    // Its slots have moved away; the pins of its connections remain.
    for (const l of afterDrain.slice(-2)) expect(l).toMatch(/pool: b1 draining 0 slots \d+ pins/);
    expect(run.out).toMatch(/^client c1: 0 failures, .* — ok$/m);
    expect(run.out).toMatch(/^client c2: 0 failures, .* — ok$/m);
    expect(run.out).toMatch(/^demo: clients finished: 0 failures$/m);
    expect(run.out).toMatch(/^demo: cleaned up/m);

    expect(namespacesOf(labId)).toEqual([]);
    expect(await canListen(port)).toBe(true);
  }, 180_000);

  it('SIGTERM mid-run cleans up and exits 0', async () => {
    const port = await freePort();
    run = new DemoRun(port, 0);
    await run.waitFor(/^\[\s*\d+s\] conns 40\/40 open/m, 90_000);
    const labId = run.labId();
    const openflowPort = Number(run.out.match(/OpenFlow on 127\.0\.0\.1:(\d+)/)?.[1]);
    expect(openflowPort).toBeGreaterThan(0);
    expect(namespacesOf(labId).length).toBeGreaterThan(0);

    run.child.kill('SIGTERM');
    const code = await run.exited;
    expect(code, `stdout:\n${run.out}\nstderr:\n${run.err}`).toBe(0);
    expect(run.out).toMatch(/^demo: clients: 0 failures until SIGTERM$/m);
    expect(run.out).toMatch(/^demo: cleaned up/m);
    expect(namespacesOf(labId)).toEqual([]);
    expect(await canListen(port)).toBe(true);
    expect(await canListen(openflowPort)).toBe(true);
  }, 120_000);
});
