#!/usr/bin/env node
// `npm run demo`: an Open vSwitch lab (one bridge, backends b1-b4, clients c1-c2 in network
// namespaces), the controller with a SQLite file, the live view, a service `web` over b1-b3, and
// steady client traffic; prints the live view's URL, CLI commands to try, and a summary line every
// few seconds. Ctrl-C (or --duration-ms) tears it all down.
import { getuid } from 'node:process';
import type { BackendView, ServiceView } from '../../apps/lb/control.js';
import { ApiClient } from '../cli/client.js';
import { CliError } from '../cli/errors.js';
import { cleanupStaleLabs, ensureLabDependencies, startLab, type Lab, type LabHostSpec } from '../lab/lab.js';
import { startClientProc, startServerProc, type ClientProc, type ServerProc } from '../traffic/procs.js';
import { DEFAULT_API, parseDemoArgs, type DemoOptions } from './options.js';
import { startDemoStack, type DemoStack } from './stack.js';
import { finalLine, summaryLine, totals, type ClientTotals } from './summary.js';

const SERVICE = { name: 'web', vip: '10.0.0.100', port: 80, proto: 'tcp', mode: 'nat' } as const;
const BACKEND_PORT = 8080;
/** b1-b3 start in the pool; b4 runs a server but waits for `holdfast backend add`. */
const BACKENDS = ['b1', 'b2', 'b3', 'b4'] as const;
const POOL = BACKENDS.slice(0, 3);
const CLIENTS = ['c1', 'c2'] as const;
const CLIENT_LOAD = { long: 20, intervalMs: 500, newRate: 5 } as const;

const backendIp = (i: number): string => `10.0.0.${11 + i}`;
const clientIp = (i: number): string => `10.0.0.${1 + i}`;
const nameOfIp = (ip: string): string => {
  const i = BACKENDS.findIndex((_, k) => backendIp(k) === ip);
  return i >= 0 ? BACKENDS[i]! : ip;
};

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new CliError(`timed out waiting for ${what}`);
}

/** Everything the demo started, stopped in reverse order of need: traffic, lab, controller. */
class Demo {
  stack?: DemoStack;
  lab?: Lab;
  readonly servers: ServerProc[] = [];
  readonly clients: { name: string; proc: ClientProc }[] = [];
  private ticker?: NodeJS.Timeout;
  private stopping?: Promise<number>;
  private startedAt = Date.now();
  private previous?: ClientTotals;
  /** The clients' report times behind the last line (a line is printed only when one of them moved). */
  private lastReports = '';

  constructor(readonly o: DemoOptions) {}

  async start(): Promise<void> {
    say('demo: checking dependencies (Open vSwitch, iproute2, socat, ethtool; installed with apt-get when missing)');
    await ensureLabDependencies();
    const stale = await cleanupStaleLabs();
    if (stale.length) say(`demo: removed stale labs ${stale.join(', ')}`);

    this.stack = await startDemoStack({ api: this.o.api, openflow: this.o.openflow, db: this.o.db });
    const { stack } = this;
    say(`demo: controller: OpenFlow on ${stack.openflow.host}:${stack.openflow.port}, API on ${stack.apiUrl}, state in ${this.o.db}`);
    const api = new ApiClient({ api: stack.apiUrl });
    await this.resetService(api);

    const hosts: LabHostSpec[] = [
      ...CLIENTS.map((name, i) => ({ name, bridge: 'br0', ip: `${clientIp(i)}/24` })),
      ...BACKENDS.map((name, i) => ({ name, bridge: 'br0', ip: `${backendIp(i)}/24` })),
    ];
    this.lab = await startLab({ name: 'demo', bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: stack.openflow.port } }], hosts });
    const lab = this.lab;
    say(`demo: lab ${lab.id}: bridge br0, clients ${CLIENTS.map((c, i) => `${c}=${clientIp(i)}`).join(' ')}, backends ${BACKENDS.map((b, i) => `${b}=${backendIp(i)}`).join(' ')}`);
    await until('the switch to connect to the controller', () => stack.controller.switches().length > 0, 20_000);

    for (const name of BACKENDS) {
      this.servers.push(await startServerProc((cmd) => lab.spawn(name, cmd), { name, tcp: BACKEND_PORT }));
    }

    await api.post('/services', SERVICE);
    for (const i of POOL.keys()) await api.post(`/services/${SERVICE.name}/backends`, { ip: backendIp(i), port: BACKEND_PORT });
    // Active (resolved by ARP through the switch) and done taking their slots, so the clients'
    // connections spread over all three from the start.
    await until('backends b1-b3 to be active with their slots', async () => {
      const s = await api.get<ServiceView>(`/services/${SERVICE.name}`);
      return s.backends.filter((b) => b.state === 'active').length === POOL.length && s.migrations.length === 0 && s.querySlots.length === 0;
    }, 40_000);
    say(`demo: service ${SERVICE.name} ${SERVICE.vip}:${SERVICE.port}/${SERVICE.proto} (${SERVICE.mode}) with backends ${POOL.map((_, i) => `${backendIp(i)}:${BACKEND_PORT}`).join(' ')}`);

    for (const name of CLIENTS) {
      const proc = startClientProc((cmd) => lab.spawn(name, cmd), {
        target: `${SERVICE.vip}:${SERVICE.port}`, ...CLIENT_LOAD, reportMs: this.o.reportMs,
      });
      this.clients.push({ name, proc });
    }
    this.startedAt = Date.now();
    this.banner();
    this.ticker = setInterval(() => this.summary(), this.o.reportMs);
    // Up and reporting before start() returns, so a --duration-ms run measures traffic, not start-up.
    await Promise.all(this.clients.map((c) => c.proc.out.waitLine((l) => l.startsWith('{"type":"progress"'), this.o.reportMs + 15_000, `a progress report from client ${c.name}`)));
  }

  /** A demo state file from an earlier run may hold the service (and b4): start from the three. */
  private async resetService(api: ApiClient): Promise<void> {
    const existing = await api.get<ServiceView[]>('/services');
    if (existing.some((s) => s.name === SERVICE.name)) {
      await api.delete(`/services/${SERVICE.name}`);
      say(`demo: removed service ${SERVICE.name} left in ${this.o.db} by an earlier run`);
    }
  }

  private banner(): void {
    const stack = this.stack!;
    const apiFlag = `${stack.api.host}:${stack.api.port}` === DEFAULT_API ? '' : ` --api ${stack.apiUrl}`;
    const hf = `npx holdfast${apiFlag}`;
    const b = (i: number): string => `${SERVICE.name} ${backendIp(i)}:${BACKEND_PORT}`;
    const tries: [string, string][] = [
      ['status', ''],
      ['watch', 'events as they happen (Ctrl-C ends it)'],
      [`backend add ${b(3)}`, 'b4 runs a server but is not in the pool yet'],
      [`backend drain ${b(0)}`, 'b1: no new connections; its open ones stay up'],
      [`backend enable ${b(0)}`, 'b1 takes new connections again'],
      [`backend remove ${b(1)}`, 'graceful: drain b2, remove it when its last connection ends'],
      [`backend remove ${b(1)} --now`, 'b2 out at once: its connections break, clients reconnect'],
      [`service show ${SERVICE.name}`, ''],
    ];
    const width = Math.max(...tries.map(([c]) => c.length));
    const lines = [
      '',
      `  Live view:  ${stack.apiUrl}/`,
      '',
      '  Try, in another terminal in this folder (node dist/tools/cli/main.js works as well as npx holdfast):',
      ...tries.map(([c, why]) => `    ${hf} ${why ? `${c.padEnd(width)}   # ${why}` : c}`),
      '  drain/remove --wait follow the backend until its last connection ends; the clients\' long-lived',
      '  connections never end by themselves, so that lasts until the drain deadline (Ctrl-C the wait: the drain goes on).',
      '',
      `  Clients c1, c2: ${CLIENT_LOAD.long} long-lived connections each (a line every ${CLIENT_LOAD.intervalMs} ms) + ${CLIENT_LOAD.newRate} new connections/s each.`,
      `  Every ${this.o.reportMs / 1000} s: connections open, failures so far, replies per backend since the last line, the pool.`,
      this.o.durationMs > 0 ? `  Stopping by itself after ${this.o.durationMs / 1000} s.` : '  Ctrl-C stops everything and cleans up.',
      '',
    ];
    for (const l of lines) say(l);
  }

  /** Prints a summary line from the clients' latest reports; returns the totals (none before the first reports). */
  private summary(force = false): ClientTotals | undefined {
    const latest = this.clients.map((c) => c.proc.progress().at(-1));
    if (latest.every((p) => p === undefined)) return undefined;
    // The ticker and the clients' reports share a period: on a busy machine a tick can come before
    // any new report, and its line would read "0 replies everywhere". Wait for the next tick then.
    const seen = latest.map((p) => p?.tMs ?? -1).join(',');
    if (!force && seen === this.lastReports) return this.previous;
    this.lastReports = seen;
    const now = totals(latest, CLIENT_LOAD.long);
    let backends: readonly BackendView[] | undefined;
    try {
      backends = this.stack?.lb.getService(SERVICE.name).backends;
    } catch { /* removed by the operator */ }
    say(summaryLine({ elapsedMs: Date.now() - this.startedAt, now, previous: this.previous, names: BACKENDS, backends, nameOf: nameOfIp }));
    this.previous = now;
    return now;
  }

  /**
   * Ends the demo; resolves to the exit code. Graceful (--duration-ms): clients stop first and print
   * their final reports, then servers, lab and controller. On a signal the lab's own hook tears the
   * lab down right after this handler returns, so the last word on the clients is the summary taken
   * here, synchronously, before that (their final reports would count the teardown as failures).
   */
  stop(reason: string, graceful: boolean): Promise<number> {
    this.stopping ??= (async () => {
      if (this.ticker) clearInterval(this.ticker);
      say(`demo: stopping (${reason})`);
      const last = this.clients.length ? this.summary(true) : undefined;
      let clientProblem = false;
      if (graceful && this.clients.length) {
        let failures = 0;
        const finals = await Promise.all(this.clients.map(async (c) => ({ c, f: await c.proc.stop(15_000).catch(() => undefined) })));
        for (const { c, f } of finals) {
          if (f) {
            say(finalLine(c.name, f));
            failures += f.totalFailures;
            clientProblem ||= !f.ok;
          } else {
            say(`client ${c.name}: no final report`);
            clientProblem = true;
          }
        }
        say(`demo: clients finished: ${failures} failures`);
      } else if (last) {
        say(`demo: clients: ${last.failures} failures until ${reason}`);
      }
      await Promise.all(this.servers.map((s) => s.stop(3_000).catch(() => undefined)));
      await this.lab?.stop();
      await this.stack?.stop();
      say('demo: cleaned up (lab, traffic, controller)');
      // A fixed-length run is a check (CI): broken connections fail it. Ctrl-C always ends with 0.
      return graceful && clientProblem ? 1 : 0;
    })();
    return this.stopping;
  }
}

async function main(): Promise<number> {
  const args = parseDemoArgs(process.argv.slice(2));
  if (args.kind === 'help') {
    say(args.text.trimEnd());
    return 0;
  }
  if (getuid?.() !== 0) throw new CliError('the demo needs root (it creates network namespaces and runs Open vSwitch): run it with sudo');
  const demo = new Demo(args.options);

  // Registered before the lab's own hooks, so this runs first on a signal; the lab's hook then tears
  // the lab down at once, and this carries on with the controller.
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(130); // a second Ctrl-C: do not wait (the lab's exit hook still cleans up)
    void demo.stop(sig, false).then((code) => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const crash = (err: unknown): void => {
    process.stderr.write(`demo: crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    // The lab's exit hook removes the lab; closing the controller releases its ports before exit.
    const bail = setTimeout(() => process.exit(1), 5_000);
    bail.unref();
    void demo.stop('crash', false).finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  try {
    await demo.start();
  } catch (err) {
    await demo.stop('start-up failed', false);
    throw err;
  }
  if (args.options.durationMs > 0) {
    await sleep(args.options.durationMs);
    return demo.stop(`--duration-ms ${args.options.durationMs} elapsed`, true);
  }
  return new Promise<number>(() => { /* until a signal */ });
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
