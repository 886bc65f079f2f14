// The core and a switch with nothing in between but the codec: the core's effects (desired
// pipeline, messages, query answers) are applied to the fake switch's flow table
// (tools/fake-switch), and packets traced through it go where the core decided (Faucet's
// fakeoftable style). openflow13 profile, every slot a query slot: the first packet of a
// connection goes to the controller, its answer pins the connection, the next packet goes straight.
import { describe, expect, it } from 'vitest';
import { parseMarkerMac, pinCookie, serviceRulesMatch } from '../../../../apps/lb/cookies.js';
import type { Effects } from '../../../../apps/lb/core/effects.js';
import { MONITOR_OWNER, type QueryAnswer } from '../../../../apps/lb/core/lb-core.js';
import { decodeMessage, encodeMessage } from '../../../../openflow/messages.js';
import { OFPG, OFPP, OFPTT_ALL, OFP_NO_BUFFER, type OfMessage } from '../../../../openflow/types.js';
import {
  FlowTable, TCP, arpRequest, frameOfPacket, packetOfFrame, tcpPacket, type Packet, type Verdict,
} from '../../../../tools/fake-switch/index.js';
import { Rig, SW1 } from './fixture.js';

const VIP = '10.0.0.100';
const B = { ip: '10.0.0.11', mac: '02:00:00:00:00:0b', port: 3 };

/** A fake switch that takes the core's effects the way the shell and the reconciler would. */
class Wire {
  readonly table: FlowTable;
  readonly packetOuts: Verdict[] = [];
  private xid = 1;
  private readonly groups = new Set<number>();

  constructor(private readonly rig: Rig) {
    this.table = new FlowTable({ clock: () => rig.now });
  }

  private apply(m: OfMessage): void {
    const r = this.table.applyBytes(encodeMessage(m));
    if (!r.ok) throw new Error(`switch refused ${m.type}: ${r.reason}`);
  }

  /** Desired state replaces the owner's flows and groups; messages go through the codec. */
  take(fx: Effects): void {
    for (const a of fx.switches) {
      if (a.dpid !== SW1.dpid) continue;
      if (a.kind === 'desired') {
        const id = a.owner === MONITOR_OWNER ? 0 : Number(a.owner.slice(3));
        const space = serviceRulesMatch(id);
        // Groups first: the flows point at them.
        for (const g of a.desired.groups) {
          const command = this.groups.has(g.groupId) ? 'modify' : 'add';
          this.groups.add(g.groupId);
          this.apply({ type: 'group_mod', version: 4, xid: this.xid++, command, groupType: g.groupType, groupId: g.groupId, buckets: g.buckets });
        }
        this.apply({
          type: 'flow_mod', version: 4, xid: this.xid++, cookie: space.cookie, cookieMask: space.mask, tableId: OFPTT_ALL, command: 'delete',
          idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
        });
        for (const f of a.desired.flows) {
          this.apply({
            type: 'flow_mod', version: 4, xid: this.xid++, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'add',
            idleTimeout: f.idleTimeout ?? 0, hardTimeout: f.hardTimeout ?? 0, priority: f.priority, bufferId: OFP_NO_BUFFER,
            outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: f.flags ?? 0, match: f.match, instructions: f.instructions,
          });
        }
      } else if (a.kind === 'send') this.message({ ...a.msg, version: 4, xid: this.xid++ } as OfMessage);
    }
  }

  private message(m: OfMessage): void {
    if (m.type === 'packet_out') this.packetOuts.push(this.table.packetOut(packetOfFrame(m.data, m.inPort), m.actions));
    else this.apply(m);
  }

  /** What the shell sends for a query answer, written into bytes and read back as the switch would. */
  answer(a: QueryAnswer): void {
    if (a.kind === 'messages') {
      for (const m of a.messages) this.message({ ...m, version: 4, xid: this.xid++ } as OfMessage);
      return;
    }
    expect(a.kind).toBe('prebuilt');
    const parts: [number, (b: Buffer, at: number, xid: number) => void][] = a.install ? [[a.pinLength, a.fillPin], [a.outLength, a.fillOut]] : [[a.outLength, a.fillOut]];
    for (const [len, fill] of parts) {
      const buf = Buffer.alloc(len);
      fill(buf, 0, this.xid++);
      const d = decodeMessage(buf);
      if (!d.ok) throw new Error('undecodable answer');
      this.message(d.value);
    }
  }

  /** A packet arrives: traced, and each packet-in handed to the core (query slots first, as the shell does). */
  arrive(p: Packet): Verdict {
    const v = this.table.trace(p);
    for (const pin of v.packetIns) {
      const frame = frameOfPacket(pin.packet);
      const inPort = Number(pin.packet.in_port);
      const a = this.rig.core.queryPacket(SW1.dpidHex, 4, frame, inPort, this.rig.now);
      if (a.kind === 'not_query') this.take(this.rig.core.packetIn(SW1.dpidHex, frame, inPort, this.rig.now));
      else if (a.kind !== 'drop') {
        this.answer(a);
        this.rig.core.queryAnswered(true);
      }
    }
    return v;
  }
}

const conn = (srcPort: number, flags: number): Packet =>
  tcpPacket({ inPort: 1, ethDst: '02:48:46:00:00:01', src: '192.168.1.5', dst: VIP, srcPort, dstPort: 80, flags });

function setup(): { rig: Rig; wire: Wire } {
  const rig = new Rig();
  const wire = new Wire(rig);
  wire.take(rig.core.switchUp(SW1, rig.now));
  wire.take(rig.core.addService({ name: 'web', vip: VIP, port: 80, slots: 4, tracking: 'all' }, rig.now).effects);
  wire.take(rig.core.addBackend('web', { ip: B.ip, port: 8080, weight: 1, mac: B.mac, switchPort: B.port }, rig.now).effects);
  return { rig, wire };
}

describe('the core driving a fake switch (openflow13)', () => {
  it('first packet: to the controller, answered with a pin and a packet-out to the backend; the next packet goes straight', () => {
    const { rig, wire } = setup();
    const first = wire.arrive(conn(40_000, TCP.SYN));
    expect(first.outputs).toEqual([]);
    expect(first.packetIns).toHaveLength(1);
    // ...marked with its service and slot.
    expect(parseMarkerMac(frameOfPacket(first.packetIns[0].packet), 0)?.serviceId).toBe(1);
    // The packet-out took the packet to the backend, rewritten for nat.
    expect(wire.packetOuts.map((v) => v.outputs.map((o) => [o.port, o.packet.eth_dst, o.packet.ipv4_dst, o.packet.tcp_dst]))).toEqual([
      [[B.port, B.mac, B.ip, 8080]],
    ]);
    // The pin is on the switch with the backend's cookie.
    const backend = rig.core.listBackends('web')[0];
    expect(wire.table.flows().filter((f) => f.cookie === pinCookie(1, backend.id))).toHaveLength(1);

    const next = wire.arrive(conn(40_000, TCP.ACK));
    expect(next.packetIns).toEqual([]);
    expect(next.outputs.map((o) => [o.port, o.packet.eth_dst, o.packet.ipv4_dst, o.packet.tcp_dst])).toEqual([[B.port, B.mac, B.ip, 8080]]);
    expect(next.path.map((p) => p.cookie)).toContain(pinCookie(1, backend.id));

    // Draining the backend with its connection live: the pin keeps the connection on it.
    wire.take(rig.core.drainBackend('web', backend.key, rig.now).effects);
    expect(wire.arrive(conn(40_000, TCP.ACK)).outputs.map((o) => o.port)).toEqual([B.port]);
  });

  it('answers ARP for the VIP through the switch', () => {
    const { wire } = setup();
    const v = wire.arrive(arpRequest({ inPort: 5, senderMac: '02:00:00:00:99:05', senderIp: '10.0.0.50', targetIp: VIP }));
    expect(v.packetIns).toHaveLength(1);
    expect(wire.packetOuts.map((x) => x.outputs.map((o) => [o.port, o.packet.arp_op, o.packet.arp_spa, o.packet.arp_tpa]))).toEqual([
      [[5, 2, VIP, '10.0.0.50']],
    ]);
  });
});
