// The fake switch on the wire, against a bare controller socket: handshake answers, flow-mods and
// group-mods applied to its table (bundles all or nothing), errors for what a switch refuses,
// dumps from the table, packet-ins decided by the table, flow-removed notices.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OfFramer } from '../../../openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../../openflow/messages.js';
import type { Action, MessageOf, OfMessage } from '../../../openflow/types.js';
import { OFPFF, OFPP } from '../../../openflow/types.js';
import { FakeSwitch, TCP, tcpPacket } from '../../../tools/fake-switch/index.js';

interface Conn {
  got: OfMessage[];
  send: (m: OfMessage) => void;
  /** The first message of that type not taken yet. */
  next: <T extends OfMessage['type']>(t: T) => Promise<MessageOf<T>>;
}

/** A controller end: accepts one switch, collects what it sends, sends what the test says. */
async function controller(): Promise<{ port: number; conn: Promise<Conn>; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const conn = new Promise<Conn>((resolve) => {
    server.once('connection', (s) => {
      const got: OfMessage[] = [];
      const waiters: (() => void)[] = [];
      const framer = new OfFramer({ maxBuffered: 1 << 20 });
      s.on('data', (chunk: Buffer) => {
        for (const ev of framer.push(chunk)) {
          if (!ev.ok) continue;
          const r = decodeMessage(ev.frame);
          if (r.ok) got.push(r.value);
        }
        for (const w of waiters.splice(0)) w();
      });
      const taken = new Set<number>();
      // The first message of that type not yet taken, whatever arrived between.
      const next = <T extends OfMessage['type']>(t: T): Promise<MessageOf<T>> => new Promise((res) => {
        const look = (): void => {
          const i = got.findIndex((m, at) => m.type === t && !taken.has(at));
          if (i < 0) {
            waiters.push(look);
            return;
          }
          taken.add(i);
          res(got[i] as MessageOf<T>);
        };
        look();
      });
      resolve({ got, send: (m) => void s.write(encodeMessage(m)), next });
    });
  });
  return { port: (server.address() as net.AddressInfo).port, conn, close: () => server.close() };
}

const out = (port: number): Action => ({ type: 'output', port, maxLen: 0xffff });
const flowMod = (o: Partial<MessageOf<'flow_mod'>>): MessageOf<'flow_mod'> => ({
  type: 'flow_mod', version: 4, xid: 10, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'add', idleTimeout: 0, hardTimeout: 0, priority: 10,
  bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: 0, match: [{ kind: 'basic', name: 'eth_type', value: 0x0800 }],
  instructions: [{ type: 'apply_actions', actions: [out(2)] }], ...o,
});
const syn = tcpPacket({ inPort: 1, ethDst: '02:00:00:00:00:aa', src: '192.168.1.5', dst: '10.0.0.100', srcPort: 40000, dstPort: 80, flags: TCP.SYN });

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function rig(clock?: () => number) {
  const ctl = await controller();
  const sw = await FakeSwitch.connect(ctl.port, { dpid: 0x42n, dumps: true, ...(clock ? { table: { clock } } : {}) });
  cleanup.push(() => sw.close(), ctl.close);
  const c = await ctl.conn;
  c.send({ type: 'hello', version: 4, xid: 1, versions: [4] });
  return { sw, c };
}

describe('fake switch on the wire', () => {
  it('answers the handshake as the switch it says it is', async () => {
    const { c } = await rig();
    expect(await c.next('hello')).toMatchObject({ version: 4, versions: [4] });
    c.send({ type: 'features_request', version: 4, xid: 2 });
    expect(await c.next('features_reply')).toMatchObject({ xid: 2, datapathId: 0x42n, nTables: 4 });
    c.send({ type: 'multipart_request', version: 4, xid: 3, flags: 0, body: { kind: 'desc' } });
    expect(await c.next('multipart_reply')).toMatchObject({ xid: 3, body: { kind: 'desc', desc: { mfrDesc: 'Fake Inc.' } } });
    c.send({ type: 'echo_request', version: 4, xid: 4, data: Buffer.from('hi') });
    expect((await c.next('echo_reply')).data.toString()).toBe('hi');
  });

  it('applies flow-mods to its table, refuses what a switch refuses, and dumps what it holds', async () => {
    const { sw, c } = await rig();
    c.send(flowMod({ xid: 11 }));
    c.send(flowMod({ xid: 12, tableId: 9 }));
    c.send({ type: 'barrier_request', version: 4, xid: 13 });
    await c.next('barrier_reply');
    expect(await c.next('error')).toMatchObject({ xid: 12, errType: 'flow_mod_failed', code: 2 });
    expect(sw.table.trace(syn).outputs.map((o) => o.port)).toEqual([2]);
    c.send({ type: 'multipart_request', version: 4, xid: 14, flags: 0, body: { kind: 'flow', body: { tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] } } });
    const dump = await c.next('multipart_reply');
    expect(dump.body.kind === 'flow' ? dump.body.flows.map((f) => f.priority) : null).toEqual([10]);
  });

  it('commits a bundle all or nothing', async () => {
    const { sw, c } = await rig();
    const add = (xid: number, m: MessageOf<'flow_mod'>): void => c.send({ type: 'bundle_add_message', version: 4, xid, bundleId: 1, flags: 0, message: { ...m, xid } });
    c.send({ type: 'bundle_control', version: 4, xid: 20, bundleId: 1, controlType: 'open_request', flags: 0 });
    add(21, flowMod({ priority: 1 }));
    add(22, flowMod({ priority: 2, instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 99 }] }] }));
    c.send({ type: 'bundle_control', version: 4, xid: 23, bundleId: 1, controlType: 'commit_request', flags: 0 });
    expect(await c.next('error')).toMatchObject({ xid: 22, errType: 'bad_action' });
    expect(await c.next('error')).toMatchObject({ xid: 23, errType: 'bundle_failed', code: 13 });
    expect(sw.table.flows()).toEqual([]); // the first message was undone too
    c.send({ type: 'bundle_control', version: 4, xid: 30, bundleId: 2, controlType: 'open_request', flags: 0 });
    c.send({ type: 'bundle_add_message', version: 4, xid: 31, bundleId: 2, flags: 0, message: { ...flowMod({ priority: 1 }), xid: 31 } });
    c.send({ type: 'bundle_control', version: 4, xid: 32, bundleId: 2, controlType: 'commit_request', flags: 0 });
    await c.next('bundle_control'); // open reply (bundle 1)
    await c.next('bundle_control'); // open reply (bundle 2)
    expect(await c.next('bundle_control')).toMatchObject({ xid: 32, controlType: 'commit_reply' });
    expect(sw.table.flows()).toHaveLength(1);
  });

  it('an injected packet the table sends to the controller arrives as a packet-in; expired flows are reported', async () => {
    let now = 0;
    const { sw, c } = await rig(() => now);
    c.send(flowMod({ cookie: 0x99n, idleTimeout: 5, flags: OFPFF.SEND_FLOW_REM, instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '0e:00:00:01:00:03' } }, out(OFPP.CONTROLLER)] }] }));
    c.send({ type: 'barrier_request', version: 4, xid: 40 });
    await c.next('barrier_reply');
    const v = sw.inject(syn);
    expect(v.packetIns).toHaveLength(1);
    const pi = await c.next('packet_in');
    expect(pi).toMatchObject({ cookie: 0x99n, reason: 'action', match: [{ name: 'in_port', value: 1 }] });
    expect(pi.data.subarray(0, 6).toString('hex')).toBe('0e0000010003');
    // The controller answers with a packet-out through the table: the fake says where it went.
    c.send({ type: 'packet_out', version: 4, xid: 41, bufferId: 0xffffffff, inPort: 1, actions: [{ type: 'set_field', field: { kind: 'basic', name: 'tcp_dst', value: 8080 } }, out(5)], data: pi.data });
    c.send({ type: 'barrier_request', version: 4, xid: 42 });
    await c.next('barrier_reply');
    expect(sw.packetOuts.map((x) => x.outputs.map((o) => [o.port, o.packet.tcp_dst, o.packet.eth_dst]))).toEqual([[[5, 8080, '0e:00:00:01:00:03']]]);
    now += 5_000;
    expect(sw.expire()).toHaveLength(1);
    expect(await c.next('flow_removed')).toMatchObject({ cookie: 0x99n, reason: 'idle_timeout' });
  });
});
