import { describe, expect, it } from 'vitest';
import {
  buildArpRequest, buildIpv4Tcp, buildIpv4Udp, extractFlowKey, extractFlowKeyInto, ipv4ToNumber, parsePacket,
  type FlowKey,
} from '../../../openflow/packet/index.js';

let seed = 777;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
const ip = () => `${rnd(256)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
const eth = { ethSrc: '02:00:00:00:00:01', ethDst: '02:00:00:00:00:02' };

function randomPacket(): Buffer {
  const vlans = rnd(2) ? [] : Array.from({ length: 1 + rnd(3) }, () => rnd(4096));
  const o = { ...eth, src: ip(), dst: ip(), srcPort: rnd(65536), dstPort: rnd(65536), vlans, payload: Buffer.alloc(rnd(30)) };
  return rnd(2) ? buildIpv4Tcp({ ...o, flags: rnd(0x200) }) : buildIpv4Udp(o);
}

describe('extractFlowKey', () => {
  it('agrees with parsePacket on random TCP/UDP packets, tagged or not', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomPacket();
      const r = parsePacket(b);
      if (!r.ok || r.packet.l3.kind !== 'ipv4') throw new Error('builder made an unparsable packet');
      const { l3, l4 } = r.packet;
      if (l4.kind !== 'tcp' && l4.kind !== 'udp') throw new Error('expected tcp/udp');
      expect(extractFlowKey(b)).toEqual({
        srcIp: ipv4ToNumber(l3.src), dstIp: ipv4ToNumber(l3.dst), proto: l3.proto,
        srcPort: l4.srcPort, dstPort: l4.dstPort, tcpFlags: l4.kind === 'tcp' ? l4.flags : 0,
      });
    }
  });

  it('returns u32 addresses (no negative numbers for high addresses)', () => {
    const k = extractFlowKey(buildIpv4Udp({ ...eth, src: '255.1.2.3', dst: '200.0.0.1', srcPort: 1, dstPort: 2 }));
    expect(k?.srcIp).toBe(0xff010203);
    expect(k?.dstIp).toBe(0xc8000001);
  });

  it('returns null for ARP, IPv6, ICMP and cut-short packets', () => {
    expect(extractFlowKey(buildArpRequest({ senderMac: '02:00:00:00:00:01', senderIp: '1.1.1.1', targetIp: '1.1.1.2' }))).toBeNull();
    const v6 = Buffer.alloc(14 + 40 + 8);
    v6.writeUInt16BE(0x86dd, 12);
    v6[14] = 0x60;
    v6[14 + 6] = 17;
    expect(extractFlowKey(v6)).toBeNull();
    const icmp = buildIpv4Udp({ ...eth, src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
    icmp[14 + 9] = 1;
    expect(extractFlowKey(icmp)).toBeNull();
    const tcp = buildIpv4Tcp({ ...eth, src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, flags: 2 });
    for (let n = 0; n < 14 + 20 + 20; n++) expect(extractFlowKey(tcp.subarray(0, n))).toBeNull();
    expect(extractFlowKey(tcp)).not.toBeNull();
  });

  it('reuses the caller-owned key object in extractFlowKeyInto', () => {
    const k: FlowKey = { srcIp: 0, dstIp: 0, proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0 };
    expect(extractFlowKeyInto(buildIpv4Tcp({ ...eth, src: '1.2.3.4', dst: '5.6.7.8', srcPort: 9, dstPort: 10, flags: 0x18 }), k)).toBe(true);
    expect(k).toEqual({ srcIp: 0x01020304, dstIp: 0x05060708, proto: 6, srcPort: 9, dstPort: 10, tcpFlags: 0x18 });
  });
});
