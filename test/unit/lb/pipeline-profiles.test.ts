// The two switch profiles' pipelines, as pure functions and as Open vSwitch reads them: in the
// `ovs` profile a bucket hands the packet to its backend's learn rule, which makes the switch
// remember the connection as a pin; in `openflow13` nothing Nicira goes out. Slot tables move at
// once when every switch remembers, and a stopping controller parks its query slots.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../openflow/messages.js';
import type { Action, OfMessage } from '../../../openflow/types.js';
import { SERVICE_DEFAULTS, type Service } from '../../../apps/lb/model.js';
import { bucketActions, serviceFlows, serviceGroup, type BackendTarget } from '../../../apps/lb/pipeline.js';
import { parkedBucket, SlotTable, type Bucket } from '../../../apps/lb/slot-table.js';
import type { DesiredFlow } from '../../../controller/desired.js';

function service(mode: 'nat' | 'dsr', proto: 'tcp' | 'udp'): Service {
  return { ...SERVICE_DEFAULTS, name: 's', vip: '10.0.0.100', port: proto === 'tcp' ? 80 : 53, proto, mode, slots: 4, id: 1, vmac: '02:48:46:00:00:01', createdAt: 0 };
}
const b7: BackendTarget = { id: 7, ip: '10.0.0.11', l4port: 8080, mac: '02:00:00:00:00:0b', port: 3 };
const targetOf = (id: number) => (id === 7 ? b7 : undefined);

const hasOfctl = spawnSync('ovs-ofctl', ['--version'], { encoding: 'utf8' }).status === 0;
function ofpPrint(msg: OfMessage): string {
  const r = spawnSync('ovs-ofctl', ['ofp-print', Buffer.from(encodeMessage(msg)).toString('hex')], { encoding: 'utf8', timeout: 10_000 });
  expect(r.stderr).toBe('');
  return r.stdout;
}
function flowMod(f: DesiredFlow, version: 4 | 6): OfMessage {
  return {
    type: 'flow_mod', version, xid: 1, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'add', idleTimeout: 0, hardTimeout: 0,
    priority: f.priority, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: f.match, instructions: f.instructions,
  };
}
/** An Open vSwitch extension action: a typed NX action, or any other experimenter action. */
const isNicira = (a: Action) => a.type === 'experimenter' || a.type.startsWith('nx_');
const allActions = (flows: DesiredFlow[]) => flows.flatMap((f) => f.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : [])));

describe('ovs profile pipeline', () => {
  it('a forward bucket sets the backend id in metadata and resubmits to its learn rule', () => {
    const acts = bucketActions(service('nat', 'tcp'), 0, { kind: 'forward', backend: 7 }, targetOf, 'ovs');
    expect(acts[0]).toEqual({ type: 'set_field', field: { kind: 'basic', name: 'metadata', value: 7n } });
    expect(acts.length).toBe(2);
    expect(isNicira(acts[1]!)).toBe(true);
    expect(acts[1]).toEqual({ type: 'nx_resubmit', table: 1 });
  });

  it('a query bucket is its new owner\'s bucket (the switch remembers the old owner\'s connections), none drops', () => {
    const s = service('nat', 'tcp');
    expect(bucketActions(s, 0, { kind: 'query', from: 9, to: 7 }, targetOf, 'ovs')).toEqual(bucketActions(s, 0, { kind: 'forward', backend: 7 }, targetOf, 'ovs'));
    expect(bucketActions(s, 0, { kind: 'query', from: 7, to: null }, targetOf, 'ovs')).toEqual([]);
    // openflow13: the controller sees the packet.
    const q = bucketActions(s, 0, { kind: 'query', from: 9, to: 7 }, targetOf, 'openflow13');
    expect(q.at(-1)).toMatchObject({ type: 'output', port: 0xfffffffd });
  });

  it('adds one learn rule per backend in the ovs profile, none in openflow13, and no Nicira action there', () => {
    const s = service('nat', 'udp');
    const ovs = serviceFlows(s, [b7], { profile: 'ovs', finTimeout: 2 });
    const of13 = serviceFlows(s, [b7], { profile: 'openflow13', finTimeout: 2 });
    expect(ovs.filter((f) => f.tableId === 1)).toHaveLength(1); // udp: the learn rule alone
    expect(of13.filter((f) => f.tableId === 1)).toHaveLength(0);
    expect(allActions(of13).some(isNicira)).toBe(false);
    const g13 = serviceGroup(s, [{ kind: 'forward', backend: 7 }, { kind: 'query', from: 7, to: 7 }], targetOf, 6, 'openflow13');
    expect(g13.buckets.flatMap((b) => b.actions).some(isNicira)).toBe(false);
    expect(g13.properties).toBeUndefined(); // the selection method is an Open vSwitch property
    expect(serviceGroup(s, [{ kind: 'forward', backend: 7 }], targetOf, 6, 'ovs').properties).toHaveLength(1);
  });

  it.runIf(hasOfctl)('nat tcp learn rule reads, in Open vSwitch\'s words, as a pin made at the first packet', () => {
    // b7 is shared with another nat service here: its connections learn their reply entry too.
    const f = serviceFlows(service('nat', 'tcp'), [b7], { profile: 'ovs', finTimeout: 2, sharedBackend: () => true }).find((x) => x.tableId === 1)!;
    const text = ofpPrint(flowMod(f, 4));
    const alone = serviceFlows(service('nat', 'tcp'), [b7], { profile: 'ovs', finTimeout: 2 }).find((x) => x.tableId === 1)!;
    expect(ofpPrint(flowMod(alone, 4))).not.toContain('cookie=0x500000100000007');
    expect(text).toContain('ADD table:1 priority=101,tcp,metadata=0x7,nw_dst=10.0.0.100,tp_dst=80,tcp_flags=+syn-ack');
    expect(text).toContain('actions=set_field:0x300000007->metadata,learn(table=0,idle_timeout=300,fin_idle_timeout=2,priority=40000,send_flow_rem,cookie=0x200000100000007,'
      + 'eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[],ip_dst=10.0.0.100,NXM_OF_TCP_SRC[],tcp_dst=80,'
      + 'load:0x2000000000b->NXM_OF_ETH_DST[],load:0xa00000b->NXM_OF_IP_DST[],load:0x1f90->NXM_OF_TCP_DST[],output:OXM_OF_METADATA[32..47]),'
      // ... and its replies: from the backend to this client, back to the VIP, out of the client's port.
      + 'learn(table=0,idle_timeout=300,fin_idle_timeout=2,priority=40000,cookie=0x500000100000007,eth_type=0x800,nw_proto=6,ip_src=10.0.0.11,'
      + 'NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],tcp_src=8080,NXM_OF_TCP_DST[]=NXM_OF_TCP_SRC[],load:0xa000064->NXM_OF_IP_SRC[],load:0x50->NXM_OF_TCP_SRC[],output:NXM_OF_IN_PORT[]),'
      + 'set_field:02:00:00:00:00:0b->eth_dst,set_field:10.0.0.11->ip_dst,set_field:8080->tcp_dst,output:3');
  });

  it('learns a TCP connection from its SYN only; other packets with no entry just go to the backend', () => {
    const t1 = serviceFlows(service('nat', 'tcp'), [b7], { profile: 'ovs', finTimeout: 2 }).filter((x) => x.tableId === 1);
    expect(t1.map((f) => f.priority)).toEqual([101, 100]);
    expect(t1[0]!.match).toContainEqual({ kind: 'basic', name: 'tcp_flags', value: 2, mask: 0x12 });
    expect(allActions([t1[1]!]).some(isNicira)).toBe(false);
    // UDP: one rule, every flow learned from its first datagram.
    expect(serviceFlows(service('nat', 'udp'), [b7], { profile: 'ovs', finTimeout: 2 }).filter((x) => x.tableId === 1)).toHaveLength(1);
  });

  it.runIf(hasOfctl)('dsr udp learn rule: no fin timeout, only the MAC rewritten; the bucket on 1.5', () => {
    const s = service('dsr', 'udp');
    const f = serviceFlows(s, [b7], { profile: 'ovs', finTimeout: 2 }).find((x) => x.tableId === 1)!;
    const text = ofpPrint(flowMod(f, 6));
    expect(text).toContain('learn(table=0,idle_timeout=30,priority=40000,send_flow_rem,cookie=0x200000100000007,eth_type=0x800,nw_proto=17,NXM_OF_IP_SRC[],ip_dst=10.0.0.100,NXM_OF_UDP_SRC[],udp_dst=53,'
      + 'load:0x2000000000b->NXM_OF_ETH_DST[],output:OXM_OF_METADATA[32..47]),set_field:02:00:00:00:00:0b->eth_dst,output:3');
    const g = serviceGroup(s, [{ kind: 'forward', backend: 7 }], targetOf, 6, 'ovs');
    const gm: OfMessage = { type: 'group_mod', version: 6, xid: 2, command: 'add', groupType: 'select', groupId: g.groupId, buckets: g.buckets, properties: g.properties };
    expect(ofpPrint(gm)).toContain('bucket=bucket_id:0,actions=set_field:0x7->metadata,resubmit(,1)');
  });
});

describe('slot tables where every switch remembers connections', () => {
  const W = { minMs: 2_000, quietMs: 1_000, maxMs: 30_000 };
  const be = (id: number, state: 'active' | 'draining' = 'active') => ({ id, weight: 1, state });
  it('a pool change moves slots at once: no query window, no pending migration', () => {
    const t = new SlotTable({ slots: 8, windows: W, maxQuerySlots: 2, tracking: 'migrations' });
    t.rebalance([be(1)], 0, undefined, true);
    const c = t.rebalance([be(1), be(2)], 10, undefined, true);
    expect(c.moved).toHaveLength(4);
    expect(t.migrations()).toEqual([]);
    const d = t.rebalance([be(1, 'draining'), be(2)], 20, undefined, true);
    expect(d.moved.map((m) => m.to)).toEqual([2, 2, 2, 2]);
    expect(t.countsFor(1)).toEqual({ owned: 0, leaving: 0, incoming: 0 });
  });
  it('migrations started with windows settle at the next tick once every switch remembers', () => {
    const t = new SlotTable({ slots: 8, windows: W, maxQuerySlots: 2, tracking: 'migrations' });
    t.rebalance([be(1)], 0);
    t.rebalance([be(1), be(2)], 10);
    expect(t.migrations().length).toBe(4); // 2 query + 2 pending
    const c = t.tick(20, true);
    expect(c.moved).toHaveLength(4);
    expect(t.migrations()).toEqual([]);
    expect(t.countsFor(2).owned).toBe(4);
  });
});

describe('parked query slots', () => {
  const serves = (id: number) => id !== 9;
  it('go to the old owner while it can serve, else the new one, else drop; other buckets stay', () => {
    const q = (from: number | null, to: number | null): Bucket => ({ kind: 'query', from, to });
    expect(parkedBucket(q(1, 2), serves)).toEqual({ kind: 'forward', backend: 1 });
    expect(parkedBucket(q(9, 2), serves)).toEqual({ kind: 'forward', backend: 2 });
    expect(parkedBucket(q(null, 2), serves)).toEqual({ kind: 'forward', backend: 2 });
    expect(parkedBucket(q(9, null), serves)).toEqual({ kind: 'drop' });
    expect(parkedBucket({ kind: 'forward', backend: 9 }, serves)).toEqual({ kind: 'forward', backend: 9 });
  });
});
