// The fake switch's verdicts against real Open vSwitch: the same encoded flow-mods and group-mods
// go to a lab bridge and into the fake's table, and for a few packets `ofproto/trace` (the bridge's
// own answer to "where does this packet go") and the fake must agree on output ports and rewritten
// fields. Open vSwitch's select groups hash into the datapath (dp_hash), so each trace names a
// dp_hash and the fake takes the bucket the bridge reports for it. Learned connection entries are
// made for real (a packet-out through the pipeline), since a trace has no side effects.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfFramer } from '../../openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../openflow/messages.js';
import type { MessageOf, OfMessage } from '../../openflow/types.js';
import { OFPP } from '../../openflow/types.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { groupIdFor, markerMac, pinCookie } from '../../apps/lb/cookies.js';
import { SERVICE_DEFAULTS, type Service } from '../../apps/lb/model.js';
import { pinFlowMod, serviceFlows, serviceGroup, type BackendTarget } from '../../apps/lb/pipeline.js';
import type { Bucket } from '../../apps/lb/slot-table.js';
import type { SwitchProfile } from '../../controller/capabilities.js';
import { FlowTable, TCP, arpRequest, frameOfPacket, helloBytes, tcpPacket, type Packet } from '../../tools/fake-switch/index.js';

const VIP = '10.0.0.100';
const SVC: Service = { ...SERVICE_DEFAULTS, name: 's', vip: VIP, port: 80, proto: 'tcp', mode: 'nat', slots: 4, id: 1, vmac: '02:48:46:00:00:01', createdAt: 0 };
const B7: BackendTarget = { id: 7, ip: '10.0.0.11', l4port: 8080, mac: '02:00:00:00:00:0b', port: 3 };
const B8: BackendTarget = { id: 8, ip: '10.0.0.12', l4port: 8080, mac: '02:00:00:00:00:0c', port: 4 };
const targetOf = (id: number) => (id === 7 ? B7 : id === 8 ? B8 : undefined);
const fwd = (backend: number): Bucket => ({ kind: 'forward', backend });

let lab: Lab;
let sock: net.Socket;
const got: OfMessage[] = [];
let xid = 100;
/** Open vSwitch datapath port → OpenFlow port. */
const ofportOf = new Map<number, number>();

/** The bucket the fake takes (the one the bridge reported for the traced dp_hash). */
let chosen = 0;
let fake: FlowTable;

beforeAll(async () => {
  lab = await startLab({
    bridges: [{ name: 'br0', listenPort: 6634, protocols: ['OpenFlow13'], datapathId: '00000000000000f5', controller: null }],
    hosts: [{ name: 'c', bridge: 'br0', ip: '192.168.1.5/16', ofport: 1 }, { name: 'b7', bridge: 'br0', ip: '10.0.0.11/8', ofport: 3 }, { name: 'b8', bridge: 'br0', ip: '10.0.0.12/8', ofport: 4 }],
  });
  sock = net.connect({ host: '127.0.0.1', port: lab.exposedListenPort('br0') ?? 0 });
  await new Promise((r) => sock.once('connect', r));
  const framer = new OfFramer({ maxBuffered: 1 << 20 });
  sock.on('data', (chunk: Buffer) => {
    for (const ev of framer.push(chunk)) {
      const r = ev.ok ? decodeMessage(ev.frame) : null;
      if (r?.ok) got.push(r.value);
    }
  });
  sock.write(helloBytes(4, [4]));
  for (const m of (await lab.appctl(['dpif/show'])).matchAll(/ (\d+)\/(\d+): /g)) ofportOf.set(Number(m[2]), Number(m[1]));
}, 60_000);

afterAll(async () => {
  sock?.destroy();
  await lab?.stop();
});

/** Sends to the bridge and to the fake the same bytes; the bridge must accept them all. */
async function both(msgs: (MessageOf<'flow_mod'> | MessageOf<'group_mod'> | MessageOf<'packet_out'>)[]): Promise<void> {
  const from = got.length;
  for (const m of msgs) {
    const bytes = encodeMessage({ ...m, xid: xid++ });
    sock.write(bytes);
    if (m.type !== 'packet_out') expect(fake.applyBytes(bytes).ok).toBe(true);
  }
  const barrier = xid++;
  sock.write(encodeMessage({ type: 'barrier_request', version: 4, xid: barrier }));
  const deadline = Date.now() + 5000;
  while (!got.slice(from).some((m) => m.type === 'barrier_reply' && m.xid === barrier)) {
    if (Date.now() > deadline) throw new Error('no barrier reply from the bridge');
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(got.slice(from).filter((m) => m.type === 'error')).toEqual([]);
}

async function install(profile: SwitchProfile, buckets: Bucket[]): Promise<void> {
  await lab.ofctl(['-O', 'OpenFlow13', 'del-flows', 'br0']);
  await lab.ofctl(['-O', 'OpenFlow13', 'del-groups', 'br0']);
  fake = new FlowTable({ selectBucket: () => chosen });
  const g = serviceGroup(SVC, buckets, targetOf, 4, profile);
  await both([
    { type: 'group_mod', version: 4, xid: 0, command: 'add', groupType: 'select', groupId: g.groupId, buckets: g.buckets },
    ...serviceFlows(SVC, [B7, B8], { profile, finTimeout: 2 }).map((f): MessageOf<'flow_mod'> => ({
      type: 'flow_mod', version: 4, xid: 0, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'add', idleTimeout: 0, hardTimeout: 0,
      priority: f.priority, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: f.flags ?? 0, match: f.match, instructions: f.instructions,
    })),
  ]);
}

async function moveSlots(profile: SwitchProfile, buckets: Bucket[]): Promise<void> {
  const g = serviceGroup(SVC, buckets, targetOf, 4, profile);
  await both([{ type: 'group_mod', version: 4, xid: 0, command: 'modify', groupType: 'select', groupId: groupIdFor(SVC.id), buckets: g.buckets }]);
}

const conn = (srcPort: number, flags: number): Packet => tcpPacket({ inPort: 1, ethDst: SVC.vmac, src: '192.168.1.5', dst: VIP, srcPort, dstPort: 80, flags });

/** The packet in ofproto/trace's flow syntax. */
function flowText(p: Packet, dpHash?: number): string {
  const hash = dpHash === undefined ? '' : `dp_hash=0x${dpHash.toString(16)},`;
  if (p.eth_type === 0x0806) return `${hash}in_port=${p.in_port},arp,dl_src=${p.eth_src},dl_dst=${p.eth_dst},arp_op=${p.arp_op},arp_spa=${p.arp_spa},arp_tpa=${p.arp_tpa},arp_sha=${p.arp_sha}`;
  return `${hash}in_port=${p.in_port},tcp,dl_src=${p.eth_src},dl_dst=${p.eth_dst},nw_src=${p.ipv4_src},nw_dst=${p.ipv4_dst},tp_src=${p.tcp_src},tp_dst=${p.tcp_dst},tcp_flags=0x${Number(p.tcp_flags).toString(16)}`;
}

/** Where a packet went, in one comparable shape: each output or packet-in with the fields it carries. */
type Delivery = [string, string, string, string, number, number];
const FIELDS = ['eth_dst', 'ipv4_src', 'ipv4_dst', 'tcp_src', 'tcp_dst'] as const;
const delivery = (to: string, p: Packet): Delivery => [to, String(p.eth_dst), String(p.ipv4_src), String(p.ipv4_dst), Number(p.tcp_src), Number(p.tcp_dst)];

/** Open vSwitch's verdict, read from the trace's datapath actions; and the bucket its group took. */
async function ovsVerdict(p: Packet, dpHash?: number): Promise<{ deliveries: Delivery[]; bucket: number | null; text: string }> {
  const text = await lab.appctl(['ofproto/trace', 'br0', flowText(p, dpHash)]);
  const line = /^Datapath actions: (.*)$/m.exec(text)?.[1] ?? '';
  const bucket = /using bucket (\d+)/.exec(text);
  // Split the actions at top-level commas.
  const actions: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of line) {
    if (ch === ',' && depth === 0) {
      actions.push(cur);
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  if (cur) actions.push(cur);
  const now: Packet = { ...p };
  const names: Record<string, Record<string, (typeof FIELDS)[number] | 'eth_src'>> = {
    eth: { dst: 'eth_dst', src: 'eth_src' }, ipv4: { src: 'ipv4_src', dst: 'ipv4_dst' }, tcp: { src: 'tcp_src', dst: 'tcp_dst' },
  };
  const deliveries: Delivery[] = [];
  for (const a of actions) {
    const set = /^set\((eth|ipv4|tcp)\((.*)\)\)$/.exec(a);
    if (set) {
      for (const kv of set[2].split(',')) {
        const [k, v] = kv.split('=');
        const name = names[set[1]][k];
        if (name) now[name] = set[1] === 'tcp' ? Number(v.split('/')[0]) : v.split('/')[0];
      }
    } else if (/^\d+$/.test(a)) {
      deliveries.push(delivery(`port ${ofportOf.get(Number(a))}`, now));
    } else if (a.startsWith('userspace(') && a.includes('controller(')) {
      deliveries.push(delivery('controller', now));
    } else if (a !== 'drop') {
      throw new Error(`trace action not understood: ${a}\n${text}`);
    }
  }
  return { deliveries, bucket: bucket ? Number(bucket[1]) : null, text };
}

function fakeVerdict(p: Packet): Delivery[] {
  const v = fake.trace(p);
  expect(v.unsupported).toEqual([]);
  return [...v.outputs.map((o) => delivery(`port ${o.port}`, o.packet)), ...v.packetIns.map((x) => delivery('controller', x.packet))];
}

/** Traces a new connection in both with dp_hash `h`; returns the bucket the bridge took. */
async function agreeOnNew(p: Packet, h: number): Promise<number> {
  const ovs = await ovsVerdict(p, h);
  expect(ovs.bucket, ovs.text).not.toBeNull();
  chosen = ovs.bucket ?? 0;
  expect(fakeVerdict(p)).toEqual(ovs.deliveries);
  return chosen;
}

describe('fake switch and Open vSwitch agree', () => {
  it('ovs profile: new connections per bucket, the learned entry, and a connection held after its slot moves', async () => {
    await install('ovs', [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const buckets = new Set<number>();
    for (let h = 1; h <= 8; h++) buckets.add(await agreeOnNew(conn(40000 + h, TCP.SYN), h));
    expect(buckets.size).toBeGreaterThan(1);

    // A connection opens for real: the bridge learns its entry; the fake learns from the same bucket.
    const syn = conn(41000, TCP.SYN);
    await both([{ type: 'packet_out', version: 4, xid: 0, bufferId: 0xffffffff, inPort: 1, actions: [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }], data: frameOfPacket(syn) }]);
    const dump = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0', 'cookie=0x0200000000000000/0xff00000000000000']);
    const learnedLine = dump.split('\n').find((l) => l.includes('tp_src=41000'));
    expect(learnedLine, dump).toBeDefined();
    const owner = learnedLine!.includes(`cookie=0x${pinCookie(1, 7).toString(16)}`) ? 7 : 8;
    chosen = owner === 7 ? 0 : 1;
    const learned = fake.trace(syn).learned;
    expect(learned).toHaveLength(1);
    expect(learnedLine).toContain(`cookie=0x${learned[0].cookie.toString(16)},`);
    expect(learnedLine).toContain(`idle_timeout=${learned[0].idleTimeout}, send_flow_rem priority=${learned[0].priority},tcp,nw_src=192.168.1.5,nw_dst=${VIP},tp_src=41000,tp_dst=80 `);

    // Every slot moves to the other backend: the connection stays, a new one goes to the new owner.
    const other = owner === 7 ? 8 : 7;
    await moveSlots('ovs', [fwd(other), fwd(other), fwd(other), fwd(other)]);
    const ack = conn(41000, TCP.ACK);
    const held = await ovsVerdict(ack);
    expect(held.deliveries).toEqual([delivery(`port ${owner === 7 ? 3 : 4}`, { ...ack, eth_dst: targetOf(owner)!.mac, ipv4_dst: targetOf(owner)!.ip, tcp_dst: 8080 })]);
    expect(fakeVerdict(ack)).toEqual(held.deliveries);
    await agreeOnNew(conn(42000, TCP.SYN), 3);
  });

  it('openflow13 profile: forward and query buckets, a pin, ARP for the VIP', async () => {
    await install('openflow13', [{ kind: 'query', from: 7, to: 8 }, fwd(7), fwd(8), fwd(8)]);
    const seen = new Set<string>();
    for (let h = 1; h <= 8; h++) {
      const p = conn(43000 + h, TCP.SYN);
      await agreeOnNew(p, h);
      seen.add(fakeVerdict(p)[0]?.[0] ?? 'none');
    }
    expect(seen.has('controller')).toBe(true);
    // The query bucket's packet-in carries the marker.
    chosen = 0;
    expect(fakeVerdict(conn(43100, TCP.SYN))[0]?.[1]).toBe(markerMac(1, 0));
    // The controller pins a flow to 7: both send it there, whatever its slot says.
    const pin = pinFlowMod(SVC, { srcIp: '192.168.1.5', srcPort: 43100 }, B7);
    await both([{ ...pin, version: 4, xid: 0 }]);
    const ack = conn(43100, TCP.ACK);
    const ovs = await ovsVerdict(ack);
    expect(ovs.deliveries).toEqual([delivery('port 3', { ...ack, eth_dst: B7.mac, ipv4_dst: B7.ip, tcp_dst: 8080 })]);
    expect(fakeVerdict(ack)).toEqual(ovs.deliveries);
    const arp = arpRequest({ inPort: 1, senderMac: '02:00:00:00:99:01', senderIp: '192.168.1.5', targetIp: VIP });
    const a = await ovsVerdict(arp);
    expect(a.deliveries.map((d) => d[0])).toEqual(['controller']);
    expect(fake.trace(arp).packetIns).toHaveLength(1);
    expect(fake.trace(arp).outputs).toEqual([]);
  });
});
