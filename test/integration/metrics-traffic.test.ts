// /metrics against real traffic through Open vSwitch (ovs profile): the bytes each backend's
// server received match holdfast_backend_bytes_total within the size of the headers (the switch
// counts whole Ethernet frames, the server counts TCP payload), including the many short
// connections that came and went between two scrapes (their entries' last bytes arrive only in
// flow-removed messages); the counters never go down between scrapes, and promtool accepts a
// scrape of a live controller with a switch. Then a restart: the totals carry on from the store.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';

const VIP = '10.0.0.100';
const BACKENDS = ['b1', 'b2'];
/** Per frame: Ethernet 14 + IPv4 20 + TCP 20 + options up to 40. */
const MAX_HEADER_BYTES = 94;

/** A TCP sink: counts bytes and connections, prints `total BYTES CONNS` every 100 ms. */
const SINK = `
const net = require('node:net');
let bytes = 0, conns = 0;
net.createServer((s) => {
  conns++;
  s.on('data', (d) => { bytes += d.length; });
  s.on('error', () => {});
  s.on('end', () => s.end());
}).listen(8080, () => console.log('ready'));
setInterval(() => console.log('total ' + bytes + ' ' + conns), 100);
`;

/** Short connections (1-40 KB each, a few at a time) plus long ones sending 1 KB every 50 ms. */
const CLIENT = `
const net = require('node:net');
const [vip, ms] = [process.argv[1], Number(process.argv[2])];
const end = Date.now() + ms;
let open = 0, done = 0, failed = 0;
const short = () => {
  if (Date.now() >= end) { if (open === 0) finish(); return; }
  open++;
  const s = net.connect(80, vip, () => { s.end(Buffer.alloc(1000 + Math.floor(Math.random() * 39000), 97)); });
  s.on('error', () => { failed++; });
  s.on('close', () => { open--; done++; setTimeout(short, 20); });
  s.resume();
};
const long = () => {
  open++;
  const s = net.connect(80, vip);
  const t = setInterval(() => s.write(Buffer.alloc(1024, 98)), 50);
  s.on('error', () => { failed++; });
  setTimeout(() => { clearInterval(t); s.end(); }, ms);
  s.on('close', () => { open--; if (Date.now() >= end && open === 0) finish(); });
  s.resume();
};
let finished = false;
const finish = () => { if (!finished) { finished = true; console.log('done ' + done + ' ' + failed); setTimeout(() => process.exit(0), 50); } };
for (let i = 0; i < 4; i++) short();
for (let i = 0; i < 3; i++) long();
`;

function lastLine(p: ChildProcess, prefix: string): () => string | undefined {
  let last: string | undefined;
  let buf = '';
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith(prefix)) last = l;
  });
  return () => last;
}

interface Scrape { text: string; bytes: Map<string, number>; packets: Map<string, number>; opened: Map<string, number>; connections: Map<string, number> }

function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${name}\\{service="web",backend="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('/metrics bytes per backend match what the backends received (real Open vSwitch)', () => {
  const rig = new LbRig({ clients: ['c1'], backends: BACKENDS, lb: { statsIntervalMs: 1_000 } });
  const sinks = new Map<string, () => string | undefined>();
  const key = (b: string) => `${rig.ip(b)}:8080`;

  async function scrape(): Promise<Scrape> {
    const r = await fetch(`${rig.apiUrl}/metrics`);
    expect(r.status).toBe(200);
    const text = await r.text();
    return {
      text,
      bytes: series(text, 'holdfast_backend_bytes_total'),
      packets: series(text, 'holdfast_backend_packets_total'),
      opened: series(text, 'holdfast_backend_connections_opened_total'),
      connections: series(text, 'holdfast_backend_connections'),
    };
  }

  function received(b: string): { bytes: number; conns: number } {
    const [, bytes, conns] = (sinks.get(b)!() ?? 'total 0 0').split(' ');
    return { bytes: Number(bytes), conns: Number(conns) };
  }

  beforeAll(async () => {
    await rig.start();
    for (const b of BACKENDS) {
      const p = rig.spawn(b, [process.execPath, '-e', SINK]);
      sinks.set(b, lastLine(p, 'total'));
    }
    rig.lb.addService({ name: 'web', vip: VIP, port: 80, slots: 32 });
    for (const b of BACKENDS) rig.lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
    await until('backends active', () => rig.lb.listBackends('web').every((b) => b.state === 'active'));
    await until('sinks listening', () => BACKENDS.every((b) => sinks.get(b)!() !== undefined));
    // A baseline of the group's bucket statistics (the first reading only sets it).
    await sleep(2_500);
  }, 60_000);
  afterAll(async () => {
    await rig.stop();
  });

  it('counts every byte once, ended flows included, monotonic between scrapes', async () => {
    const client = rig.spawn('c1', [process.execPath, '-e', CLIENT, VIP, '8000']);
    const clientDone = lastLine(client, 'done');
    let prev: Scrape | undefined;
    let scrapes = 0;
    while (!clientDone()) {
      const s = await scrape();
      scrapes++;
      for (const b of BACKENDS) {
        if (prev) {
          expect(s.bytes.get(key(b))!).toBeGreaterThanOrEqual(prev.bytes.get(key(b))!);
          expect(s.packets.get(key(b))!).toBeGreaterThanOrEqual(prev.packets.get(key(b))!);
          expect(s.opened.get(key(b))!).toBeGreaterThanOrEqual(prev.opened.get(key(b))!);
        }
      }
      if (scrapes === 3) {
        // A scrape of a live controller with a switch and traffic: promtool lints it all.
        const check = await promtoolCheckMetrics(s.text);
        expect(check.output).toBe('');
        expect(check.code).toBe(0);
        expect(s.text).toMatch(/^holdfast_switch_connected\{dpid="[0-9a-f]{16}"\} 1$/m);
        expect(s.text).toMatch(/^holdfast_switch_flows\{dpid="[0-9a-f]{16}"\} [1-9]\d*$/m);
      }
      prev = s;
      await sleep(700);
    }
    expect(scrapes).toBeGreaterThan(5);
    const [, done, failed] = clientDone()!.split(' ');
    expect(Number(failed)).toBe(0);
    expect(Number(done)).toBeGreaterThan(50);

    // Every entry ends (fin timeout) and is counted once more; then the counters must settle.
    await until('all connection entries gone', async () => {
      const s = await scrape();
      return BACKENDS.every((b) => s.connections.get(key(b)) === 0);
    }, 20_000);
    await sleep(2_500);
    const final = await scrape();
    let total = 0;
    for (const b of BACKENDS) {
      const got = received(b);
      const bytes = final.bytes.get(key(b))!;
      const packets = final.packets.get(key(b))!;
      total += got.conns;
      expect(got.bytes).toBeGreaterThan(100_000);
      // The switch counts frames: payload plus headers, never less than the payload.
      expect(bytes, `${b}: metric ${bytes} B in ${packets} packets, server received ${got.bytes} B`).toBeGreaterThanOrEqual(got.bytes);
      expect(bytes - got.bytes, `${b}: ${packets} packets`).toBeLessThanOrEqual(packets * MAX_HEADER_BYTES);
      // One learned entry per connection the server accepted.
      expect(final.opened.get(key(b))).toBe(got.conns);
    }
    expect(total).toBe(Number(done) + 3);
  }, 90_000);

  it('keeps the totals across a controller restart', async () => {
    const before = await scrape();
    await rig.restartController();
    const after = await scrape();
    for (const b of BACKENDS) {
      expect(after.bytes.get(key(b))).toBe(before.bytes.get(key(b)));
      expect(after.packets.get(key(b))).toBe(before.packets.get(key(b)));
      expect(after.opened.get(key(b))).toBe(before.opened.get(key(b)));
    }
  }, 60_000);
});
