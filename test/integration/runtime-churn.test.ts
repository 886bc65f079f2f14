// Memory per datapath id: 2,000 fake switches with fresh datapath ids connect (full handshake over
// TCP) and leave, against the controller runtime with the L2 app. Once their grace period is over,
// nothing is kept for them: the reconciler and the runtime's maps are empty and the heap after GC
// is back within a bound. Their connect/disconnect log lines are coalesced.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { Controller, createLogger, type App } from '../../controller/index.js';
import { FakeSwitch } from '../../tools/fake-switch/index.js';
import { waiter } from '../helpers/wait-for.js';
import { heapAfterGc, inParallel } from '../helpers/heap.js';

const GRACE_MS = 100;
const CYCLES = 2000;
const PARALLEL = 16;
/** Bytes the heap may keep per cycle, on average (the bug kept ~172 KB per dpid with the lb). */
const BOUND_PER_CYCLE = 1024;

const logLines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let ctl: Controller;
let l2: L2Forwarding;
const upWaiters = new Map<bigint, () => void>();
const downWaiters = new Map<bigint, () => void>();
let gone = 0;
const tracker: App = {
  name: 'tracker',
  switchUp: (sw) => upWaiters.get(sw.dpid)?.(),
  switchDown: (sw) => downWaiters.get(sw.dpid)?.(),
  switchGone: () => void gone++,
};
const waitFor = waiter(10_000, 20);

function signal(map: Map<bigint, () => void>, dpid: bigint): Promise<void> {
  return new Promise((resolve) => map.set(dpid, () => {
    map.delete(dpid);
    resolve();
  }));
}

async function cycle(dpid: bigint): Promise<void> {
  const up = signal(upWaiters, dpid);
  const f = await FakeSwitch.connect(ctl.addresses()[0].port, { dpid });
  await up;
  const down = signal(downWaiters, dpid);
  f.close();
  await down;
}

function churn(first: bigint, n: number): Promise<void> {
  return inParallel(n, PARALLEL, (i) => cycle(first + BigInt(i)));
}

async function settledHeap(): Promise<number> {
  await waitFor(() => ctl.departedSwitches().length === 0 && ctl.reconciler.knownSwitches().length === 0, 10_000, 'grace periods to end');
  return heapAfterGc(3, 50);
}

beforeAll(async () => {
  ctl = new Controller({
    listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0, forgetSwitchAfterMs: GRACE_MS,
    logger: createLogger({ level: 'info', destination: sink }),
  });
  l2 = new L2Forwarding(ctl.reconciler);
  ctl.use(l2).use(tracker);
  await ctl.start();
});

afterAll(async () => {
  await ctl?.stop();
});

describe('switch churn with fresh datapath ids', () => {
  it(`frees what is kept per datapath id: ${CYCLES} connect/disconnect cycles, heap after GC bounded`, async () => {
    await churn(0x1_0000n, 200); // warm-up: JIT, pools, first-use allocations
    const before = await settledHeap();
    const linesBefore = logLines.length;
    const t0 = Date.now();
    await churn(0x10_0000n, CYCLES);
    const churnMs = Date.now() - t0;
    const after = await settledHeap();
    const growth = after - before;
    console.log(`${CYCLES} cycles in ${churnMs} ms; heap ${(before / 1e6).toFixed(1)} MB → ${(after / 1e6).toFixed(1)} MB (${(growth / CYCLES).toFixed(0)} B/cycle)`);

    expect(ctl.switches()).toEqual([]);
    expect(ctl.reconciler.knownSwitches()).toEqual([]);
    expect(gone).toBe(200 + CYCLES);
    expect(growth).toBeLessThan(CYCLES * BOUND_PER_CYCLE);

    // 4,000 "switch connected/disconnected" events: a few lines and counts, not 4,000 lines.
    const churnLines = logLines.slice(linesBefore).filter((l) => /"msg":"switch (dis)?connected/.test(l));
    expect(churnLines.length).toBeLessThan(100);
  });

  it('keeps what a switch needs across a reconnect within its grace period', async () => {
    const dpid = 0x99n;
    await cycle(dpid);
    expect(ctl.departedSwitches()).toEqual([dpid]);
    expect(ctl.reconciler.knownSwitches()).toEqual([dpid]);
    const up = signal(upWaiters, dpid);
    const f = await FakeSwitch.connect(ctl.addresses()[0].port, { dpid });
    await up;
    expect(ctl.departedSwitches()).toEqual([]); // the pending forget was called off
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    expect(ctl.reconciler.knownSwitches()).toEqual([dpid]);
    const goneBefore = gone;
    const down = signal(downWaiters, dpid);
    f.close();
    await down;
    await waitFor(() => ctl.reconciler.knownSwitches().length === 0, 3000, 'forgotten');
    expect(gone).toBe(goneBefore + 1);
  });

  it('logs a burst of identical warnings from one switch as one line plus a count', async () => {
    const dpid = 0x77n;
    const up = signal(upWaiters, dpid);
    const f = await FakeSwitch.connect(ctl.addresses()[0].port, { dpid });
    await up;
    const from = logLines.length;
    // Well-framed messages of an unknown type: each is answered with an error and warned about,
    // until the switch is dropped after maxMalformed (16).
    const junk = Buffer.alloc(16);
    junk[0] = 4;
    junk[1] = 0xee;
    junk.writeUInt16BE(16, 2);
    for (let i = 0; i < 100; i++) f.sendRaw(junk);
    await f.closed;
    ctl.warnLimit.flush();
    await new Promise((r) => setTimeout(r, 50));
    const warned = logLines.slice(from).filter((l) => l.includes('malformed message from switch'));
    expect(warned).toHaveLength(2);
    expect(warned[1]).toMatch(/"suppressed":16,.*malformed message from switch \(16 more like this in the last 10 s/);
    expect(warned[1]).toContain('"dpid":"0000000000000077"');
  });
});
