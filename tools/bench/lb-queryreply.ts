// Query/reply benchmark: the controller (Controller + LoadBalancer, store in memory, one service
// tracking 'all' flows, 256 slots, 3 static backends) in this process; emulated switches
// (lb-emulator.ts) in child processes send PACKET_INs of new TCP flows from query slots.
//   1. rate: each emulator keeps a bounded window of packet-ins outstanding; completed
//      packet-in → pin flow-mod + packet-out pairs per second.
//   2. latency at a fraction (default half) of that rate: emulator send → packet-out receipt
//      (loopback both ways included), and inside the controller from the socket read of the chunk
//      holding the packet-in to the socket write of its reply (runtime methods wrapped here; the
//      app and runtime sources are untouched).
// Usage: node dist/tools/bench/lb-queryreply.js [--emulators 1] [--seconds 5] [--window 1024]
//        [--latency-seconds 5] [--fraction 0.5] [--rate R] [--live-pins N] [--json]
// --live-pins N: each emulated switch expires its oldest pin (FLOW_REMOVED) once N are installed,
// a steady state instead of a pin map that grows for the whole run.
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Controller } from '../../controller/index.js';
import { SwitchConnection } from '../../controller/connection.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { Store } from '../../db/store.js';
import type { EmulatorCommand, EmulatorConfig, EmulatorEvent, RunResult } from './lb-emulator.js';
import { fmtInt, numArg, percentiles, sleep, until, weightedPercentiles } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

export interface QueryReplyOptions {
  emulators: number;
  /** Seconds of the rate phase (after a 1 s warm-up). */
  seconds: number;
  /** Packet-ins outstanding per emulator in the rate phase. */
  window: number;
  latencySeconds: number;
  /** Latency phase rate as a fraction of the measured rate (ignored when `rate` is given). */
  fraction: number;
  rate?: number;
  /** Pins kept live per emulated switch (older ones expire with FLOW_REMOVED); 0: never expire. */
  livePins: number;
}

export interface LatencyFigures { p50: number; p99: number; p999: number; max: number; samples: number }

export interface QueryReplyResult {
  node: string;
  emulators: number;
  window: number;
  livePins: number;
  rate: { seconds: number; sent: number; completed: number; perSec: number; abandoned: number; expired: number; controllerCpuShare: number; emulatorCpuShares: number[] };
  latency: {
    targetRate: number;
    achievedRate: number;
    completed: number;
    sent: number;
    /** Microseconds: emulator send → packet-out receipt. */
    endToEndUs: LatencyFigures;
    /** Microseconds: controller socket read of the chunk → socket write of the replies. */
    inControllerUs: LatencyFigures;
    /** Microseconds: the controller reading this packet-in message (handing it to the app) → socket write of its replies. */
    perMessageUs: LatencyFigures;
  };
  pinsAfter: number;
  heapUsedMB: number;
}

export class EmulatorProc {
  readonly events: EmulatorEvent[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (e: EmulatorEvent) => {
      this.events.push(e);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(c: EmulatorCommand): void {
    this.child.send(c);
  }

  async next<K extends EmulatorEvent['ev']>(ev: K, timeoutMs: number): Promise<Extract<EmulatorEvent, { ev: K }>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.ev === ev || e.ev === 'error');
      if (i >= 0) {
        const [e] = this.events.splice(i, 1);
        if (e.ev === 'error') throw new Error(`emulator: ${e.message}`);
        return e as Extract<EmulatorEvent, { ev: K }>;
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`emulator: no ${ev} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

function figures(p: number[], max: number, samples: number): LatencyFigures {
  return { p50: p[0], p99: p[1], p999: p[2], max, samples };
}

/**
 * Wraps the runtime's read and write paths (not their source) to time, for every packet-in, the
 * socket read that brought it to the socket write that carries its answers: the connection writes
 * its pending output at the end of each read and whenever 16 KiB of answers pile up mid-read.
 */
function instrumentReadToWrite(lb: LoadBalancer): { start(): void; stop(): { us: number[]; weights: number[]; perMessage: number[] } } {
  let on = false;
  let pending = 0;
  const pendingAt: number[] = [];
  const perMessage: number[] = [];
  let readAt = 0;
  const us: number[] = [];
  const weights: number[] = [];
  const orig = lb.packetIn.bind(lb);
  lb.packetIn = (sw, msg) => {
    pending++;
    if (on) pendingAt.push(performance.now());
    orig(sw, msg);
  };
  const proto = SwitchConnection.prototype as unknown as { onData(chunk: Buffer): void; flush(): void };
  const onData = proto.onData;
  proto.onData = function (this: SwitchConnection, chunk: Buffer): void {
    readAt = performance.now();
    onData.call(this, chunk);
  };
  const flush = proto.flush;
  proto.flush = function (this: SwitchConnection): void {
    flush.call(this);
    const now = performance.now();
    if (on && pending > 0) {
      us.push((now - readAt) * 1000);
      weights.push(pending);
    }
    if (on) for (const t of pendingAt) perMessage.push((now - t) * 1000);
    pending = 0;
    pendingAt.length = 0;
  };
  return {
    start: () => {
      on = true;
      us.length = 0;
      weights.length = 0;
      perMessage.length = 0;
    },
    stop: () => {
      on = false;
      return { us: [...us], weights: [...weights], perMessage: [...perMessage] };
    },
  };
}

export async function runQueryReplyBench(o: QueryReplyOptions): Promise<QueryReplyResult> {
  const store = Store.open(':memory:');
  const controller = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0, logLevel: 'warn' });
  await controller.start();
  // Pin audits would replace the pin map with the emulator's (empty) flow dumps: off for the run.
  const lb = new LoadBalancer({ controller, store, pinAuditIntervalMs: 3_600_000 });
  const probe = instrumentReadToWrite(lb);
  lb.start();
  const procs: EmulatorProc[] = [];
  try {
    // The emulated switch answers no ARP: no health checks (they would take the static backends down).
    const svc = lb.addService({ name: 'bench', vip: '10.99.0.1', port: 80, slots: 256, tracking: 'all', health: { type: 'none' } });
    for (let i = 1; i <= 3; i++) {
      lb.addBackend('bench', { ip: `10.98.0.${i}`, port: 8080, weight: 1, mac: `02:00:00:00:02:0${i}`, switchPort: i + 1 });
    }
    const port = controller.addresses()[0].port;
    const script = fileURLToPath(new URL('./lb-emulator.js', import.meta.url));
    for (let i = 0; i < o.emulators; i++) {
      const cfg: EmulatorConfig = {
        host: '127.0.0.1', port, dpid: (0xbe00 + i).toString(16).padStart(16, '0'), serviceId: svc.id, slots: svc.slots,
        vip: svc.vip, vport: svc.port, index: i, livePins: o.livePins,
      };
      procs.push(new EmulatorProc(fork(script, [JSON.stringify(cfg)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    }
    for (const p of procs) await p.next('pipeline', 15_000);
    await until('switches', () => controller.switches().length === o.emulators);
    await sleep(300); // let the pipeline transaction finish

    const blast = async (seconds: number): Promise<{ results: RunResult[]; cpuMs: number; wallMs: number }> => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (const p of procs) p.send({ cmd: 'blast', seconds, window: o.window });
      const results = await Promise.all(procs.map(async (p) => (await p.next('result', seconds * 1000 + 30_000)).result));
      const c = process.cpuUsage(cpu0);
      return { results, cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0 };
    };
    await blast(1); // warm-up: JIT, maps sized
    const b = await blast(o.seconds);
    const sum = (f: (r: RunResult) => number, rs: RunResult[]) => rs.reduce((a, r) => a + f(r), 0);
    const elapsed = Math.max(...b.results.map((r) => r.elapsedMs)) / 1000;
    const completed = sum((r) => r.completed, b.results);
    const perSec = completed / elapsed;

    const targetRate = o.rate ?? Math.round(perSec * o.fraction);
    probe.start();
    for (const p of procs) p.send({ cmd: 'paced', seconds: o.latencySeconds, rate: targetRate / o.emulators });
    const lr = await Promise.all(procs.map(async (p) => (await p.next('result', o.latencySeconds * 1000 + 30_000)).result));
    const inside = probe.stop();
    const all: number[] = [];
    for (const r of lr) for (const v of r.latencyUs ?? []) all.push(v);
    const ps = [0.5, 0.99, 0.999];
    const lElapsed = Math.max(...lr.map((r) => r.elapsedMs)) / 1000;
    const st = lb.status();
    return {
      node: process.version,
      emulators: o.emulators,
      window: o.window,
      livePins: o.livePins,
      rate: {
        seconds: elapsed, sent: sum((r) => r.sent, b.results), completed, perSec, abandoned: sum((r) => r.abandoned, b.results), expired: sum((r) => r.expired, b.results),
        controllerCpuShare: b.cpuMs / b.wallMs, emulatorCpuShares: b.results.map((r) => r.cpuShare),
      },
      latency: {
        targetRate, achievedRate: sum((r) => r.completed, lr) / lElapsed, completed: sum((r) => r.completed, lr), sent: sum((r) => r.sent, lr),
        endToEndUs: figures(percentiles(all, ps), all.reduce((a, v) => Math.max(a, v), 0), all.length),
        inControllerUs: figures(
          weightedPercentiles(inside.us, inside.weights, ps), inside.us.reduce((a, v) => Math.max(a, v), 0),
          inside.weights.reduce((a, v) => a + v, 0),
        ),
        perMessageUs: figures(percentiles(inside.perMessage, ps), inside.perMessage.reduce((a, v) => Math.max(a, v), 0), inside.perMessage.length),
      },
      pinsAfter: st.services[0]?.pins ?? 0,
      heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
    };
  } finally {
    for (const p of procs) {
      if (p.child.connected) p.send({ cmd: 'exit' });
      setTimeout(() => { if (p.child.exitCode === null) p.child.kill(); }, 1000).unref();
    }
    lb.stop();
    await controller.stop();
    store.close();
  }
}

export function formatQueryReply(r: QueryReplyResult): string {
  const us = (v: number) => `${v.toFixed(0)} µs`;
  const l = (f: LatencyFigures) => `p50 ${us(f.p50)}  p99 ${us(f.p99)}  p99.9 ${us(f.p999)}  max ${us(f.max)}  (${fmtInt(f.samples)} samples)`;
  return [
    `query/reply (node ${r.node}, ${r.emulators} emulated switch process(es), window ${r.window} each, ` +
      `${r.livePins > 0 ? `pins expire beyond ${fmtInt(r.livePins)} per switch` : 'pins never expire'})`,
    `  rate: ${fmtInt(r.rate.perSec)} packet-ins/s → pin + packet-out (${fmtInt(r.rate.completed)} in ${r.rate.seconds.toFixed(2)} s; ` +
      `sent ${fmtInt(r.rate.sent)}, abandoned ${fmtInt(r.rate.abandoned)}, flow-removed ${fmtInt(r.rate.expired)}; controller CPU ${(r.rate.controllerCpuShare * 100).toFixed(0)}% of one core, ` +
      `emulators ${r.rate.emulatorCpuShares.map((c) => `${(c * 100).toFixed(0)}%`).join(' ')})`,
    `  latency at ${fmtInt(r.latency.targetRate)}/s (achieved ${fmtInt(r.latency.achievedRate)}/s, ${fmtInt(r.latency.completed)}/${fmtInt(r.latency.sent)} completed):`,
    `    emulator send → packet-out receipt: ${l(r.latency.endToEndUs)}`,
    `    controller read → write:            ${l(r.latency.inControllerUs)}`,
    `    packet-in message → write:          ${l(r.latency.perMessageUs)}`,
    `  pins in the app's map after the run: ${fmtInt(r.pinsAfter)}; controller heap ${r.heapUsedMB.toFixed(0)} MB`,
  ].join('\n');
}

export function queryReplyOptionsFrom(argv: readonly string[]): QueryReplyOptions {
  const rate = numArg(argv, 'rate', Number.NaN);
  return {
    emulators: numArg(argv, 'emulators', 1),
    seconds: numArg(argv, 'seconds', 5),
    window: numArg(argv, 'window', 1024),
    latencySeconds: numArg(argv, 'latency-seconds', 5),
    fraction: numArg(argv, 'fraction', 0.5),
    livePins: numArg(argv, 'live-pins', 0),
    ...(Number.isNaN(rate) ? {} : { rate }),
  };
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('lb-queryreply', argv, () => runQueryReplyBench(queryReplyOptionsFrom(argv)), formatQueryReply);
}
