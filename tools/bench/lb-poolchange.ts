// Pool change → first new connection on the new backend, on a real Open vSwitch (tools/lab).
// One bridge, a client c1 and backends b1..b3 (tiny TCP servers answering their name). A nat
// service with b1 and b2; c1 opens a new connection every ~2 ms and prints, per connection, its
// start time, answer time and the backend that answered. At T0 the controller adds b3 (static
// MAC/port, or resolved by ARP: then the figure includes resolution); the figure is the start time
// of the first connection answered by b3 minus T0 (and its answer time minus T0). b3 is removed
// (now) between runs. Namespaces share the host clock, so Date.now() is comparable across them.
// Usage (root): node dist/tools/bench/lb-poolchange.js [--runs 10] [--mode static|arp|both] [--every 2] [--json]
import type { ChildProcess } from 'node:child_process';
import { Controller } from '../../controller/index.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { Store } from '../../db/store.js';
import { startLab, type Lab } from '../lab/lab.js';
import { numArg, percentiles, sleep, until } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

type Mode = 'static' | 'arp';

export interface PoolChangeRun { mode: Mode; firstStartMs: number; firstAnswerMs: number }
export interface PoolChangeResult {
  node: string;
  connectEveryMs: number;
  runs: PoolChangeRun[];
  summary: Record<Mode, { min: number; median: number; max: number; answerMedian: number; runs: number } | null>;
  connections: number;
  failedConnections: number;
  /** Failed connections by kind and by whether they overlapped a remove --now of b3 (expected to break b3's flows). */
  failures: { what: string; startMs: number; nearRemove: boolean }[];
}

const SERVER = (name: string) =>
  `require('net').createServer((s) => { s.on('error', () => {}); s.end('${name}\\n'); }).listen(8080, () => console.log('ready'))`;

/** New connection every `every` ms (at most 64 open); one line per connection: start end name. */
const CLIENT = (host: string, port: number, every: number) => `
const net = require('net');
let open = 0;
setInterval(() => {
  if (open >= 64) return;
  open++;
  const t0 = Date.now();
  const s = net.connect({ host: '${host}', port: ${port} });
  let d = '';
  let done = false;
  const fin = (what) => { if (done) return; done = true; open--; process.stdout.write(t0 + ' ' + Date.now() + ' ' + what + '\\n'); };
  s.setTimeout(3000, () => s.destroy(new Error('timeout')));
  s.on('data', (c) => { d += c; });
  s.on('end', () => fin(d.trim() || 'EMPTY'));
  s.on('error', (e) => fin('ERR:' + (e.code || e.message)));
}, ${every});`;

interface Line { start: number; end: number; name: string }

class ClientLog {
  readonly lines: Line[] = [];
  private rest = '';
  constructor(child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const text = this.rest + chunk;
      const parts = text.split('\n');
      this.rest = parts.pop() ?? '';
      for (const p of parts) {
        const [a, b, name] = p.split(' ');
        if (name !== undefined) this.lines.push({ start: Number(a), end: Number(b), name });
      }
    });
  }
}

export async function runPoolChangeBench(o: { runs: number; modes: Mode[]; every: number }): Promise<PoolChangeResult> {
  const store = Store.open(':memory:');
  const controller = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0, logLevel: 'warn' });
  let lab: Lab | undefined;
  let lb: LoadBalancer | undefined;
  try {
    await controller.start();
    controller.use(new L2Forwarding(controller.reconciler));
    lb = new LoadBalancer({ controller, store });
    lb.start();
    const l = (lab = await startLab({
      name: 'bench-poolchange',
      bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: controller.addresses()[0].port } }],
      hosts: ['c1', 'b1', 'b2', 'b3'].map((name, i) => ({ name, bridge: 'br0', ip: `10.0.0.${i === 0 ? 1 : 10 + i}/24` })),
    }));
    await until('switch', () => controller.switches().length === 1, 15_000);
    for (const b of ['b1', 'b2', 'b3']) {
      const child = l.spawn(b, ['node', '-e', SERVER(b)]);
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`server ${b} exited (${c})`)));
      });
    }
    const lbx = lb;
    // Short windows: runs cycle faster; a SYN in a query slot goes to the new owner at once anyway.
    lbx.addService({ name: 'web', vip: '10.0.0.100', port: 80, migration: { minMs: 300, quietMs: 100, maxMs: 2000 } });
    for (const b of ['b1', 'b2']) lbx.addBackend('web', { ip: l.host(b).ip, port: 8080, weight: 1 });
    await until('b1, b2 active', () => lbx.listBackends('web').every((b) => b.state === 'active'), 15_000);
    await until('migrations done', () => lbx.getService('web').migrations.length === 0, 15_000);

    const client = l.spawn('c1', ['node', '-e', CLIENT('10.0.0.100', 80, o.every)]);
    const log = new ClientLog(client);
    await until('client traffic', () => log.lines.some((x) => x.name === 'b1' || x.name === 'b2'), 15_000);
    await sleep(500);
    const runs: PoolChangeRun[] = [];
    const removes: number[] = [];
    const b3 = l.host('b3');
    for (const mode of o.modes) {
      for (let r = 0; r < o.runs; r++) {
        const from = log.lines.length;
        const t0 = Date.now();
        lbx.addBackend('web', { ip: b3.ip, port: 8080, weight: 1, ...(mode === 'static' ? { mac: b3.mac, switchPort: b3.ofport } : {}) });
        let first: Line | undefined;
        await until('a connection answered by b3', () => {
          const hits = log.lines.slice(from).filter((x) => x.name === 'b3');
          first = hits.sort((a, b) => a.start - b.start)[0];
          return first !== undefined;
        }, 10_000);
        await sleep(50); // connections started earlier may still be answering: take the earliest start
        first = log.lines.slice(from).filter((x) => x.name === 'b3').sort((a, b) => a.start - b.start)[0];
        runs.push({ mode, firstStartMs: first!.start - t0, firstAnswerMs: first!.end - t0 });
        removes.push(Date.now());
        lbx.removeBackend('web', `${b3.ip}:8080`, { now: true });
        await until('b3 removed', () => lbx.getService('web').migrations.length === 0 && lbx.listBackends('web').length === 2, 15_000);
        await sleep(300);
      }
    }
    const summary = {} as PoolChangeResult['summary'];
    for (const mode of ['static', 'arp'] as const) {
      const rs = runs.filter((r) => r.mode === mode);
      if (rs.length === 0) {
        summary[mode] = null;
        continue;
      }
      const [min, median, max] = percentiles(rs.map((r) => r.firstStartMs), [0, 0.5, 1]);
      summary[mode] = { min, median, max, answerMedian: percentiles(rs.map((r) => r.firstAnswerMs), [0.5])[0], runs: rs.length };
    }
    client.kill();
    const failed = log.lines.filter((x) => x.name.startsWith('ERR') || x.name === 'EMPTY');
    const t00 = log.lines[0]?.start ?? 0;
    return {
      failures: failed.map((x) => ({
        what: x.name, startMs: x.start - t00, nearRemove: removes.some((t) => x.start <= t + 100 && x.end >= t),
      })),
      node: process.version, connectEveryMs: o.every, runs, summary,
      connections: log.lines.length, failedConnections: failed.length,
    };
  } finally {
    lb?.stop();
    await lab?.stop();
    await controller.stop();
    store.close();
  }
}

export function formatPoolChange(r: PoolChangeResult): string {
  const lines = [`pool change → first new connection on the new backend (real Open vSwitch; client connects every ${r.connectEveryMs} ms)`];
  for (const mode of ['static', 'arp'] as const) {
    const s = r.summary[mode];
    if (!s) continue;
    lines.push(`  ${mode === 'static' ? 'static MAC/port' : 'ARP-resolved  '}: min ${s.min} ms  median ${s.median} ms  max ${s.max} ms ` +
      `(connection start − T0, ${s.runs} runs; answered at median ${s.answerMedian} ms)`);
    lines.push(`    runs: ${r.runs.filter((x) => x.mode === mode).map((x) => x.firstStartMs).join(' ')}`);
  }
  const near = r.failures.filter((f) => f.nearRemove).length;
  lines.push(`  client connections: ${r.connections}, failed: ${r.failedConnections} (${near} open across a remove --now of b3: ` +
    `${[...new Set(r.failures.map((f) => f.what))].join(', ') || 'none'})`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const mi = argv.indexOf('--mode');
  const mode = mi >= 0 ? argv[mi + 1] : 'both';
  const modes: Mode[] = mode === 'static' ? ['static'] : mode === 'arp' ? ['arp'] : ['static', 'arp'];
  runAsScript('lb-poolchange', argv, () => runPoolChangeBench({ runs: numArg(argv, 'runs', 10), modes, every: numArg(argv, 'every', 2) }), formatPoolChange);
}
