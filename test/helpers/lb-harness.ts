// An end-to-end rig for load-balancer tests: a real Open vSwitch lab with client and backend hosts,
// the controller runtime with the L2 and load-balancer apps, and a SQLite file. The controller can
// be restarted in place (same port, same database) while the lab keeps running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { Controller, ControllerOptions } from '../../controller/index.js';
import type { LoadBalancer, LoadBalancerOptions } from '../../apps/lb/app.js';
import type { SwitchProfile } from '../../controller/capabilities.js';
import { startHoldfast, type Running } from '../../tools/cli/start.js';
import { startLab, type Lab, type LabHostSpec } from '../../tools/lab/lab.js';

export { until } from './wait-for.js';
import { until } from './wait-for.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RigOptions {
  clients: string[];
  backends: string[];
  lb?: Partial<Omit<LoadBalancerOptions, 'controller' | 'store'>>;
  protocols?: string[];
  /** Force the switch's profile (default: detected, `ovs` on Open vSwitch). */
  profile?: SwitchProfile;
  /** Runtime timers: keepalive, and how long a departed switch's state is kept. */
  controller?: Pick<ControllerOptions, 'echoIntervalMs' | 'echoTimeoutMs' | 'forgetSwitchAfterMs'>;
}

export class LbRig {
  lab!: Lab;
  controller!: Controller;
  lb!: LoadBalancer;
  port = 0;
  private running: Running | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'hf-rig-'));
  readonly dbFile = join(this.dir, 'holdfast.db');
  private readonly procs: ChildProcess[] = [];

  constructor(readonly opts: RigOptions) {}

  /** The management API of the running controller (http://127.0.0.1:PORT). */
  get apiUrl(): string {
    if (!this.running) throw new Error('no controller running');
    return this.running.apiUrl;
  }

  /** Backend hosts are 10.0.0.11, .12, …; clients 10.0.0.1, .2, …. */
  ip(host: string): string {
    return this.lab.host(host).ip;
  }

  async start(): Promise<void> {
    await this.startController();
    const hosts: LabHostSpec[] = [
      ...this.opts.clients.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 1}/24` })),
      ...this.opts.backends.map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i + 11}/24` })),
    ];
    this.lab = await startLab({
      name: 'lb-rig',
      bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: this.port }, ...(this.opts.protocols ? { protocols: this.opts.protocols } : {}) }],
      hosts,
    });
    // Reconnect fast after a controller restart (Open vSwitch backs off up to 8 s by default).
    await this.lab.vsctl(['set', 'controller', 'br0', 'max_backoff=1000']);
    await until('the switch to connect', () => this.controller.switches().length === 1);
    if (this.opts.profile) this.lb.setSwitchProfile(this.controller.switches()[0]!.dpidHex, this.opts.profile);
  }

  /** Exactly what `holdfast start` runs (management API on a free loopback port), faster timers. */
  async startController(): Promise<void> {
    this.running = await startHoldfast({
      openflow: { host: '127.0.0.1', port: this.port }, api: { host: '127.0.0.1', port: 0 }, db: this.dbFile,
      logLevel: 'warn', handleSignals: false, out: new PassThrough(),
      tuning: { auditIntervalMs: 5_000, lb: { pinAuditIntervalMs: 2_000, ...this.opts.lb }, ...(this.opts.controller ? { controller: this.opts.controller } : {}) },
    });
    this.controller = this.running.controller;
    this.lb = this.running.lb;
    this.port = this.running.openflow.port;
  }

  async stopController(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }

  /** Stops the controller and starts a new one on the same port and database. */
  async restartController(): Promise<void> {
    await this.stopController();
    await this.startController();
    await until('the switch to reconnect', () => this.controller.switches().length === 1, 20_000);
  }

  spawn(host: string, cmd: string[]): ChildProcess {
    const p = this.lab.spawn(host, cmd);
    this.procs.push(p);
    return p;
  }

  async stop(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    await this.stopController().catch(() => undefined);
    await this.lab?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
