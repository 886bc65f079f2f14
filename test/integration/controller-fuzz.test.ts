// Fuzz through the whole controller: `holdfast start` as it runs (runtime, L2 and load-balancer
// apps, management API, a real SQLite state file) with a real Open vSwitch forwarding a client's
// traffic for a load-balanced service, while many fake switches (each with a fresh datapath id and
// a valid handshake, so they reach the apps) send over 100,000 mutated messages: packet-ins to the
// service's marker MACs and ARP, flow-removed with its pin cookies, port-status, errors, forged
// and unsolicited multipart replies, mutated seeds, lying length fields. The controller keeps
// answering, the real switch keeps its connection with low echo round trips, the client sees no
// failure, and once the fakes are gone (and their grace period over) the heap after GC is back
// within a bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, SwitchHandle } from '../../controller/index.js';
import { MAX_PORTS, type ConnectionStats } from '../../controller/connection.js';
import { encodeMessage } from '../../openflow/messages.js';
import type { StatusView } from '../../apps/lb/control.js';
import { startClientProc, startServerProc, type ClientProc } from '../../tools/traffic/procs.js';
import { FakeSwitch } from '../../tools/fake-switch/index.js';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { OfMutator, type FuzzTarget } from '../helpers/of-mutator.js';
import { heapAfterGc } from '../helpers/heap.js';

const VIP = '10.0.0.100';
const MESSAGES = 100_000;
const PARALLEL = 8;
/** Messages per fake connection (then it ends: a lying length, garbage, or a close). */
const PER_CONN = 1_500;
const BATCH = 50;
const GRACE_MS = 1_000;
const ECHO_MS = 250;

const rig = new LbRig({
  clients: ['c1'], backends: ['b1', 'b2', 'b3'],
  controller: { echoIntervalMs: ECHO_MS, forgetSwitchAfterMs: GRACE_MS },
});
let real: SwitchHandle;

// What the runtime and the apps saw of the fakes.
const up = new Map<bigint, () => void>();
let delivered = 0;
let rxByFakes = 0;
let malformedByFakes = 0;
const downReasons = new Map<string, number>();
const tracker: App = {
  name: 'fuzz-tracker',
  switchUp: (sw) => up.get(sw.dpid)?.(),
  switchDown: (sw, reason) => {
    if (sw.dpid === real?.dpid) return;
    // The handle is the connection: its counters say what the runtime took in from this fake.
    const stats = (sw as unknown as { stats: ConnectionStats }).stats;
    rxByFakes += stats.rxMessages;
    malformedByFakes += stats.malformed;
    const r = reason.replace(/\d+/g, 'N').slice(0, 60);
    downReasons.set(r, (downReasons.get(r) ?? 0) + 1);
  },
  packetIn: () => void delivered++,
  flowRemoved: () => void delivered++,
  portStatus: () => void delivered++,
  error: () => void delivered++,
};

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${rig.apiUrl}/api${path}`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function settledHeap(): Promise<number> {
  await until('fakes forgotten', () => rig.controller.departedSwitches().length === 0
    && rig.controller.switches().length === 1 && rig.controller.reconciler.knownSwitches().length === 1, 20_000);
  return heapAfterGc();
}

interface Feed { msgs: Buffer[]; at: number; sent: number }

/** One fake switch: handshake with a fresh dpid, up to PER_CONN mutated messages, then its ending. */
async function fuzzOne(dpid: bigint, m: OfMutator, feed: Feed): Promise<void> {
  const isUp = new Promise<void>((resolve) => up.set(dpid, () => { up.delete(dpid); resolve(); }));
  const f = await FakeSwitch.connect(rig.port, { dpid });
  // Forged answers to the controller's own requests (flow dumps with pins of the real service,
  // connection counts, group statistics), with the xids it asked with.
  f.intercept = (msg) => {
    if (msg.type !== 'multipart_request' || msg.body.kind === 'port_desc' || msg.body.kind === 'desc' || m.r() < 0.3) return false;
    f.send({ type: 'multipart_reply', version: 4, xid: msg.xid, flags: 0, body: m.replyBody(msg.body.kind) });
    return true;
  };
  await Promise.race([isUp, sleep(10_000).then(() => { throw new Error(`fake ${dpid} not up`); })]);
  let n = 0;
  while (n < PER_CONN && feed.at < feed.msgs.length && !f.isClosed) {
    const k = Math.min(BATCH, feed.msgs.length - feed.at, PER_CONN - n);
    f.sendRaw(Buffer.concat(feed.msgs.slice(feed.at, feed.at + k)));
    feed.at += k;
    n += k;
    feed.sent += k;
    f.received.length = 0;
    f.rawReceived.length = 0;
    // Let the controller (same process) and the socket breathe between batches.
    await sleep(2);
    if (f.socket.writableLength > 256 * 1024) await new Promise((r) => f.socket.once('drain', r));
  }
  const end = m.ending();
  if (!f.isClosed && end.bytes.length > 0) f.sendRaw(end.bytes);
  await sleep(20);
  f.close();
  await f.closed;
}

/**
 * `total` mutated messages, generated beforehand (so the controller's event loop, shared with this
 * test, is not also busy generating them), sent by PARALLEL fake switches at a time, each new
 * connection with a fresh datapath id.
 */
function prepare(total: number, seed: number, target: FuzzTarget): { m: OfMutator; feed: Feed } {
  const m = new OfMutator(seed, target);
  return { m, feed: { msgs: Array.from({ length: total }, () => m.next()), at: 0, sent: 0 } };
}

async function fuzz(m: OfMutator, feed: Feed, firstDpid: bigint): Promise<number> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (feed.at < feed.msgs.length) await fuzzOne(firstDpid + BigInt(next++), m, feed);
  }));
  feed.msgs.length = 0;
  return next;
}

/** Pins the real switch holds (ovs profile: the connections it learned, they carry pin cookies). */
async function pinsOnRealSwitch(): Promise<number> {
  const out = await rig.lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0', 'cookie=0x0200000000000000/0xff00000000000000']);
  return out.split('\n').filter((l) => l.includes('cookie=0x2')).length;
}

beforeAll(async () => {
  await rig.start();
  real = rig.controller.switches()[0]!;
  rig.controller.use(tracker);
  const { lb } = rig;
  lb.addService({ name: 'web', vip: VIP, port: 80, slots: 32 });
  for (const b of ['b1', 'b2', 'b3']) await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080 });
  for (const b of ['b1', 'b2']) lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
  await until('backends active', () => lb.listBackends('web').every((b) => b.state === 'active'), 20_000);
  await until('slots settled', () => lb.getService('web').migrations.length === 0, 20_000);
}, 90_000);

afterAll(() => rig.stop());

describe('fuzz through the whole controller while a real switch forwards traffic', () => {
  it(`survives ${MESSAGES.toLocaleString('en')} mutated messages from many fake switches: real switch connected, echo low, no client failure, heap bounded`, async () => {
    const { lb, controller } = rig;
    const web = lb.getService('web');
    const target = (): FuzzTarget => ({
      vip: VIP, port: 80, serviceId: web.id, slots: web.slots,
      backendIds: lb.listBackends('web').map((b) => b.id), backendIps: ['b1', 'b2', 'b3'].map((b) => rig.ip(b)),
    });

    // Warm-up (JIT, pools, first-use allocations), then the heap baseline.
    const warm = prepare(5_000, 1, target());
    await fuzz(warm.m, warm.feed, 0x5_0000n);
    const heapBefore = await settledHeap();

    const connectedAt = real.connectedAt.getTime();
    let realUpDown = 0;
    const unsubscribe = lb.subscribe(({ event: e }) => {
      if ((e.type === 'switch_up' || e.type === 'switch_down') && e.dpid === real.dpidHex) realUpDown++;
    });

    // The client's traffic through the real switch for the whole fuzz: long-lived connections
    // (a message every 0.1 s) and a stream of new ones.
    const { m, feed } = prepare(MESSAGES, 0xf022, target());
    const client: ClientProc = startClientProc((cmd) => rig.spawn('c1', cmd), {
      target: `${VIP}:80`, long: 20, intervalMs: 100, newRate: 20, durationMs: 300_000, stallMs: 5_000, reportMs: 1_000,
    });
    await client.out.waitLine((l) => l.includes('"type":"progress"'), 15_000, 'client progress');

    // Echo round trips of the real switch, every answered echo (the runtime keeps the last one).
    const rtts: number[] = [];
    let answered = controller.connectionStats(real.dpid)!.echoRepliesReceived;
    const sampler = setInterval(() => {
      const s = controller.connectionStats(real.dpid);
      if (s && s.echoRepliesReceived !== answered && s.lastEchoRttMs !== null) {
        answered = s.echoRepliesReceived;
        rtts.push(s.lastEchoRttMs);
      }
    }, 20);
    // The management API answers throughout.
    let apiOk = 0;
    let apiSlowest = 0;
    let stopApi = false;
    const apiLoop = (async () => {
      while (!stopApi) {
        const t0 = Date.now();
        const st = await api<StatusView>('/status');
        apiSlowest = Math.max(apiSlowest, Date.now() - t0);
        expect(st.switches.some((s) => s.dpid === real.dpidHex)).toBe(true);
        apiOk++;
        await sleep(250);
      }
    })();

    const t0 = Date.now();
    const run = fuzz(m, feed, 0x10_0000n);
    // Midway, the controller still drives the real switch: a backend added now takes traffic.
    await sleep(5_000);
    lb.addBackend('web', { ip: rig.ip('b3'), port: 8080, weight: 1 });
    const conns = await run;
    const sent = feed.sent;
    const fuzzMs = Date.now() - t0;
    stopApi = true;
    await apiLoop;
    await until('b3 active and slots settled', () => lb.listBackends('web').every((b) => b.state === 'active') && lb.getService('web').migrations.length === 0, 20_000);
    await sleep(1_500); // new connections after the change
    const report = await client.stop();
    clearInterval(sampler);

    const heapAfter = await settledHeap();
    const status = await api<StatusView>('/status');
    const rttMax = Math.max(...rtts);
    const rttMedian = [...rtts].sort((a, b) => a - b)[Math.floor(rtts.length / 2)] ?? NaN;
    console.log([
      `fuzz: ${sent} messages over ${conns} fake connections in ${fuzzMs} ms (${Math.round(sent / (fuzzMs / 1000))}/s);`,
      ` kinds ${JSON.stringify(Object.fromEntries(m.counts))};`,
      ` runtime took in ${rxByFakes} messages from fakes (${malformedByFakes} malformed), apps got ${delivered};`,
      ` fakes dropped: ${JSON.stringify(Object.fromEntries(downReasons))};`,
      ` real switch echo rtt: ${rtts.length} samples, median ${rttMedian} ms, max ${rttMax} ms; api ${apiOk} answers, slowest ${apiSlowest} ms;`,
      ` client: long opened ${report.long.opened}, requests ${report.long.requests}, new ok ${report.newConns.ok}, failures ${report.totalFailures}, by backend ${JSON.stringify(report.newConns.byBackend)};`,
      ` heap after GC ${(heapBefore / 1e6).toFixed(1)} MB -> ${(heapAfter / 1e6).toFixed(1)} MB`,
    ].join('\n'));

    expect(sent).toBeGreaterThanOrEqual(MESSAGES);
    expect(delivered).toBeGreaterThan(MESSAGES / 2); // most fuzz reached the apps, not only the decoder
    // The real switch: the same connection all along, no switch_up/down since, echoes fast.
    expect(controller.switch(real.dpid)).toBe(real);
    expect(real.connected).toBe(true);
    expect(real.connectedAt.getTime()).toBe(connectedAt);
    unsubscribe();
    expect(realUpDown).toBe(0);
    expect(rtts.length).toBeGreaterThan(fuzzMs / ECHO_MS / 3);
    expect(rttMedian).toBeLessThan(50);
    expect(rttMax).toBeLessThan(500); // the keepalive drops a switch after 15 s

    // The controller answered throughout and the state shows only the real switch.
    expect(apiOk).toBeGreaterThan(fuzzMs / 1000);
    expect(status.switches.map((s) => s.dpid)).toEqual([real.dpidHex]);
    // No ghost pins: the forged flow dumps' pins left with their fakes; what status counts is what
    // the real switch holds (in the ovs profile, the connections it learned).
    const pinsOf = async (): Promise<number> => (await api<StatusView>('/status')).services.find((s) => s.name === 'web')!.pins;
    let pins = [-1, -2];
    await until('status pins = the real switch\'s pins', async () => (pins = [await pinsOf(), await pinsOnRealSwitch()])[0] === pins[1], 15_000)
      .catch(() => expect(pins[0], 'pins in status vs on the real switch').toBe(pins[1]));
    // The client through the real switch: no failure, and the backend added midway took traffic.
    expect(report.totalFailures, JSON.stringify(report.problems)).toBe(0);
    expect(report.newConns.ok).toBeGreaterThan(100);
    expect(Object.keys(report.newConns.byBackend).sort()).toEqual(['b1', 'b2', 'b3']);
    // Nothing kept for the fakes: heap after GC back within a bound. Measured: +3.5 MB after the
    // first 100,000 (the client, a backend, pools) and flat over three more rounds of 100,000;
    // the bug of issue 9 (172 KB kept per datapath id) would add over 12 MB for these ~70 fakes.
    expect(heapAfter - heapBefore).toBeLessThan(10e6);
  }, 150_000);

  it(`keeps at most ${MAX_PORTS} ports for a switch that announces 50,000 new ones`, async () => {
    const dpid = 0x7_0000n;
    const isUp = new Promise<void>((resolve) => up.set(dpid, () => { up.delete(dpid); resolve(); }));
    const f = await FakeSwitch.connect(rig.port, { dpid });
    await isUp;
    const N = 50_000;
    for (let i = 0; i < N; i += 1000) {
      f.sendRaw(Buffer.concat(Array.from({ length: 1000 }, (_, j) => Buffer.from(encodeMessage({
        type: 'port_status', version: 4, xid: 0, reason: 'add', port: {
          portNo: 100 + i + j, hwAddr: '02:00:00:00:00:01', name: `p${i + j}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
        },
      })))));
      await sleep(2);
    }
    await until('all port-status taken in', () => (rig.controller.connectionStats(dpid)?.rxMessages ?? 0) >= N, 20_000);
    const sw = rig.controller.switch(dpid)!;
    expect(sw.connected).toBe(true);
    expect(sw.ports.size).toBe(MAX_PORTS);
    f.close();
    await f.closed;
    expect(rig.controller.switch(real.dpid)).toBe(real);
  }, 60_000);
});
