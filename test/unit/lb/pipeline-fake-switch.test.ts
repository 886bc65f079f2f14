// The load balancer's pipeline in both switch profiles, installed into the fake switch's flow
// table through the codec (encoded, then decoded, as a switch receives it), and judged by where
// packets go: new connections to their slot's owner (nat rewrites IP and port, dsr only the MAC),
// connections staying on their backend when their slot moves (the switch's learned entry in `ovs`,
// the controller's pin in `openflow13`), replies back from the VIP, ARP and monitor traffic to the
// controller. No Open vSwitch needed.
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../openflow/messages.js';
import type { MessageOf, WireVersion } from '../../../openflow/types.js';
import { OFPP } from '../../../openflow/types.js';
import type { SwitchProfile } from '../../../controller/capabilities.js';
import type { DesiredFlow, DesiredGroup } from '../../../controller/desired.js';
import { groupIdFor, markerMac, pinCookie, replyCookie } from '../../../apps/lb/cookies.js';
import { SERVICE_DEFAULTS, type Service } from '../../../apps/lb/model.js';
import {
  LEARN_TABLE, monitorFlows, pinFlowMod, repointPinsFlowMod, serviceFlows, serviceGroup, type BackendTarget,
} from '../../../apps/lb/pipeline.js';
import type { Bucket } from '../../../apps/lb/slot-table.js';
import { FlowTable, TCP, arpReply, arpRequest, tcpPacket, udpPacket, type Packet, type Verdict } from '../../../tools/fake-switch/index.js';

const VIP = '10.0.0.100';
const CLIENT_PORT = 1;
const FIN_TIMEOUT = 2;

function service(mode: 'nat' | 'dsr', proto: 'tcp' | 'udp' = 'tcp'): Service {
  return { ...SERVICE_DEFAULTS, name: 's', vip: VIP, port: proto === 'tcp' ? 80 : 53, proto, mode, slots: 4, id: 1, vmac: '02:48:46:00:00:01', createdAt: 0 };
}
const B7: BackendTarget = { id: 7, ip: '10.0.0.11', l4port: 8080, mac: '02:00:00:00:00:0b', port: 3 };
const B8: BackendTarget = { id: 8, ip: '10.0.0.12', l4port: 8080, mac: '02:00:00:00:00:0c', port: 4 };
const targets = new Map([[7, B7], [8, B8]]);
const targetOf = (id: number) => targets.get(id);
const fwd = (backend: number): Bucket => ({ kind: 'forward', backend });

/** One switch of a profile, with the service's pipeline installed as the reconciler would. */
class Rig {
  now = 0;
  readonly table = new FlowTable({ clock: () => this.now });
  private xid = 1;

  constructor(readonly svc: Service, readonly profile: SwitchProfile, buckets: Bucket[], o: { shared?: boolean; version?: WireVersion } = {}) {
    const version = o.version ?? 4;
    this.group('add', serviceGroup(svc, buckets, targetOf, version, profile), version);
    const flows = serviceFlows(svc, [B7, B8], { profile, finTimeout: FIN_TIMEOUT, sharedBackend: () => o.shared ?? false });
    for (const f of flows) this.flow(f, version);
  }

  /** Everything goes through the codec: what the fake applies is what a switch would decode. */
  send(m: MessageOf<'flow_mod'> | MessageOf<'group_mod'>): void {
    const r = this.table.applyBytes(encodeMessage(m));
    if (!r.ok) throw new Error(`switch refused ${m.type}: ${r.reason}`);
  }

  flow(f: DesiredFlow, version: WireVersion = 4): void {
    this.send({
      type: 'flow_mod', version, xid: this.xid++, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'add',
      idleTimeout: f.idleTimeout ?? 0, hardTimeout: f.hardTimeout ?? 0, priority: f.priority, bufferId: 0xffffffff,
      outPort: OFPP.ANY, outGroup: 0xffffffff, flags: f.flags ?? 0, match: f.match, instructions: f.instructions,
    });
  }

  group(command: 'add' | 'modify', g: DesiredGroup, version: WireVersion = 4): void {
    this.send({ type: 'group_mod', version, xid: this.xid++, command, groupType: g.groupType, groupId: g.groupId, buckets: g.buckets, ...(g.properties ? { properties: g.properties } : {}) });
  }

  /** The slot table changed: the reconciler modifies the group. */
  buckets(buckets: Bucket[]): void {
    this.group('modify', serviceGroup(this.svc, buckets, targetOf, 4, this.profile));
  }

  pin(m: Omit<MessageOf<'flow_mod'>, 'version' | 'xid'>): void {
    this.send({ ...m, version: 4, xid: this.xid++ });
  }

  slotOf(p: Packet): number {
    return this.table.bucketFor(groupIdFor(this.svc.id), p);
  }

  go(p: Packet): Verdict {
    return this.table.trace(p);
  }
}

const conn = (srcPort: number, flags: number = TCP.SYN, svc: Service = service('nat')): Packet => (svc.proto === 'tcp'
  ? tcpPacket({ inPort: CLIENT_PORT, ethDst: svc.vmac, src: '192.168.1.5', dst: VIP, srcPort, dstPort: svc.port, flags })
  : udpPacket({ inPort: CLIENT_PORT, ethDst: svc.vmac, src: '192.168.1.5', dst: VIP, srcPort, dstPort: svc.port }));

/** A client port whose flows hash to `slot`. */
function portInSlot(rig: Rig, slot: number, from = 30000): number {
  for (let p = from; p < from + 10_000; p++) if (rig.slotOf(conn(p, TCP.SYN, rig.svc)) === slot) return p;
  throw new Error(`no client port lands in slot ${slot}`);
}

/** Where one packet went, in a line: port, MAC, IP, L4 port. */
function delivered(v: Verdict, proto: 'tcp' | 'udp' = 'tcp'): [number, string, string, number][] {
  return v.outputs.map((o) => [o.port, String(o.packet.eth_dst), String(o.packet.ipv4_dst), Number(o.packet[proto === 'tcp' ? 'tcp_dst' : 'udp_dst'])]);
}
const atB7 = (mode: 'nat' | 'dsr'): [number, string, string, number] => (mode === 'nat' ? [3, B7.mac, B7.ip, 8080] : [3, B7.mac, VIP, 80]);
const atB8 = (mode: 'nat' | 'dsr'): [number, string, string, number] => (mode === 'nat' ? [4, B8.mac, B8.ip, 8080] : [4, B8.mac, VIP, 80]);

const PROFILES = ['ovs', 'openflow13'] as const;

describe.each(PROFILES)('%s profile: new connections', (profile) => {
  it.each(['nat', 'dsr'] as const)('%s: a SYN goes to its slot\'s owner, rewritten for the mode', (mode) => {
    const rig = new Rig(service(mode), profile, [fwd(7), fwd(8), fwd(7), fwd(8)]);
    for (let i = 0; i < 40; i++) {
      const p = conn(20000 + i, TCP.SYN, rig.svc);
      const v = rig.go(p);
      expect(delivered(v)).toEqual([rig.slotOf(p) % 2 === 0 ? atB7(mode) : atB8(mode)]);
      expect(v.packetIns).toEqual([]);
      expect(v.unsupported).toEqual([]);
      // Only the switch that remembers connections learns one, with the backend's pin cookie.
      const owner = rig.slotOf(p) % 2 === 0 ? 7 : 8;
      expect(v.learned.map((e) => e.cookie)).toEqual(profile === 'ovs' ? [pinCookie(1, owner)] : []);
    }
  });

  it('an owner this switch cannot reach yet: its slot sends packets to the controller, marked', () => {
    const rig = new Rig(service('nat'), profile, [fwd(9), fwd(7), fwd(7), fwd(7)]);
    const p = conn(portInSlot(rig, 0));
    const v = rig.go(p);
    expect(v.outputs).toEqual([]);
    expect(v.packetIns.map((x) => x.packet.eth_dst)).toEqual([markerMac(1, 0)]);
  });
});

describe('ovs profile: the switch remembers every connection', () => {
  it.each(['nat', 'dsr'] as const)('%s: a connection stays on its backend after its slot moves; new ones go to the new owner', (mode) => {
    const rig = new Rig(service(mode), 'ovs', [fwd(7), fwd(7), fwd(8), fwd(8)]);
    const port = portInSlot(rig, 0);
    expect(delivered(rig.go(conn(port)))).toEqual([atB7(mode)]);
    const learned = rig.table.flows(0).filter((e) => e.learned);
    expect(learned).toHaveLength(1);
    expect(learned[0]).toMatchObject({ priority: 40_000, idleTimeout: 300, cookie: pinCookie(1, 7) });

    // Slot 0 moves to backend 8 at once (ovs renders no query window).
    rig.buckets([fwd(8), fwd(7), fwd(8), fwd(8)]);
    const v = rig.go(conn(port, TCP.ACK));
    expect(delivered(v)).toEqual([atB7(mode)]);
    expect(v.path[0]).toMatchObject({ priority: 40_000, cookie: pinCookie(1, 7) });
    // A new connection in the same slot goes to 8.
    const other = portInSlot(rig, 0, port + 1);
    expect(delivered(rig.go(conn(other)))).toEqual([atB8(mode)]);
    // A query bucket is its new owner's bucket here: same as forward to 8.
    rig.buckets([{ kind: 'query', from: 7, to: 8 }, fwd(7), fwd(8), fwd(8)]);
    expect(delivered(rig.go(conn(portInSlot(rig, 0, other + 1))))).toEqual([atB8(mode)]);
    expect(delivered(rig.go(conn(port, TCP.ACK)))).toEqual([atB7(mode)]);
  });

  it('learns TCP from the SYN only: a straggler of an ended connection goes to the owner without an entry', () => {
    const rig = new Rig(service('nat'), 'ovs', [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const port = portInSlot(rig, 1);
    const v = rig.go(conn(port, TCP.ACK));
    expect(delivered(v)).toEqual([atB8('nat')]);
    expect(v.learned).toEqual([]);
    expect(v.path.map((x) => [x.tableId, x.priority])).toEqual([[0, 20_000], [LEARN_TABLE, 100]]);
  });

  it('a learned TCP entry ends fin_timeout seconds after FIN, or after its idle timeout', () => {
    const rig = new Rig(service('nat'), 'ovs', [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const a = portInSlot(rig, 0);
    const b = portInSlot(rig, 2);
    rig.go(conn(a));
    rig.go(conn(b));
    rig.now += 1_000;
    rig.go(conn(a, TCP.FIN | TCP.ACK));
    rig.now += FIN_TIMEOUT * 1000;
    const gone = rig.table.expire();
    expect(gone.map((r) => r.reason)).toEqual(['idle_timeout']);
    expect(gone[0].entry.match).toContainEqual({ kind: 'basic', name: 'tcp_src', value: a });
    rig.now += 300_000;
    expect(rig.table.expire().map((r) => r.reason)).toEqual(['idle_timeout']);
  });

  it('udp: every flow is learned from its first datagram, and ends after the udp idle timeout', () => {
    const svc = service('nat', 'udp');
    const rig = new Rig(svc, 'ovs', [fwd(7), fwd(7), fwd(8), fwd(8)], { version: 6 });
    const port = portInSlot(rig, 0);
    const v = rig.go(conn(port, 0, svc));
    expect(delivered(v, 'udp')).toEqual([[3, B7.mac, B7.ip, 8080]]);
    expect(v.learned).toHaveLength(1);
    rig.buckets([fwd(8), fwd(8), fwd(8), fwd(8)]);
    expect(delivered(rig.go(conn(port, 0, svc)), 'udp')).toEqual([[3, B7.mac, B7.ip, 8080]]);
    rig.now += 30_000;
    expect(rig.table.expire()).toHaveLength(1);
    expect(delivered(rig.go(conn(port, 0, svc)), 'udp')).toEqual([[4, B8.mac, B8.ip, 8080]]);
  });

  it('nat, backend shared with another service: the reply entry learned with the connection answers from this VIP, out of the client\'s port', () => {
    const rig = new Rig(service('nat'), 'ovs', [fwd(7), fwd(7), fwd(7), fwd(7)], { shared: true });
    const v = rig.go(conn(41000));
    expect(v.learned.map((e) => e.cookie)).toEqual([pinCookie(1, 7), replyCookie(1, 7)]);
    const reply = tcpPacket({ inPort: B7.port, ethDst: '02:00:00:00:99:01', src: B7.ip, dst: '192.168.1.5', srcPort: 8080, dstPort: 41000, flags: TCP.SYN | TCP.ACK });
    const r = rig.go(reply);
    expect(r.outputs.map((o) => [o.port, o.packet.ipv4_src, o.packet.tcp_src, o.packet.ipv4_dst])).toEqual([[CLIENT_PORT, VIP, 80, '192.168.1.5']]);
    expect(r.path[0].cookie).toBe(replyCookie(1, 7));
  });

  it('a query bucket with no new owner drops', () => {
    const rig = new Rig(service('nat'), 'ovs', [{ kind: 'query', from: 7, to: null }, fwd(7), fwd(7), fwd(7)]);
    const v = rig.go(conn(portInSlot(rig, 0)));
    expect(v.outputs).toEqual([]);
    expect(v.packetIns).toEqual([]);
  });
});

describe('openflow13 profile: query slots and pins', () => {
  it.each(['nat', 'dsr'] as const)('%s: a query slot sends new flows to the controller; the pin it installs takes over', (mode) => {
    const rig = new Rig(service(mode), 'openflow13', [fwd(7), fwd(7), fwd(8), fwd(8)]);
    const old = portInSlot(rig, 0);
    expect(delivered(rig.go(conn(old)))).toEqual([atB7(mode)]);
    // Slot 0 starts moving from 7 to 8: its bucket now queries the controller.
    rig.buckets([{ kind: 'query', from: 7, to: 8 }, fwd(7), fwd(8), fwd(8)]);
    const q = rig.go(conn(old, TCP.ACK));
    expect(q.outputs).toEqual([]);
    expect(q.packetIns).toHaveLength(1);
    expect(q.packetIns[0]).toMatchObject({ reason: 'group', packet: { eth_dst: markerMac(1, 0), ipv4_dst: VIP, tcp_src: old } });
    // The controller knows this flow is 7's (an established connection) and a new one is 8's.
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: old }, B7));
    const fresh = portInSlot(rig, 0, old + 1);
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: fresh }, B8));
    expect(delivered(rig.go(conn(old, TCP.ACK)))).toEqual([atB7(mode)]);
    expect(delivered(rig.go(conn(fresh)))).toEqual([atB8(mode)]);
    expect(rig.go(conn(old, TCP.ACK)).path[0]).toMatchObject({ priority: 40_000, cookie: pinCookie(1, 7) });
    // The migration ends: slot 0 forwards to 8, the pin still holds 7's connection.
    rig.buckets([fwd(8), fwd(7), fwd(8), fwd(8)]);
    expect(delivered(rig.go(conn(old, TCP.ACK)))).toEqual([atB7(mode)]);
  });

  it('an idle pin expires with a flow-removed notice, and the flow falls back to its slot', () => {
    const rig = new Rig(service('nat'), 'openflow13', [fwd(8), fwd(8), fwd(8), fwd(8)]);
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: 45000 }, B7));
    expect(delivered(rig.go(conn(45000, TCP.ACK)))).toEqual([atB7('nat')]);
    rig.now += 299_000;
    expect(rig.table.expire()).toEqual([]);
    rig.go(conn(45000, TCP.ACK));
    rig.now += 300_000;
    const gone = rig.table.expire();
    expect(gone.map((r) => [r.reason, r.entry.cookie, r.entry.flags & 1])).toEqual([['idle_timeout', pinCookie(1, 7), 1]]);
    expect(delivered(rig.go(conn(45000, TCP.ACK)))).toEqual([atB8('nat')]);
  });

  it('a backend that moved to another port: one modify by cookie re-points all its pins, no other backend\'s', () => {
    const rig = new Rig(service('nat'), 'openflow13', [fwd(8), fwd(8), fwd(8), fwd(8)]);
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: 45000 }, B7));
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: 45001 }, B7));
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: 45002 }, B8));
    rig.pin(repointPinsFlowMod(rig.svc, { ...B7, port: 6 }));
    expect(delivered(rig.go(conn(45000, TCP.ACK)))).toEqual([[6, B7.mac, B7.ip, 8080]]);
    expect(delivered(rig.go(conn(45001, TCP.ACK)))).toEqual([[6, B7.mac, B7.ip, 8080]]);
    expect(delivered(rig.go(conn(45002, TCP.ACK)))).toEqual([atB8('nat')]);
  });

  it('pins made for an ovs switch carry fin_timeout: a FIN shortens them', () => {
    const rig = new Rig(service('nat'), 'ovs', [fwd(8), fwd(8), fwd(8), fwd(8)]);
    rig.pin(pinFlowMod(rig.svc, { srcIp: '192.168.1.5', srcPort: 45000 }, B7, { finTimeout: FIN_TIMEOUT }));
    rig.go(conn(45000, TCP.FIN | TCP.ACK));
    expect(rig.table.flows(0).find((e) => e.cookie === pinCookie(1, 7))?.idleTimeout).toBe(FIN_TIMEOUT);
  });
});

describe.each(PROFILES)('%s profile: replies, ARP and the monitor', (profile) => {
  const monitor = { ip: '10.0.0.250', mac: '02:00:00:00:00:fa' };

  it('nat: a backend\'s reply leaves from the VIP and service port, to ordinary forwarding', () => {
    const rig = new Rig(service('nat'), profile, [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const reply = tcpPacket({ inPort: B8.port, ethDst: '02:00:00:00:99:01', src: B8.ip, dst: '192.168.1.5', srcPort: 8080, dstPort: 41000, flags: TCP.ACK });
    expect(rig.go(reply).outputs.map((o) => [o.port, o.packet.ipv4_src, o.packet.tcp_src])).toEqual([[OFPP.NORMAL, VIP, 80]]);
  });

  it('dsr: no reverse rule (the backend answers from the VIP itself)', () => {
    const rig = new Rig(service('dsr'), profile, [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const reply = tcpPacket({ inPort: B8.port, ethDst: '02:00:00:00:99:01', src: VIP, dst: '192.168.1.5', srcPort: 80, dstPort: 41000, flags: TCP.ACK });
    expect(rig.go(reply)).toMatchObject({ outputs: [], misses: [0] });
  });

  it('ARP for the VIP goes to the controller; replies to the service MAC go to it and on', () => {
    const rig = new Rig(service('nat'), profile, [fwd(7), fwd(8), fwd(7), fwd(8)]);
    const ask = rig.go(arpRequest({ inPort: CLIENT_PORT, senderMac: '02:00:00:00:99:01', senderIp: '192.168.1.5', targetIp: VIP }));
    expect(ask.outputs).toEqual([]);
    expect(ask.packetIns.map((p) => p.packet.arp_tpa)).toEqual([VIP]);
    const ans = rig.go(arpReply({ inPort: B7.port, senderMac: B7.mac, senderIp: B7.ip, targetMac: rig.svc.vmac, targetIp: VIP }));
    expect(ans.packetIns).toHaveLength(1);
    expect(ans.outputs.map((o) => o.port)).toEqual([OFPP.NORMAL]);
    // ARP for anyone else is not the load balancer's business.
    expect(rig.go(arpRequest({ inPort: CLIENT_PORT, senderMac: '02:00:00:00:99:01', senderIp: '192.168.1.5', targetIp: '10.0.0.1' })).packetIns).toEqual([]);
  });

  it('monitor: ARP for its address and a nat backend\'s answers to its probes reach the controller unrewritten', () => {
    const rig = new Rig(service('nat'), profile, [fwd(7), fwd(8), fwd(7), fwd(8)]);
    for (const f of monitorFlows(monitor)) rig.flow(f);
    const ask = rig.go(arpRequest({ inPort: B7.port, senderMac: B7.mac, senderIp: B7.ip, targetIp: monitor.ip }));
    expect(ask.packetIns).toHaveLength(1);
    const answer = tcpPacket({ inPort: B7.port, ethDst: monitor.mac, src: B7.ip, dst: monitor.ip, srcPort: 8080, dstPort: 61000, flags: TCP.SYN | TCP.ACK });
    const v = rig.go(answer);
    expect(v.outputs).toEqual([]);
    expect(v.packetIns.map((p) => [p.packet.ipv4_src, p.packet.tcp_src])).toEqual([[B7.ip, 8080]]);
  });
});
