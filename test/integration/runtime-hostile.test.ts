// Hostile and misbehaving switches (a scripted fake) against a controller that also serves a real
// Open vSwitch bridge: nothing a switch sends can take the controller or the other switch down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, OfRequestError, type App, type SwitchHandle } from '../../controller/index.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { waiter } from '../helpers/wait-for.js';
import { FakeSwitch, type FakeSwitchOptions } from '../../tools/fake-switch/index.js';
import { encodeMessage } from '../../openflow/messages.js';
import { OFP_NO_BUFFER, OFPG, OFPP, type MessageOf, type OfMessage } from '../../openflow/types.js';

const REAL = 0x00000000000000c1n;
let ctl: Controller;
let lab: Lab;
let realHandle: SwitchHandle;
const events: string[] = [];
const fakes: FakeSwitch[] = [];

const recorder: App = {
  name: 'recorder',
  switchUp: (sw) => void events.push(`up ${sw.dpidHex}`),
  switchDown: (sw) => void events.push(`down ${sw.dpidHex}`),
};

async function fake(opts: FakeSwitchOptions): Promise<FakeSwitch> {
  const f = await FakeSwitch.connect(ctl.addresses()[0].port, opts);
  fakes.push(f);
  return f;
}

const waitFor = waiter(5000, 20);

function header(version: number, type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = version;
  b[1] = type;
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

const isError = (m: OfMessage): m is MessageOf<'error'> => m.type === 'error';

/** The real bridge is still the same connection and still answers. */
async function realStillWorks(): Promise<void> {
  expect(ctl.switch(REAL)).toBe(realHandle);
  expect(realHandle.connected).toBe(true);
  await Promise.all([realHandle.barrier(), realHandle.barrier(), realHandle.barrier()]);
}

beforeAll(async () => {
  ctl = new Controller({
    listeners: [{ host: '127.0.0.1', port: 0 }],
    echoIntervalMs: 150, echoTimeoutMs: 1500, requestTimeoutMs: 3000, handshakeTimeoutMs: 2000,
    maxQueueBytes: 64 * 1024, maxMessageBytes: 16 * 1024, maxMalformed: 8, auditIntervalMs: 0, takeoverProbeMs: 500,
  });
  ctl.use(recorder);
  await ctl.start();
  lab = await startLab({
    name: 'runtime-hostile',
    bridges: [{ name: 'brh', protocols: ['OpenFlow13'], datapathId: REAL.toString(16).padStart(16, '0'), controller: { host: '127.0.0.1', port: ctl.addresses()[0].port } }],
    hosts: [],
  });
  realHandle = await waitFor(() => ctl.switch(REAL), 10000, 'real bridge');
});

afterAll(async () => {
  for (const f of fakes) f.close();
  await lab?.stop();
  await ctl?.stop();
});

describe('hostile input', () => {
  it('answers garbage after the handshake with errors, then disconnects, and keeps serving the bridge', async () => {
    const f = await fake({ dpid: 0xf1n });
    await waitFor(() => ctl.switch(0xf1n), 3000, 'fake up');
    // Well-framed messages of unknown/undecodable types: each one gets OFPT_ERROR, then a disconnect.
    for (let i = 0; i < 20; i++) f.sendRaw(Buffer.concat([header(4, 0xee, 16, 1000 + i), Buffer.from('garbage!')]));
    await f.waitFor((m) => m.type === 'error' && m.xid === 1000);
    await f.closed;
    expect(f.received.filter(isError).length).toBeGreaterThanOrEqual(1);
    expect(ctl.switch(0xf1n)).toBeUndefined();
    await realStillWorks();
  });

  it('answers a truncated message with BAD_LEN and the offending xid', async () => {
    const f = await fake({ dpid: 0xf2n });
    await waitFor(() => ctl.switch(0xf2n), 3000, 'fake up');
    // A PORT_STATUS whose header is honest about its 24 bytes, but the body a port needs is missing.
    f.sendRaw(Buffer.concat([header(4, 12, 24, 4242), Buffer.alloc(16)]));
    const err = await f.waitFor((m): m is MessageOf<'error'> => isError(m) && m.xid === 4242);
    expect(err.errType).toBe('bad_request');
    expect(ctl.switch(0xf2n)?.connected).toBe(true); // one bad message is answered, not fatal
    await realStillWorks();
  });

  it('disconnects a switch whose length field lies (too small or over the bound)', async () => {
    const small = await fake({ dpid: 0xf3n });
    await waitFor(() => ctl.switch(0xf3n), 3000, 'fake up');
    small.sendRaw(header(4, 10, 4, 77)); // length 4 < header
    await small.closed;
    const big = await fake({ dpid: 0xf4n });
    await waitFor(() => ctl.switch(0xf4n), 3000, 'fake up');
    big.sendRaw(Buffer.concat([header(4, 10, 60000, 78), Buffer.alloc(100)])); // over maxMessageBytes
    await big.closed;
    expect(big.received.some((m) => isError(m) && m.xid === 78)).toBe(true);
    // Pure random bytes before any HELLO.
    const noise = await FakeSwitch.connect(ctl.addresses()[0].port, { dpid: 0xf5n });
    fakes.push(noise);
    noise.sendRaw(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff)));
    await noise.closed;
    await realStillWorks();
  });

  it('survives floods: a burst of packet-ins, and a switch that floods echo requests without reading', async () => {
    const seen = new Map<bigint, number>();
    ctl.use({ name: 'counter', packetIn: (sw) => void seen.set(sw.dpid, (seen.get(sw.dpid) ?? 0) + 1) });
    const f = await fake({ dpid: 0xf6n });
    await waitFor(() => ctl.switch(0xf6n), 3000, 'fake up');
    const pin: OfMessage = {
      type: 'packet_in', version: 4, xid: 0, bufferId: OFP_NO_BUFFER, totalLen: 60, reason: 'no_match', tableId: 0,
      cookie: 0n, match: [{ kind: 'basic', name: 'in_port', value: 1 }], data: Buffer.alloc(60, 0xab),
    };
    const one = encodeMessage(pin);
    f.sendRaw(Buffer.concat(Array(20000).fill(one)));
    await waitFor(() => (seen.get(0xf6n) ?? 0) >= 20000, 10000, '20000 packet-ins');
    await realStillWorks();

    const g = await fake({ dpid: 0xf7n });
    await waitFor(() => ctl.switch(0xf7n), 3000, 'fake up');
    g.socket.pause(); // never read our replies again
    const echo = encodeMessage({ type: 'echo_request', version: 4, xid: 5, data: Buffer.alloc(56) });
    for (let i = 0; i < 40 && !g.isClosed; i++) {
      g.sendRaw(Buffer.concat(Array(5000).fill(echo)));
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => !ctl.switch(0xf7n), 10000, 'non-reading flooder to be dropped');
    await realStillWorks();
  });
});

describe('protocol behaviour with a fake switch', () => {
  it('sends HELLO_FAILED to a switch that only speaks OpenFlow 1.0, then disconnects it', async () => {
    const f = await fake({ dpid: 0xa0n, helloVersion: 1, bitmap: null });
    await f.closed;
    const hf = f.rawReceived.find((b) => b[1] === 1);
    expect(hf, 'an OFPT_ERROR frame').toBeDefined();
    expect(hf?.readUInt16BE(8)).toBe(0); // OFPET_HELLO_FAILED
    expect(hf?.readUInt16BE(10)).toBe(0); // OFPHFC_INCOMPATIBLE
    expect(hf?.subarray(12).toString()).toMatch(/incompatible/);
    expect(ctl.switch(0xa0n)).toBeUndefined();
  });

  it('drops a switch that stops answering echo requests', async () => {
    const f = await fake({ dpid: 0xa1n });
    const h = await waitFor(() => ctl.switch(0xa1n), 3000, 'fake up');
    f.answerAll = false;
    const t0 = Date.now();
    await f.closed;
    expect(h.connected).toBe(false);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(f.received.some((m) => m.type === 'echo_request')).toBe(true);
    expect(events).toContain(`down ${h.dpidHex}`);
  });

  it('drops a switch that keeps sending other messages but never answers echo requests', async () => {
    // Controller here: echo every 150 ms, timeout 1500 ms. The fakes send something every 100 ms,
    // so a keepalive that counted any byte would never even ask them.
    const hello = encodeMessage({ type: 'hello', version: 4, xid: 9, versions: [4] });
    const cases: { dpid: bigint; chatter: (f: FakeSwitch, i: number) => void }[] = [
      { dpid: 0xa5n, chatter: (f) => void f.sendRaw(hello) },
      // Echo replies, but never to anything the controller asked (forged xids).
      { dpid: 0xa6n, chatter: (f, i) => f.send({ type: 'echo_reply', version: 4, xid: 0x7000_0000 + i, data: Buffer.alloc(0) }) },
      // One byte at a time of a message that never completes.
      { dpid: 0xa7n, chatter: (f, i) => void f.sendRaw(i === 0 ? header(4, 2, 8 + 4000, 1) : Buffer.from([0x55])) },
    ];
    await Promise.all(cases.map(async ({ dpid, chatter }) => {
      const f = await fake({ dpid, answerEcho: false });
      const h = await waitFor(() => ctl.switch(dpid), 3000, 'fake up');
      const t0 = Date.now();
      let i = 0;
      const timer = setInterval(() => { if (!f.isClosed) chatter(f, i++); }, 100);
      try {
        await Promise.race([f.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${dpid} not dropped`)), 4000))]);
      } finally {
        clearInterval(timer);
      }
      const took = Date.now() - t0;
      expect(h.connected).toBe(false);
      expect(ctl.switch(dpid)).toBeUndefined();
      expect(took).toBeGreaterThanOrEqual(1400); // it was given the whole echo timeout…
      expect(took).toBeLessThan(2500); // …and not much more
      expect(i).toBeGreaterThan(10);
      expect(f.received.filter((m) => m.type === 'echo_request').length).toBeGreaterThanOrEqual(1);
    }));
    await realStillWorks();
  });

  it('falls back to ordered messages + barrier when the switch refuses bundles, and reports its errors', async () => {
    const f = await fake({ dpid: 0xa2n, bundles: false, rejectPriority: 666 });
    const h = await waitFor(() => ctl.switch(0xa2n), 3000, 'fake up');
    expect(h.capabilities.bundles).toBe(false);
    expect(h.capabilities.normalPort).toBe(false);
    const fm = (priority: number): Omit<MessageOf<'flow_mod'>, 'version' | 'xid'> => ({
      type: 'flow_mod', command: 'add', cookie: 1n, cookieMask: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0, priority,
      bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
    });
    const before = f.received.length;
    await h.transaction([fm(1), fm(2), fm(3)]);
    const seq = f.received.slice(before).map((m) => (m.type === 'flow_mod' ? `fm${m.priority}` : m.type));
    expect(seq).toEqual(['fm1', 'fm2', 'fm3', 'barrier_request']);
    const err = await h.transaction([fm(4), fm(666), fm(5)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfRequestError);
    expect((err as OfRequestError).errType).toBe('flow_mod_failed');
    // A fire-and-forget flow mod's error surfaces as an app event.
    const errors: MessageOf<'error'>[] = [];
    ctl.use({ name: 'errors', error: (_sw, m) => void errors.push(m) });
    h.send(fm(666));
    await waitFor(() => errors.length > 0, 3000, 'async error event');
    expect(errors[0].errType).toBe('flow_mod_failed');
  });

  it('applies backpressure towards a switch that does not read: send() reports false, queue stays bounded', async () => {
    const f = await fake({ dpid: 0xa3n });
    const h = await waitFor(() => ctl.switch(0xa3n), 3000, 'fake up');
    f.socket.pause();
    const po = { type: 'packet_out' as const, bufferId: OFP_NO_BUFFER, inPort: OFPP.CONTROLLER, actions: [{ type: 'output' as const, port: 1, maxLen: 0 }], data: Buffer.alloc(1400) };
    let accepted = 0;
    let refused = 0;
    // 20 × 1.4 KB per tick stays under the 64 KiB bound, so a refusal means the kernel stopped taking data.
    for (let round = 0; round < 20000 && refused === 0; round++) {
      for (let i = 0; i < 20; i++) if (h.send(po)) accepted++; else refused++;
      await new Promise((r) => setImmediate(r)); // let the socket flush into the kernel
    }
    expect(refused).toBeGreaterThan(0);
    expect(h.queueDepth()).toBeGreaterThan(0);
    expect(h.queueDepth()).toBeLessThanOrEqual(64 * 1024 + 20 * 1500);
    expect(h.sendBatch([po, po])).toBe(false);
    f.socket.resume();
    await h.drain();
    expect(h.send(po)).toBe(true);
    expect(accepted).toBeGreaterThan(0);
  });

  it('refuses a second connection for a connected datapath id while the first answers echoes', async () => {
    const a = await fake({ dpid: 0xa4n });
    const first = await waitFor(() => ctl.switch(0xa4n), 3000, 'first');
    const n = events.length;
    const b = await fake({ dpid: 0xa4n });
    await b.closed;
    expect(ctl.switch(0xa4n)).toBe(first);
    expect(first.connected).toBe(true);
    expect(a.isClosed).toBe(false);
    expect(events.slice(n)).toEqual([]);
    // Once the first stops answering, a newcomer takes over: the switch rebooted.
    a.answerAll = false;
    const c = await fake({ dpid: 0xa4n });
    const third = await waitFor(() => (ctl.switch(0xa4n) !== first ? ctl.switch(0xa4n) : undefined), 3000, 'takeover');
    await a.closed;
    expect(first.connected).toBe(false);
    expect(third.connected).toBe(true);
    expect(events.slice(n)).toEqual(['down 00000000000000a4', 'up 00000000000000a4']);
    expect(c.isClosed).toBe(false);
    await realStillWorks();
  });
});
