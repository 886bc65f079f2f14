// An end-to-end rig where the controller is the real `holdfast start` process, driven only through
// the CLI, so restarts and crashes are real signals with a real outage: SIGTERM (the controller
// parks its migrations and exits) or SIGKILL (nothing runs), then a new process on the same
// OpenFlow port and state file. The Open vSwitch lab, its hosts and their traffic keep running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { ServiceView, StatusView } from '../../apps/lb/control.js';
import type { ForwardingMode } from '../../apps/lb/model.js';
import type { SwitchProfile } from '../../controller/capabilities.js';
import { startLab, type Lab, type LabHostSpec } from '../lab/lab.js';
import { startClientProc, startServerProc } from '../traffic/procs.js';
import type { FinalReport } from '../traffic/stats.js';
import { startHoldfastProcess, type CliResult, type HoldfastProcess } from './holdfast-process.js';
import { until } from './until.js';
import { freePort } from './ports.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


export interface ProcRigOptions {
  clients: string[];
  backends: string[];
}

export class ProcRig {
  lab!: Lab;
  proc: HoldfastProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'hf-procrig-'));
  private ofPort = 0;
  private apiPort = 0;
  private readonly procs: ChildProcess[] = [];

  constructor(readonly opts: ProcRigOptions) {}

  ip(host: string): string {
    return this.lab.host(host).ip;
  }

  async start(): Promise<void> {
    this.ofPort = await freePort();
    this.apiPort = await freePort();
    await this.startController();
    const hosts: LabHostSpec[] = [
      ...this.opts.clients.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 1}/24` })),
      ...this.opts.backends.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 11}/24` })),
    ];
    this.lab = await startLab({ name: 'proc-rig', bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: this.ofPort } }], hosts });
    // What docs/operations.md tells operators: reconnect within a second of a controller's return
    // (Open vSwitch backs off up to 8 s by default).
    await this.lab.vsctl(['set', 'controller', 'br0', 'max_backoff=1000']);
    await this.waitForSwitch();
  }

  async startController(): Promise<void> {
    this.proc = await startHoldfastProcess({ dir: this.dir, openflowPort: this.ofPort, apiPort: this.apiPort });
  }

  async waitForSwitch(timeoutMs = 20_000): Promise<string> {
    let dpid = '';
    await until('the switch to connect', async () => {
      const r = await this.cli(['status', '--json']);
      if (r.code !== 0) return false;
      const st = JSON.parse(r.stdout) as StatusView;
      dpid = st.switches[0]?.dpid ?? '';
      return dpid !== '';
    }, timeoutMs);
    return dpid;
  }

  /** Stops the controller with a real signal, waits `outageMs`, starts a new one on the same
   * port and state file, and waits for the switch to come back. */
  async restartController(signal: 'SIGTERM' | 'SIGKILL', outageMs: number): Promise<void> {
    if (signal === 'SIGTERM') await this.proc!.stop();
    else await this.proc!.kill();
    this.proc = undefined;
    await sleep(outageMs);
    await this.startController();
    await this.waitForSwitch();
  }

  cli(args: string[]): Promise<CliResult> {
    if (!this.proc) throw new Error('no controller running');
    return this.proc.cli(args);
  }

  /** Runs a CLI verb that must succeed. */
  async ok(args: string[]): Promise<string> {
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`holdfast ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async service(name: string): Promise<ServiceView> {
    return JSON.parse(await this.ok(['service', 'show', name, '--json'])) as ServiceView;
  }

  spawn(host: string, cmd: string[]): ChildProcess {
    const p = this.lab.spawn(host, cmd);
    this.procs.push(p);
    return p;
  }

  async stop(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    await this.proc?.stop().catch(() => undefined);
    await this.lab?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const VIP = '10.0.0.100';
export const TCP_PORT = 80;
export const UDP_PORT = 53;

/** Ports the backends listen on: nat rewrites to 8080/5353; dsr backends own the VIP itself. */
export function backendPorts(mode: ForwardingMode): { tcp: number; udp: number } {
  return mode === 'nat' ? { tcp: 8080, udp: 5353 } : { tcp: TCP_PORT, udp: UDP_PORT };
}

export function backendKey(rig: ProcRig, b: string, mode: ForwardingMode, proto: 'tcp' | 'udp'): string {
  return mode === 'nat' ? `${rig.ip(b)}:${backendPorts(mode)[proto]}` : rig.ip(b);
}

/**
 * Servers on every backend; a tcp and a udp service (optionally forced to a switch profile), with
 * `initial` as backends, all through the CLI; returns once they are active and settled.
 */
export async function setUpServices(
  rig: ProcRig, mode: ForwardingMode, profile: SwitchProfile | 'auto', initial: string[], extra: string[] = [],
): Promise<void> {
  if (profile !== 'auto') {
    const dpid = await rig.waitForSwitch();
    await rig.ok(['switch', 'profile', dpid, profile]);
  }
  for (const b of rig.opts.backends) {
    if (mode === 'dsr') {
      // dsr: the backend owns the VIP on loopback without answering ARP for it (docs/operations.md).
      for (const cmd of [
        ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo'],
        ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1'],
        ['sysctl', '-qw', 'net.ipv4.conf.all.arp_announce=2'],
      ]) {
        const r = await rig.lab.exec(b, cmd);
        if (r.code !== 0) throw new Error(`${cmd.join(' ')} on ${b}: ${r.stderr}`);
      }
    }
    const ports = backendPorts(mode);
    await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: ports.tcp, udp: ports.udp, ...(mode === 'dsr' ? { bind: VIP } : {}) });
  }
  await rig.ok(['service', 'add', 'tcp', '--vip', VIP, '--port', String(TCP_PORT), '--mode', mode, '--slots', '64', ...extra]);
  await rig.ok(['service', 'add', 'udp', '--vip', VIP, '--port', String(UDP_PORT), '--proto', 'udp', '--mode', mode, '--slots', '64', ...extra]);
  for (const b of initial) await addBackend(rig, mode, b);
  await until('backends active and slots settled', async () => {
    for (const s of ['tcp', 'udp']) {
      const v = await rig.service(s);
      if (v.backends.some((x) => x.state !== 'active') || v.migrations.length > 0) return false;
    }
    return true;
  }, 30_000);
}

export async function addBackend(rig: ProcRig, mode: ForwardingMode, b: string): Promise<void> {
  for (const proto of ['tcp', 'udp'] as const) await rig.ok(['backend', 'add', proto, backendKey(rig, b, mode, proto)]);
}

/** Runs a backend verb on both services, e.g. ['drain'], ['remove'], ['weight', '3']. */
export async function onBoth(rig: ProcRig, mode: ForwardingMode, verb: string, b: string, ...rest: string[]): Promise<void> {
  for (const proto of ['tcp', 'udp'] as const) await rig.ok(['backend', verb, proto, backendKey(rig, b, mode, proto), ...rest]);
}

/**
 * The harsh user's clients, on every client host: busy long-lived TCP connections (a message every
 * 0.1 s), idle ones (a message every 10-30 s), a stream of new TCP connections and UDP flows.
 * Every reply must come from the backend the connection started on.
 */
export interface Workload {
  busy: Promise<FinalReport>[];
  idle: Promise<FinalReport>[];
}

export function startWorkload(rig: ProcRig, durationMs: number, o: { perHost?: number; stallMs?: number } = {}): Workload {
  const perHost = o.perHost ?? 50;
  const stallMs = o.stallMs ?? 15_000;
  const busy = rig.opts.clients.map((c) => startClientProc((cmd) => rig.spawn(c, cmd), {
    target: `${VIP}:${TCP_PORT}`, udpTarget: `${VIP}:${UDP_PORT}`, long: perHost, intervalMs: 100, newRate: 10, udpFlows: 5,
    durationMs, startStaggerMs: 1_000, stallMs,
  }).final(durationMs + 60_000));
  const idle = rig.opts.clients.map((c) => startClientProc((cmd) => rig.spawn(c, cmd), {
    target: `${VIP}:${TCP_PORT}`, long: perHost, intervalMs: 20_000, jitter: 0.5, durationMs, startStaggerMs: 2_000, stallMs,
  }).final(durationMs + 60_000));
  return { busy, idle };
}

/** What broke, by kind of client: connections counted once however often they failed. */
export interface Outcome {
  busyBroken: number;
  idleBroken: number;
  longOpened: number;
  newOk: number;
  newFailed: number;
  udpFailures: number;
  stickiness: number;
  busyReports: FinalReport[];
  idleReports: FinalReport[];
}

function broken(r: FinalReport): number {
  // Failures are listed per connection index (capped at 200 details); a replaced connection that
  // fails again counts once.
  return new Set(r.long.failures.map((f) => f.conn)).size + r.long.failuresDropped;
}

export async function outcome(w: Workload): Promise<Outcome> {
  const busyReports = await Promise.all(w.busy);
  const idleReports = await Promise.all(w.idle);
  const all = [...busyReports, ...idleReports];
  return {
    busyBroken: busyReports.reduce((n, r) => n + broken(r), 0),
    idleBroken: idleReports.reduce((n, r) => n + broken(r), 0),
    longOpened: all.reduce((n, r) => n + r.long.opened - r.long.reopened, 0),
    newOk: busyReports.reduce((n, r) => n + r.newConns.ok, 0),
    newFailed: busyReports.reduce((n, r) => n + r.newConns.failed, 0),
    udpFailures: busyReports.reduce((n, r) => n + r.udp.failed, 0),
    stickiness: all.reduce((n, r) => n + r.long.stickinessViolations + r.udp.stickinessViolations, 0),
    busyReports, idleReports,
  };
}

/** One line for the test log (and docs/): the figures of a run. */
export function describeOutcome(label: string, o: Outcome): string {
  const kinds = new Map<string, number>();
  for (const r of [...o.busyReports, ...o.idleReports]) for (const f of r.long.failures) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  return `${label}: long connections ${o.longOpened} (half idle 10-30 s); broken busy ${o.busyBroken}, idle ${o.idleBroken}`
    + ` [${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}]; new connections ok ${o.newOk}, failed ${o.newFailed};`
    + ` udp failures ${o.udpFailures}; stickiness violations ${o.stickiness}`;
}
