// The query/reply hot path through the core (openflow13 profile): a packet-in from a query slot
// becomes a pin flow-mod and a packet-out, both pre-encoded and checked here by decoding them.
import { describe, expect, it } from 'vitest';
import { markerMac, pinCookie } from '../../../../apps/lb/cookies.js';
import type { QueryAnswer } from '../../../../apps/lb/core/lb-core.js';
import { decodeMessage } from '../../../../openflow/messages.js';
import { matchValue } from '../../../../openflow/oxm.js';
import { buildIpv4Tcp } from '../../../../openflow/packet/build.js';
import { TCP_FLAGS } from '../../../../openflow/packet/types.js';
import type { OfMessage } from '../../../../openflow/types.js';
import { eventsOf, Rig, SW1 } from './fixture.js';

function setup(): Rig {
  const rig = new Rig();
  rig.keep(rig.core.switchUp(SW1, rig.now));
  rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8, tracking: 'all' }, rig.now));
  rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
  return rig;
}

function syn(slot: number, srcPort: number, flags: number = TCP_FLAGS.SYN): Buffer {
  return buildIpv4Tcp({
    ethSrc: '02:00:00:00:00:99', ethDst: markerMac(1, slot), src: '10.0.0.50', dst: '10.0.0.100', srcPort, dstPort: 80, flags,
  });
}

/** What the shell would send for an answer, decoded. */
function wire(a: QueryAnswer): OfMessage[] {
  expect(a.kind).toBe('prebuilt');
  const out: OfMessage[] = [];
  const parts: [number, (b: Buffer, at: number, xid: number) => void][] = a.install ? [[a.pinLength, a.fillPin], [a.outLength, a.fillOut]] : [[a.outLength, a.fillOut]];
  for (const [len, fill] of parts) {
    const buf = Buffer.alloc(len);
    fill(buf, 0, 77);
    const d = decodeMessage(buf);
    if (!d.ok) throw new Error('undecodable');
    out.push(d.value);
  }
  return out;
}

describe('query/reply (core, openflow13)', () => {
  it('a new connection gets a pin to the slot owner and its packet sent on', () => {
    const rig = setup();
    const b1 = rig.core.listBackends('web')[0];
    expect(rig.core.getService('web').querySlots).toHaveLength(8);
    const data = syn(3, 40_000);
    const a = rig.core.queryPacket(SW1.dpidHex, 4, data, 9, rig.now);
    expect(a.install).toBe(true);
    const [pin, out] = wire(a);
    expect(pin).toMatchObject({ type: 'flow_mod', command: 'add', cookie: pinCookie(1, b1.id), xid: 77 });
    const match = pin.type === 'flow_mod' ? pin.match : [];
    expect(matchValue(match, 'ipv4_src')).toBe('10.0.0.50');
    expect(matchValue(match, 'tcp_src')).toBe(40_000);
    expect(JSON.stringify(pin.type === 'flow_mod' && pin.instructions)).toContain('"port":1');
    expect(out).toMatchObject({ type: 'packet_out', inPort: 9 });
    expect(out.type === 'packet_out' && out.data.equals(data)).toBe(true);
    rig.core.queryAnswered(true);
    expect(rig.core.listBackends('web')[0].pins).toBe(1);
    expect(rig.core.getService('web').counters).toMatchObject({ packetIns: 1, pinsInstalled: 1 });

    // The next packet of the flow while its pin is on its way: just forwarded.
    const again = rig.core.queryPacket(SW1.dpidHex, 4, syn(3, 40_000, TCP_FLAGS.ACK), 9, rig.advance(1));
    expect(again.install).toBe(false);
    expect(wire(again).map((m) => m.type)).toEqual(['packet_out']);
    rig.core.queryAnswered(true);
  });

  it('a pin the switch could not take (backpressure) is tried again on the next packet', () => {
    const rig = setup();
    expect(rig.core.queryPacket(SW1.dpidHex, 4, syn(2, 40_001), 9, rig.now).install).toBe(true);
    rig.core.queryAnswered(false);
    expect(rig.core.listBackends('web')[0].pins).toBe(0);
    expect(rig.core.queryPacket(SW1.dpidHex, 4, syn(2, 40_001), 9, rig.now).install).toBe(true);
    rig.core.queryAnswered(true);
    expect(rig.core.listBackends('web')[0].pins).toBe(1);
  });

  it('a packet that must leave by the port it came in on goes as messages', () => {
    const rig = setup();
    const a = rig.core.queryPacket(SW1.dpidHex, 4, syn(1, 40_002), 1, rig.now);
    expect(a.kind).toBe('messages');
    expect(a.messages.map((m) => m.type)).toEqual(['flow_mod', 'packet_out']);
    rig.core.queryAnswered(true);
  });

  it('not a query packet, an unknown service or slot: nothing to send', () => {
    const rig = setup();
    const plain = buildIpv4Tcp({ ethSrc: '02:00:00:00:00:99', ethDst: '02:00:00:00:00:01', src: '10.0.0.50', dst: '10.0.0.100', srcPort: 1, dstPort: 80, flags: TCP_FLAGS.SYN });
    expect(rig.core.queryPacket(SW1.dpidHex, 4, plain, 9, rig.now).kind).toBe('not_query');
    const unknown = buildIpv4Tcp({ ethSrc: '02:00:00:00:00:99', ethDst: markerMac(9, 1), src: '10.0.0.50', dst: '10.0.0.100', srcPort: 1, dstPort: 80, flags: TCP_FLAGS.SYN });
    expect(rig.core.queryPacket(SW1.dpidHex, 4, unknown, 9, rig.now).kind).toBe('drop');
    expect(rig.core.queryPacket(SW1.dpidHex, 4, syn(8, 1), 9, rig.now).kind).toBe('drop');
    expect(eventsOf(rig.core.tick(rig.advance(50)), 'error')).toEqual([]);
  });
});
