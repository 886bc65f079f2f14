// Failover time of a cluster of controllers (issue 13): leader death (SIGKILL) to the first
// flow-mod or group-mod the new leader sends a switch. Three real `holdfast start --etcd` processes
// (built CLI, lease TTL 1 s), one real etcd, one real Open vSwitch (tools/lab) pointed at all three,
// a nat service with two backends. Each run: SIGKILL the leader; at once a pool change (a weight
// flip) is sent through a surviving member's API every 20 ms until one is accepted (a follower
// forwards it to whoever leads); the new leader prints when it was elected, took the master role,
// loaded the state, and when it first changed the switch (tools/cli/start-cluster.ts). The killed
// member is started again (same ports) and rejoins as a follower before the next run. Every
// process writes Date.now() from the same host clock.
// Usage (root): node dist/tools/bench/failover.js [--runs 10] [--json]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLab, type Lab } from '../lab/lab.js';
import { numArg, percentiles, sleep, until } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

const CLI = resolve(import.meta.dirname, '../cli/main.js');

export interface FailoverRun {
  /** From the SIGKILL, in ms. */
  electedMs: number;
  masterMs: number;
  loadedMs: number;
  firstModMs: number;
  /** The accepted pool change's answer. */
  changeAcceptedMs: number;
  generation: string;
}

export interface FailoverResult {
  node: string;
  leaseTtlSeconds: number;
  runs: FailoverRun[];
  summary: Record<'electedMs' | 'masterMs' | 'loadedMs' | 'firstModMs' | 'changeAcceptedMs', { min: number; median: number; max: number }>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

interface Member {
  name: string;
  ofPort: number;
  apiPort: number;
  proc: ChildProcess;
  out: string;
  exited: Promise<void>;
}

function cli(apiPort: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, HOLDFAST_API: `http://127.0.0.1:${apiPort}`, HOLDFAST_TOKEN: undefined }, timeout: 10_000 },
      (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

/** Sets a weight straight through the API (no CLI start-up in a 20 ms retry loop). */
async function putWeight(apiPort: number, service: string, key: string, weight: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${apiPort}/api/services/${service}/backends/${encodeURIComponent(key)}/weight`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }), signal: AbortSignal.timeout(2_000),
    });
    return r.ok;
  } catch {
    return false;
  }
}

async function startMember(m: Omit<Member, 'proc' | 'out' | 'exited'>, etcdUrl: string, ttl: number): Promise<Member> {
  const proc = spawn(process.execPath, [
    CLI, 'start', '--etcd', etcdUrl, '--lease-ttl', String(ttl), '--openflow', `127.0.0.1:${m.ofPort}`, '--api', `127.0.0.1:${m.apiPort}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOLDFAST_TOKEN: undefined } });
  const member: Member = { ...m, proc, out: '', exited: new Promise<void>((r) => proc.once('exit', () => r())) };
  proc.stdout!.on('data', (d: Buffer) => { member.out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { member.out += d.toString(); });
  await until(`${m.name} to listen`, () => /follower api listening/.test(member.out) || proc.exitCode !== null, 15_000);
  if (proc.exitCode !== null) throw new Error(`${m.name} exited: ${member.out}`);
  return member;
}

const LEADER = /cluster: leader, generation (\d+), elected at (\d+), state loaded at (\d+), master role at (\d+)/;
const FIRST_MOD = /cluster: first flow-mod or group-mod as leader at (\d+)/;

async function startEtcd(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const proc = spawn('etcd', [
    '--name', 'bench', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `bench=http://127.0.0.1:${peer}`, '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error',
  ], { stdio: 'ignore' });
  return { url, proc };
}

export async function runFailoverBench(o: { runs: number; ttl?: number; log?: (line: string) => void }): Promise<FailoverResult> {
  const ttl = o.ttl ?? 1;
  const log = o.log ?? ((l: string) => console.error(l));
  const dir = mkdtempSync(join(tmpdir(), 'hf-failover-'));
  const etcd = await startEtcd(dir);
  const members: Member[] = [];
  let lab: Lab | undefined;
  try {
    // The first member must answer before the others start, so that it leads.
    for (const name of ['m1', 'm2', 'm3']) {
      members.push(await startMember({ name, ofPort: await freePort(), apiPort: await freePort() }, etcd.url, ttl));
      if (name === 'm1') await until('m1 to lead', () => LEADER.test(members[0]!.out), 20_000);
    }
    const [first, ...more] = members.map((m) => ({ host: '127.0.0.1', port: m.ofPort }));
    lab = await startLab({
      name: 'failover',
      bridges: [{ name: 'br0', controller: first!, moreControllers: more }],
      hosts: [{ name: 'c1', bridge: 'br0', ip: '10.0.0.1/24' }, { name: 'b1', bridge: 'br0', ip: '10.0.0.11/24' }, { name: 'b2', bridge: 'br0', ip: '10.0.0.12/24' }],
    });
    const api = members[0]!.apiPort;
    for (const args of [
      ['service', 'add', 'tcp', '--vip', '10.0.0.100', '--port', '80', '--mode', 'nat', '--slots', '64'],
      ['backend', 'add', 'tcp', '10.0.0.11:8080'],
      ['backend', 'add', 'tcp', '10.0.0.12:8080'],
    ]) {
      const r = await cli(api, args);
      if (r.code !== 0) throw new Error(`holdfast ${args.join(' ')}: ${r.stderr}`);
    }
    // Every member holds the switch (the leader as master) before the first kill.
    await waitAllConnected(members);

    const runs: FailoverRun[] = [];
    for (let i = 0; i < o.runs; i++) {
      const leader = members.find((m) => m.proc.exitCode === null && LEADER.test(m.out))!;
      const others = members.filter((m) => m !== leader);
      const seen = new Map(others.map((m) => [m, m.out.length]));
      const killedAt = Date.now();
      leader.proc.kill('SIGKILL');
      await leader.exited;
      // A pool change through a surviving member until one is accepted.
      const via = others[0]!;
      let acceptedAt = 0;
      const weight = 2 + (i % 2);
      while (Date.now() - killedAt < 20_000) {
        if (await putWeight(via.apiPort, 'tcp', '10.0.0.12:8080', weight)) {
          acceptedAt = Date.now();
          break;
        }
        await sleep(20);
      }
      let next: Member | undefined;
      await until('a new leader and its first change to the switch', () => {
        next = others.find((m) => LEADER.test(m.out.slice(seen.get(m))) && FIRST_MOD.test(m.out.slice(seen.get(m))));
        return next !== undefined;
      }, 20_000);
      const tail = next!.out.slice(seen.get(next!));
      const l = LEADER.exec(tail)!;
      const f = FIRST_MOD.exec(tail)!;
      const run: FailoverRun = {
        electedMs: Number(l[2]) - killedAt, loadedMs: Number(l[3]) - killedAt, masterMs: Number(l[4]) - killedAt,
        firstModMs: Number(f[1]) - killedAt, changeAcceptedMs: acceptedAt === 0 ? Number.NaN : acceptedAt - killedAt, generation: l[1]!,
      };
      runs.push(run);
      log(`run ${i + 1}: ${leader.name} SIGKILLed -> ${next!.name} elected ${run.electedMs} ms, master role ${run.masterMs} ms,`
        + ` state loaded ${run.loadedMs} ms, first flow/group-mod ${run.firstModMs} ms, change accepted ${run.changeAcceptedMs} ms (generation ${run.generation})`);
      // The killed member comes back as a follower on the same ports; the switch reconnects to it.
      const back = await startMember({ name: leader.name, ofPort: leader.ofPort, apiPort: leader.apiPort }, etcd.url, ttl);
      members[members.indexOf(leader)] = back;
      await waitAllConnected(members);
      await sleep(1_000);
    }
    const stat = (k: keyof FailoverResult['summary']): { min: number; median: number; max: number } => {
      const v = runs.map((r) => r[k]);
      const [min, median, max] = percentiles(v, [0, 0.5, 1]);
      return { min: min!, median: median!, max: max! };
    };
    return {
      node: process.version, leaseTtlSeconds: ttl, runs,
      summary: { electedMs: stat('electedMs'), masterMs: stat('masterMs'), loadedMs: stat('loadedMs'), firstModMs: stat('firstModMs'), changeAcceptedMs: stat('changeAcceptedMs') },
    };
  } finally {
    for (const m of members) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
    await Promise.all(members.map((m) => m.exited));
    await lab?.stop();
    if (etcd.proc.exitCode === null) {
      const gone = new Promise<void>((r) => etcd.proc.once('exit', () => r()));
      etcd.proc.kill('SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every member reports the switch connected with its role (the leader's /api/cluster answers for itself). */
async function waitAllConnected(members: Member[]): Promise<void> {
  for (const m of members) {
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${m.apiPort}/api/cluster`, { signal: AbortSignal.timeout(2_000) });
        const c = (await r.json()) as { switches?: { role: string }[] };
        if (r.ok && (c.switches ?? []).length > 0) break;
      } catch { /* not up yet */ }
      if (Date.now() > end) throw new Error(`${m.name} never got the switch: ${m.out.slice(-500)}`);
      await sleep(100);
    }
  }
}

export function formatFailover(r: FailoverResult): string {
  const row = (label: string, s: { min: number; median: number; max: number }): string =>
    `  ${label.padEnd(36)} min ${String(s.min).padStart(5)}  median ${String(s.median).padStart(5)}  max ${String(s.max).padStart(5)} ms`;
  return [
    `failover: ${r.runs.length} runs, 3 controllers, lease TTL ${r.leaseTtlSeconds} s, one etcd, Open vSwitch (node ${r.node}); from the leader's SIGKILL:`,
    row('new leader elected', r.summary.electedMs),
    row('master role on the switch', r.summary.masterMs),
    row('state loaded from etcd', r.summary.loadedMs),
    row('first flow-mod/group-mod', r.summary.firstModMs),
    row('pool change accepted (via follower)', r.summary.changeAcceptedMs),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('failover', argv, () => runFailoverBench({ runs: numArg(argv, 'runs', 10) }), formatFailover);
}
