// The fake switch's flow table: OpenFlow 1.3 flow-mod and group-mod semantics, and the verdicts
// it gives packets. Every message goes through the codec (encode, then decode) first.
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../openflow/messages.js';
import { nxFinTimeout, nxLearn, nxResubmit, NXM } from '../../../openflow/nicira.js';
import { oxm } from '../../../openflow/oxm.js';
import type { Action, Bucket, Instruction, MessageOf, OxmBasicName, OxmValue } from '../../../openflow/types.js';
import { OFPFF, OFPP } from '../../../openflow/types.js';
import { extractFlowKey } from '../../../openflow/packet/flowkey.js';
import { FlowTable, TCP, arpRequest, frameOfPacket, fromBits, fullMask, packetOfFlowKey, packetOfFrame, tcpPacket, udpPacket, type FlowTableOptions, type Packet } from '../../../tools/fake-switch/index.js';

type FlowModInput = Partial<Omit<MessageOf<'flow_mod'>, 'type' | 'version' | 'xid'>>;

const f = (name: OxmBasicName, value: OxmValue, mask?: OxmValue) => oxm(name, value, mask);
const out = (port: number): Action => ({ type: 'output', port, maxLen: 0 });
const apply = (...actions: Action[]): Instruction[] => [{ type: 'apply_actions', actions }];

function flowMod(o: FlowModInput): MessageOf<'flow_mod'> {
  return {
    type: 'flow_mod', version: 4, xid: 1, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'add', idleTimeout: 0, hardTimeout: 0,
    priority: 100, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: 0, match: [], instructions: [], ...o,
  };
}
function groupMod(groupId: number, buckets: Action[][], command: MessageOf<'group_mod'>['command'] = 'add', groupType: MessageOf<'group_mod'>['groupType'] = 'select'): MessageOf<'group_mod'> {
  const bs: Bucket[] = buckets.map((actions) => ({ weight: 1, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions }));
  return { type: 'group_mod', version: 4, xid: 2, command, groupType, groupId, buckets: bs };
}

/** A table fed through the codec, with a clock the test moves. */
function rig(o: FlowTableOptions = {}) {
  let now = 0;
  const t = new FlowTable({ clock: () => now, ...o });
  const send = (m: MessageOf<'flow_mod'> | MessageOf<'group_mod'>) => t.applyBytes(encodeMessage(m));
  const add = (o2: FlowModInput) => {
    const r = send(flowMod(o2));
    expect(r.ok).toBe(true);
    return r;
  };
  return { t, send, add, advance: (ms: number) => void (now += ms) };
}

const syn = (o: Partial<{ src: string; dst: string; srcPort: number; dstPort: number; inPort: number; flags: number }> = {}): Packet => tcpPacket({
  inPort: o.inPort ?? 1, ethDst: '02:00:00:00:00:aa', src: o.src ?? '192.168.1.5', dst: o.dst ?? '10.0.0.100', srcPort: o.srcPort ?? 40000,
  dstPort: o.dstPort ?? 80, flags: o.flags ?? TCP.SYN,
});
const ports = (p: Packet, t: FlowTable) => t.trace(p).outputs.map((o) => o.port);

describe('lookup', () => {
  it('takes the highest priority match; masked fields match by prefix; unmatched packets are dropped', () => {
    const { t, add } = rig();
    add({ priority: 10, match: [f('eth_type', 0x0800)], instructions: apply(out(1)) });
    add({ priority: 20, match: [f('eth_type', 0x0800), f('ipv4_src', '192.168.0.0', '255.255.0.0')], instructions: apply(out(2)) });
    add({ priority: 30, match: [f('eth_type', 0x0800), f('ip_proto', 6), f('tcp_dst', 443)], instructions: apply(out(3)) });
    expect(ports(syn(), t)).toEqual([2]);
    expect(ports(syn({ src: '172.16.0.1' }), t)).toEqual([1]);
    expect(ports(syn({ dstPort: 443 }), t)).toEqual([3]);
    const arp = arpRequest({ inPort: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.2' });
    expect(t.trace(arp)).toMatchObject({ outputs: [], misses: [0] });
    // A UDP packet has no tcp_dst: the TCP rule cannot match it.
    expect(ports(udpPacket({ inPort: 1, ethDst: '02:00:00:00:00:aa', src: '172.16.0.1', dst: '10.0.0.100', srcPort: 5, dstPort: 443 }), t)).toEqual([1]);
  });

  it('reads field bits back in the codec value type for the field, over the field width', () => {
    expect(fromBits('ipv6_src', (0x2001_0db8n << 96n) | 1n)).toBe('2001:db8::1');
    expect(fromBits('arp_sha', 0x0200_0000_000bn)).toBe('02:00:00:00:00:0b');
    expect(fromBits('tunnel_id', 5n)).toBe(5n);
    expect(fromBits('sctp_dst', 80n)).toBe(80);
    expect([fullMask('sctp_dst'), fullMask('pbb_isid'), fullMask('vlan_vid'), fullMask('ipv6_dst')]).toEqual([0xffffn, 0xff_ffffn, 0x1fffn, (1n << 128n) - 1n]);
  });

  it('a packet read from a frame and rebuilt as one keeps its fields; a flow key gives the same packet', () => {
    const p = syn({ flags: TCP.SYN | TCP.ACK });
    expect(packetOfFrame(frameOfPacket(p), 1)).toEqual(p);
    const key = extractFlowKey(frameOfPacket(p))!;
    expect(packetOfFlowKey(key, 1, { ethSrc: String(p.eth_src), ethDst: String(p.eth_dst) })).toEqual(p);
    expect(p).toMatchObject({ ipv4_src: '192.168.1.5', tcp_src: 40000, tcp_flags: 0x12, in_port: 1 });
  });
});

describe('flow-mods', () => {
  it('add replaces an identical entry (same priority and match, fields in any order)', () => {
    const { t, add } = rig();
    add({ match: [f('eth_type', 0x0800), f('ip_proto', 6)], instructions: apply(out(1)), cookie: 1n });
    add({ match: [f('ip_proto', 6), f('eth_type', 0x0800)], instructions: apply(out(2)), cookie: 2n });
    expect(t.flows()).toHaveLength(1);
    expect(t.flows()[0].cookie).toBe(2n);
    expect(ports(syn(), t)).toEqual([2]);
  });

  it('refuses an overlapping add with CHECK_OVERLAP', () => {
    const { send, add } = rig();
    add({ match: [f('eth_type', 0x0800)], instructions: apply(out(1)) });
    const r = send(flowMod({ match: [f('eth_type', 0x0800), f('ip_proto', 6)], flags: OFPFF.CHECK_OVERLAP }));
    expect(r).toMatchObject({ ok: false, errType: 'flow_mod_failed', code: 3 });
    expect(send(flowMod({ match: [f('eth_type', 0x0806)], flags: OFPFF.CHECK_OVERLAP })).ok).toBe(true);
  });

  it('modify changes the instructions of every entry its match covers; modify_strict one; cookies filter', () => {
    const { t, add } = rig();
    add({ priority: 5, match: [f('eth_type', 0x0800), f('ip_proto', 6)], instructions: apply(out(1)), cookie: 0x10n });
    add({ priority: 6, match: [f('eth_type', 0x0800), f('ip_proto', 6), f('tcp_dst', 80)], instructions: apply(out(1)), cookie: 0x11n });
    add({ priority: 7, match: [f('eth_type', 0x0806)], instructions: apply(out(1)), cookie: 0x10n });
    add({ command: 'modify', match: [f('eth_type', 0x0800)], cookie: 0x10n, cookieMask: 0xffn, instructions: apply(out(9)) });
    expect(t.flows().map((e) => [e.priority, (e.instructions[0] as { actions: Action[] }).actions[0]])).toEqual([
      [7, out(1)], [6, out(1)], [5, out(9)],
    ]);
    add({ command: 'modify_strict', priority: 6, match: [f('eth_type', 0x0800), f('ip_proto', 6)], instructions: apply(out(8)) });
    expect(ports(syn(), t)).toEqual([1]); // strict: priority 6's match differs, nothing changed
    add({ command: 'modify_strict', priority: 6, match: [f('tcp_dst', 80), f('eth_type', 0x0800), f('ip_proto', 6)], instructions: apply(out(8)) });
    expect(ports(syn(), t)).toEqual([8]);
    // Modify of nothing adds nothing (OpenFlow 1.3).
    add({ command: 'modify', match: [f('eth_type', 0x86dd)], instructions: apply(out(1)) });
    expect(t.flows()).toHaveLength(3);
  });

  it('delete by cookie and mask across tables, by out_port, strictly by priority; SEND_FLOW_REM entries are reported', () => {
    const { t, add } = rig();
    add({ tableId: 0, priority: 1, match: [f('eth_type', 0x0800)], instructions: apply(out(1)), cookie: 0x0201n, flags: OFPFF.SEND_FLOW_REM });
    add({ tableId: 1, priority: 1, match: [f('eth_type', 0x0800)], instructions: apply(out(2)), cookie: 0x0202n });
    add({ tableId: 1, priority: 2, match: [f('eth_type', 0x0800)], instructions: apply(out(2)), cookie: 0x0301n });
    add({ tableId: 2, priority: 1, match: [f('eth_type', 0x0806)], instructions: apply(out(3)), cookie: 0x0301n });
    const r = add({ command: 'delete', tableId: 0xff, cookie: 0x0200n, cookieMask: 0xff00n });
    expect(r.removed.map((x) => [x.entry.cookie, x.reason])).toEqual([[0x0201n, 'delete'], [0x0202n, 'delete']]);
    add({ command: 'delete', tableId: 0xff, outPort: 3 });
    expect(t.flows().map((e) => e.tableId)).toEqual([1]);
    add({ command: 'delete_strict', tableId: 1, priority: 1, match: [f('eth_type', 0x0800)] });
    expect(t.flows()).toHaveLength(1);
    add({ command: 'delete_strict', tableId: 1, priority: 2, match: [f('eth_type', 0x0800)] });
    expect(t.flows()).toHaveLength(0);
  });

  it('idle and hard timeouts run on the clock it was given; a hit keeps an idle entry alive', () => {
    const { t, add, advance } = rig();
    add({ priority: 2, match: [f('eth_type', 0x0800), f('tcp_dst', 80), f('ip_proto', 6)], idleTimeout: 10, instructions: apply(out(1)) });
    add({ priority: 1, match: [f('eth_type', 0x0800)], hardTimeout: 15, instructions: apply(out(2)) });
    advance(9_000);
    t.trace(syn());
    advance(9_000);
    expect(t.expire().map((r) => r.reason)).toEqual(['hard_timeout']);
    advance(999);
    expect(t.expire()).toEqual([]);
    advance(1); // 10 s after the hit at 9 s
    expect(t.expire().map((r) => r.reason)).toEqual(['idle_timeout']);
  });

  it('refuses a table it does not have and a flow to a missing group', () => {
    const { send } = rig({ tables: 2 });
    expect(send(flowMod({ tableId: 2 }))).toMatchObject({ ok: false, errType: 'flow_mod_failed', code: 2 });
    expect(send(flowMod({ instructions: apply({ type: 'group', groupId: 5 }) }))).toMatchObject({ ok: false, errType: 'bad_action' });
  });
});

describe('pipeline', () => {
  it('goto_table with write_metadata; the action set runs at the end, apply_actions at once', () => {
    const { t, add } = rig();
    add({ tableId: 0, match: [], instructions: [
      { type: 'apply_actions', actions: [out(7)] },
      { type: 'write_actions', actions: [out(2)] },
      { type: 'write_metadata', metadata: 0x5n, mask: 0xffn },
      { type: 'goto_table', tableId: 1 },
    ] });
    add({ tableId: 1, match: [f('metadata', 0x5n, 0xffn)], instructions: [{ type: 'write_actions', actions: [{ type: 'set_field', field: f('eth_dst', '02:00:00:00:00:05') }] }] });
    const v = t.trace(syn());
    expect(v.outputs.map((o) => [o.port, o.packet.eth_dst])).toEqual([[7, '02:00:00:00:00:aa'], [2, '02:00:00:00:00:05']]);
    expect(v.path.map((p) => p.tableId)).toEqual([0, 1]);
  });

  it('set_field rewrites what later outputs carry; IN_PORT goes back; CONTROLLER is a packet-in with the cookie', () => {
    const { t, add } = rig();
    add({ cookie: 0xabn, match: [f('eth_type', 0x0800)], instructions: apply(
      out(3), { type: 'set_field', field: f('ipv4_dst', '10.9.9.9') }, { type: 'set_field', field: f('tcp_dst', 8080) },
      out(OFPP.IN_PORT), out(OFPP.CONTROLLER),
    ) });
    const v = t.trace(syn({ inPort: 4 }));
    expect(v.outputs.map((o) => [o.port, o.packet.ipv4_dst, o.packet.tcp_dst])).toEqual([[3, '10.0.0.100', 80], [4, '10.9.9.9', 8080]]);
    expect(v.packetIns).toMatchObject([{ reason: 'action', cookie: 0xabn, tableId: 0, packet: { ipv4_dst: '10.9.9.9' } }]);
  });

  it('a select group takes one bucket by a hash of the flow: the same flow always the same, flows spread', () => {
    const { t, add, send } = rig();
    expect(send(groupMod(1, [[out(1)], [out(2)], [out(3)], [out(4)]])).ok).toBe(true);
    add({ match: [f('eth_type', 0x0800)], instructions: apply({ type: 'group', groupId: 1 }) });
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const p = syn({ srcPort: 1000 + i });
      const first = ports(p, t);
      expect(first).toHaveLength(1);
      expect(ports(p, t)).toEqual(first);
      expect(first[0]).toBe(t.bucketFor(1, p) + 1);
      seen.add(first[0]);
    }
    expect(seen.size).toBe(4);
    // Modify replaces the buckets; delete removes the group and the flows that use it.
    expect(send(groupMod(1, [[out(9)]], 'modify')).ok).toBe(true);
    expect(ports(syn(), t)).toEqual([9]);
    expect(send(groupMod(1, [[out(9)]])).ok).toBe(false);
    expect(send(groupMod(1, [], 'delete'))).toMatchObject({ ok: true, removed: [{ reason: 'group_delete' }] });
    expect(t.flows()).toEqual([]);
  });

  it('a bucket works on a copy; all groups run every bucket', () => {
    const { t, add, send } = rig();
    send(groupMod(2, [[{ type: 'set_field', field: f('eth_dst', '02:00:00:00:00:02') }, out(2)], [out(3)]], 'add', 'all'));
    add({ match: [], instructions: apply({ type: 'group', groupId: 2 }, out(4)) });
    expect(t.trace(syn()).outputs.map((o) => [o.port, o.packet.eth_dst])).toEqual([
      [2, '02:00:00:00:00:02'], [3, '02:00:00:00:00:aa'], [4, '02:00:00:00:00:aa'],
    ]);
  });

  it('Nicira resubmit runs another table and comes back; learn installs the flow its spec describes', () => {
    const { t, add } = rig();
    const learn = nxLearn({
      table: 0, priority: 500, idleTimeout: 30, finIdleTimeout: 2, cookie: 0x77n, flags: 1, specs: [
        { kind: 'match_value', field: NXM.ethType, value: 0x0800 },
        { kind: 'match_value', field: NXM.ipProto, value: 6 },
        { kind: 'match_field', field: NXM.ipSrc },
        { kind: 'match_field', field: NXM.tcpSrc },
        { kind: 'match_from', field: NXM.ipDst, from: NXM.ipDst },
        { kind: 'load_value', field: NXM.ethDst, value: '02:00:00:00:00:0b' },
        { kind: 'output_field', field: NXM.metadata, ofs: 32, bits: 16 },
      ],
    });
    add({ tableId: 0, priority: 1, match: [f('eth_type', 0x0800)], instructions: apply({ type: 'set_field', field: f('metadata', 6n << 32n) }, nxResubmit(1), out(99)) });
    add({ tableId: 1, priority: 1, match: [f('eth_type', 0x0800)], instructions: apply(learn, out(5)) });
    const first = t.trace(syn());
    expect(first.outputs.map((o) => o.port)).toEqual([5, 99]);
    expect(first.learned).toHaveLength(1);
    const l = first.learned[0];
    expect(l).toMatchObject({ tableId: 0, priority: 500, cookie: 0x77n, idleTimeout: 30, flags: OFPFF.SEND_FLOW_REM, learned: true });
    expect(new Set(l.match.map((m) => JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))))).toEqual(new Set([
      f('eth_type', 0x0800), f('ip_proto', 6), f('ipv4_src', '192.168.1.5'), f('tcp_src', 40000), f('ipv4_dst', '10.0.0.100'),
    ].map((m) => JSON.stringify(m))));
    // The next packet of the flow hits the learned entry: new MAC, out of the port metadata held.
    const next = t.trace(syn({ flags: TCP.ACK }));
    expect(next.outputs.map((o) => [o.port, o.packet.eth_dst])).toEqual([[6, '02:00:00:00:00:0b']]);
    expect(next.learned).toEqual([]);
    // Another client is not matched by it.
    expect(t.trace(syn({ srcPort: 40001 })).learned).toHaveLength(1);
    // fin_idle_timeout: a FIN shortens the learned entry's idle timeout.
    t.trace(syn({ flags: TCP.FIN | TCP.ACK }));
    expect(t.flows(0).find((e) => e.learned && e.match.some((m) => m.kind === 'basic' && m.name === 'tcp_src' && m.value === 40000))?.idleTimeout).toBe(2);
  });

  it('fin_timeout in a flow shortens its own idle timeout on FIN or RST only', () => {
    const { t, add } = rig();
    add({ idleTimeout: 300, match: [f('eth_type', 0x0800)], instructions: apply(nxFinTimeout(3), out(1)) });
    t.trace(syn({ flags: TCP.ACK }));
    expect(t.flows()[0].idleTimeout).toBe(300);
    t.trace(syn({ flags: TCP.RST }));
    expect(t.flows()[0].idleTimeout).toBe(3);
  });

  it('a packet-out runs its actions, and the pipeline for an output to TABLE', () => {
    const { t, add } = rig();
    add({ match: [f('eth_type', 0x0800)], instructions: apply(out(2)) });
    expect(t.packetOut(syn(), [out(OFPP.TABLE)]).outputs.map((o) => o.port)).toEqual([2]);
    expect(t.packetOut(syn(), [out(5)]).outputs.map((o) => o.port)).toEqual([5]);
  });

  it('reports what it does not model instead of pretending', () => {
    const { t, add } = rig();
    add({ match: [], instructions: apply({ type: 'dec_nw_ttl' }, out(1)) });
    expect(t.trace(syn()).unsupported).toEqual(['action dec_nw_ttl']);
  });

  it('NX actions the codec leaves raw (another subtype, a form it would not write) are reported, not run', () => {
    const { t, add } = rig();
    // NXAST_RESUBMIT (subtype 1, "resubmit:2"): not one the codec types.
    const resubmitToPort = Buffer.from('0001000200000000', 'hex');
    // resubmit(,1) with a reserved byte set: not the bytes the codec writes for it, so it stays raw.
    const oddResubmit = Buffer.from('000efff801000001', 'hex');
    add({ tableId: 1, match: [], instructions: apply(out(7)) });
    add({ match: [], instructions: apply(
      { type: 'experimenter', experimenter: 0x2320, data: resubmitToPort },
      { type: 'experimenter', experimenter: 0x2320, data: oddResubmit },
      { type: 'experimenter', experimenter: 0x4f4e4600, data: Buffer.alloc(8) },
      out(1),
    ) });
    expect(t.flows(0)[0].instructions).toEqual(apply(
      { type: 'experimenter', experimenter: 0x2320, data: resubmitToPort },
      { type: 'experimenter', experimenter: 0x2320, data: oddResubmit },
      { type: 'experimenter', experimenter: 0x4f4e4600, data: Buffer.alloc(8) },
      out(1),
    ));
    const v = t.trace(syn());
    expect(v.unsupported).toEqual(['nicira action 1', 'nicira action 14', 'experimenter 0x4f4e4600']);
    expect(v.outputs.map((o) => o.port)).toEqual([1]);
  });
});
