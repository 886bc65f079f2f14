// Several real `holdfast start --etcd` processes, a real etcd (one member or three), and one real
// Open vSwitch pointed at all of them: the proc rig's services, workload and checks, with a cluster
// instead of one controller.
import type { ClusterInfo } from '../../controller/management/follower.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { startLab } from '../lab/lab.js';
import { startEtcd, type TestEtcd } from './etcd.js';
import { CLI, ensureBuilt, runCli, type HoldfastProcess } from './holdfast-process.js';
import { ProcRig, type ProcRigOptions } from './proc-rig.js';
import { until } from './until.js';
import { freePort } from './ports.js';

export type { ClusterInfo };

export interface Member {
  name: string;
  ofPort: number;
  apiPort: number;
  proc: ChildProcess;
  out: () => string;
  /** From "cluster: leader, generation G, elected at T, state loaded at L". */
  leadership: () => { generation: bigint; electedAt: number; loadedAt: number } | undefined;
  exited: Promise<void>;
}

export async function startMember(name: string, etcdUrl: string): Promise<Member> {
  const ofPort = await freePort();
  const apiPort = await freePort();
  const proc = spawn(process.execPath, [
    CLI, 'start', '--etcd', etcdUrl, '--lease-ttl', '1', '--openflow', `127.0.0.1:${ofPort}`, '--api', `127.0.0.1:${apiPort}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOLDFAST_TOKEN: undefined } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await until(`${name} to listen for switches`, () => /openflow listening/.test(out) || proc.exitCode !== null, 15_000);
  if (proc.exitCode !== null) throw new Error(`${name} exited: ${out}`);
  return {
    name, ofPort, apiPort, proc, exited, out: () => out,
    leadership: () => {
      const m = /cluster: leader, generation (\d+), elected at (\d+), state loaded at (\d+)/.exec(out);
      return m ? { generation: BigInt(m[1]!), electedAt: Number(m[2]), loadedAt: Number(m[3]) } : undefined;
    },
  };
}

export function asProc(m: Member): HoldfastProcess {
  const api = `http://127.0.0.1:${m.apiPort}`;
  const alive = (): boolean => m.proc.exitCode === null && m.proc.signalCode === null;
  return {
    api, apiPort: m.apiPort, openflowPort: m.ofPort, dir: '', db: '', proc: m.proc,
    cli: (args, env = {}) => runCli(args, { HOLDFAST_API: api, ...env }),
    kill: async () => { if (alive()) { m.proc.kill('SIGKILL'); await m.exited; } },
    stop: async () => { if (alive()) { m.proc.kill('SIGTERM'); await m.exited; } },
    stderr: () => m.out(),
  };
}

/** Leader lines printed by any member other than `m` (a leadership change). */
export function leadersBesides(rig: ClusterRig, m: Member): string[] {
  return rig.members.filter((x) => x !== m && x.leadership() !== undefined).map((x) => x.name);
}

/** The proc rig's services, workload and checks, with a cluster instead of one controller. */
export class ClusterRig extends ProcRig {
  constructor(opts: ProcRigOptions, private readonly etcdMembers = 1) {
    super(opts);
  }

  etcd: TestEtcd | undefined;
  members: Member[] = [];

  override async start(): Promise<void> {
    ensureBuilt();
    this.etcd = await startEtcd({ members: this.etcdMembers });
    // The first member leads; the others follow (their slave role requests carry its generation).
    for (const n of ['m1', 'm2', 'm3']) {
      const m = await startMember(n, this.etcd.url);
      this.members.push(m);
      if (n === 'm1') await until('m1 to lead', () => m.leadership() !== undefined, 15_000);
    }
    const [first, ...more] = this.members.map((m) => ({ host: '127.0.0.1', port: m.ofPort }));
    this.lab = await startLab({
      name: 'cluster',
      bridges: [{ name: 'br0', controller: first!, moreControllers: more }],
      hosts: [
        ...this.opts.clients.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 1}/24` })),
        ...this.opts.backends.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 11}/24` })),
      ],
    });
    this.proc = asProc(this.members[0]!);
    await this.waitForSwitch();
  }

  /** Each controller connection's role as Open vSwitch sees it (the lab's proxies hide which member is which). */
  async roles(): Promise<string[]> {
    const csv = await this.lab.vsctl(['--format=csv', '--no-headings', '--columns=role,is_connected', 'list', 'Controller']);
    return csv.trim().split('\n').map((line) => {
      const [role, connected] = line.split(',');
      return connected === 'true' ? role ?? '' : 'down';
    });
  }

  /** Waits (up to `ms`) until the switch shows this many master and slave connections; returns
   * the roles last seen either way, for the caller to assert on. */
  async rolesSettled(masters: number, slaves: number, ms = 15_000): Promise<string[]> {
    let roles: string[] = [];
    await until(`${masters} master and ${slaves} slaves on the switch`, async () => {
      roles = await this.roles();
      return roles.filter((r) => r === 'master').length === masters && roles.filter((r) => r === 'slave').length === slaves;
    }, ms).catch(() => undefined);
    return roles;
  }

  /** Waits for a member other than the first to lead, and makes it the rig's controller. */
  async nextLeader(ms = 10_000): Promise<Member> {
    let next: Member | undefined;
    await until('another member to lead', () => {
      next = this.members.slice(1).find((m) => m.leadership() !== undefined);
      return next !== undefined;
    }, ms);
    this.proc = asProc(next!);
    return next!;
  }

  override async stop(): Promise<void> {
    for (const m of this.members) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
    await Promise.all(this.members.map((m) => m.exited));
    this.proc = undefined;
    await super.stop();
    await this.etcd?.stop();
  }
}

