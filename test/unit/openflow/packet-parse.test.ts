import { describe, expect, it } from 'vitest';
import {
  buildArpReply, buildArpRequest, buildIpv4Tcp, buildIpv4Udp, extractFlowKey, ipv4ToNumber, parsePacket, TCP_FLAGS,
  type ParsedPacket,
} from '../../../openflow/packet/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function ok(buf: Buffer): ParsedPacket {
  const r = parsePacket(buf);
  if (!r.ok) throw new Error(`parse failed: ${r.error}`);
  return r.packet;
}

// A TCP SYN as captured (Linux, with options): 10.0.0.1:40000 -> 10.0.0.2:80.
const synHex = `
  0a0000000002 0a0000000001 0800
  45 00 003c 1c46 4000 40 06 0000 0a000001 0a000002
  9c40 0050 00000064 00000000 a0 02 faf0 0000 0000
  020405b40402080a0001e2400000000001030307`;

describe('parsePacket on hand-built bytes', () => {
  it('parses a TCP SYN with options', () => {
    const p = ok(hex(synHex));
    expect(p.eth).toEqual({ dst: '0a:00:00:00:00:02', src: '0a:00:00:00:00:01', vlans: [], ethType: 0x0800 });
    expect(p.l3).toMatchObject({
      kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, ttl: 64, id: 0x1c46, df: true, mf: false,
      fragOffset: 0, headerLength: 20, totalLength: 60, truncated: false,
    });
    expect(p.l4).toMatchObject({
      kind: 'tcp', srcPort: 40000, dstPort: 80, seq: 100, ackNum: 0, headerLength: 40, flags: TCP_FLAGS.SYN,
      syn: true, ack: false, fin: false, rst: false, psh: false, window: 0xfaf0,
    });
    expect(p.l3Offset).toBe(14);
    expect(p.payloadOffset).toBe(14 + 20 + 40);
  });

  it('parses an ARP request', () => {
    const p = ok(hex(`ffffffffffff 020000000001 0806 0001 0800 06 04 0001
      020000000001 c0a80001 000000000000 c0a800fe`));
    expect(p.l3).toEqual({ kind: 'arp', op: 1, sha: '02:00:00:00:00:01', spa: '192.168.0.1', tha: '00:00:00:00:00:00', tpa: '192.168.0.254' });
    expect(p.l4).toEqual({ kind: 'none' });
  });

  it('skips stacked 802.1ad + 802.1Q tags and reads the VLAN ids', () => {
    const inner = hex(synHex);
    const tagged = Buffer.concat([inner.subarray(0, 12), hex('88a8 e00a 8100 2fff'), inner.subarray(12)]);
    const p = ok(tagged);
    expect(p.eth.vlans).toEqual([10, 0xfff]);
    expect(p.eth.ethType).toBe(0x0800);
    expect(p.l3Offset).toBe(22);
    expect(p.l4).toMatchObject({ kind: 'tcp', srcPort: 40000, dstPort: 80 });
    expect(extractFlowKey(tagged)).toEqual(extractFlowKey(inner));
  });

  it('parses IPv4 with options and an ICMP echo request', () => {
    const p = ok(hex(`0a0000000002 0a0000000001 0800
      46 00 0024 0001 0000 01 01 0000 0a000001 0a000002 94040000
      08 00 f7fe 0001 0000 0000 0000`)); // router-alert option; trailing Ethernet padding
    expect(p.l3).toMatchObject({ kind: 'ipv4', headerLength: 24, proto: 1, ttl: 1, totalLength: 36, truncated: false });
    expect(p.l4).toEqual({ kind: 'icmp', type: 8, code: 0, checksum: 0xf7fe });
    expect(p.payloadOffset).toBe(14 + 24 + 4);
  });

  it('gives L4 only for the first IPv4 fragment', () => {
    const first = hex(`0a0000000002 0a0000000001 0800 45 00 0030 0007 2000 40 11 0000 0a000001 0a000002
      3039 0035 0020 0000 0102030405060708 0102030405060708`);
    const later = hex(`0a0000000002 0a0000000001 0800 45 00 0020 0007 0002 40 11 0000 0a000001 0a000002
      3039 0035 0020 0000 0102030405060708`);
    const a = ok(first);
    expect(a.l3).toMatchObject({ mf: true, fragOffset: 0 });
    expect(a.l4).toMatchObject({ kind: 'udp', srcPort: 12345, dstPort: 53, length: 32 });
    expect(extractFlowKey(first)).toMatchObject({ srcPort: 12345, dstPort: 53, proto: 17 });
    const b = ok(later);
    expect(b.l3).toMatchObject({ mf: false, fragOffset: 16 });
    expect(b.l4).toEqual({ kind: 'none' });
    expect(b.payloadOffset).toBe(-1);
    expect(extractFlowKey(later)).toBeNull();
  });

  it('accepts a packet cut short by packet-in max_len and marks it truncated', () => {
    const full = buildIpv4Tcp({
      ethSrc: '02:00:00:00:00:01', ethDst: '02:00:00:00:00:02', src: '1.1.1.1', dst: '2.2.2.2',
      srcPort: 1, dstPort: 2, flags: TCP_FLAGS.ACK, payload: Buffer.alloc(500, 7),
    });
    const p = ok(full.subarray(0, 128));
    expect(p.l3).toMatchObject({ kind: 'ipv4', totalLength: 540, truncated: true });
    expect(p.l4).toMatchObject({ kind: 'tcp', ack: true, syn: false });
    // TCP options cut off by the capture: the fixed header is enough
    const syn = hex(synHex).subarray(0, 14 + 20 + 24);
    const q = ok(syn);
    expect(q.l4).toMatchObject({ kind: 'tcp', headerLength: 40, syn: true });
    expect(q.payloadOffset).toBe(syn.length);
  });

  it('parses IPv6 TCP with no extension headers', () => {
    const p = ok(hex(`3333000000fb 020000000001 86dd
      6 12 34567 0014 06 40 20010db8000000000000000000000001 20010db8000000000000000000000002
      04d2 01bb 00000001 00000002 50 12 0100 0000 0000`));
    expect(p.l3).toMatchObject({
      kind: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', proto: 6, hopLimit: 64, trafficClass: 0x12,
      flowLabel: 0x34567, payloadLength: 20, extHeaders: [], truncated: false,
    });
    expect(p.l4).toMatchObject({ kind: 'tcp', srcPort: 1234, dstPort: 443, syn: true, ack: true, flags: 0x12 });
    expect(extractFlowKey(hex(synHex))).not.toBeNull();
  });

  it('walks hop-by-hop, routing, destination options and fragment headers to UDP', () => {
    const body = [
      '2b 00 010400000000', // hop-by-hop (next: routing), 8 bytes, PadN
      '3c 02 00 00 00000000 00000000000000000000000000000000', // routing type 0, len 2 → 24 bytes
      '2c 00 01040000 0000', // dest options (next: fragment), 8 bytes
      '11 00 0001 deadbeef', // fragment: offset 0, M=1, id
      'aaaa bbbb 0008 0000', // UDP
    ].join('');
    const plen = hex(body).length;
    const pkt = hex(`333300000001 020000000001 86dd 60000000 ${plen.toString(16).padStart(4, '0')} 00 ff
      fe800000000000000000000000000001 ff020000000000000000000000000001 ${body}`);
    const p = ok(pkt);
    expect(p.l3).toMatchObject({
      kind: 'ipv6', src: 'fe80::1', dst: 'ff02::1', proto: 17, hopLimit: 255, extHeaders: [0, 43, 60, 44],
      fragment: { offset: 0, more: true, id: 0xdeadbeef },
    });
    expect(p.l4).toEqual({ kind: 'udp', srcPort: 0xaaaa, dstPort: 0xbbbb, length: 8, checksum: 0 });
    expect(extractFlowKey(pkt)).toBeNull(); // IPv4 only
  });

  it('stops at a non-first IPv6 fragment and parses ICMPv6 only under IPv6', () => {
    const frag = hex(`333300000001 020000000001 86dd 60000000 0010 2c 40
      20010db8000000000000000000000001 20010db8000000000000000000000002
      3a 00 0100 00000001 8000 1234 00000000`);
    const p = ok(frag);
    expect(p.l3).toMatchObject({ proto: 58, fragment: { offset: 256, more: false, id: 1 } });
    expect(p.l4).toEqual({ kind: 'none' });

    const echo = hex(`333300000001 020000000001 86dd 60000000 0008 3a 40
      20010db8000000000000000000000001 20010db8000000000000000000000002 8000 1234 00000000`);
    expect(ok(echo).l4).toEqual({ kind: 'icmpv6', type: 128, code: 0, checksum: 0x1234 });
  });

  it('reports other ethertypes and 802.3 frames as other', () => {
    expect(ok(hex('0180c2000000 020000000001 0026 424203000000')).l3).toEqual({ kind: 'other', ethType: 0x26 });
    expect(ok(hex('0180c2000000 020000000001 88cc 0000')).l3).toEqual({ kind: 'other', ethType: 0x88cc });
  });

  it('rejects malformed headers with an error, not an exception', () => {
    const bad = [
      '', '0a00000000020a00000000010800', // no IP header at all
      `0a0000000002 0a0000000001 0800 44 00 0014 0000 0000 40 06 0000 0a000001 0a000002`, // IHL 4
      `0a0000000002 0a0000000001 0800 65 00 0014 0000 0000 40 06 0000 0a000001 0a000002`, // version 6
      `0a0000000002 0a0000000001 0800 45 00 0010 0000 0000 40 06 0000 0a000001 0a000002`, // total < IHL
      `0a0000000002 0a0000000001 0800 45 00 0028 0000 0000 40 06 0000 0a000001 0a000002 0001000200000000000000004002ffff00000000`, // TCP offset 4
      `0a0000000002 0a0000000001 0800 45 00 0028 0000 0000 40 06 0000 0a000001 0a000002 000100020000000000000000f002ffff00000000`, // TCP offset 60 past IP end
      `ffffffffffff 020000000001 0806 0006 0800 06 04 0001 020000000001 c0a80001 000000000000 c0a800fe`, // ARP htype 6
    ];
    for (const h of bad) {
      const r = parsePacket(hex(h));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(typeof r.error).toBe('string');
    }
  });
});

describe('builders round-trip through the parser', () => {
  const base = { ethSrc: '02:aa:bb:cc:dd:01', ethDst: '02:aa:bb:cc:dd:02', src: '192.168.10.20', dst: '10.99.0.7' };

  it('TCP: every field comes back', () => {
    for (const flags of [TCP_FLAGS.SYN, TCP_FLAGS.SYN | TCP_FLAGS.ACK, TCP_FLAGS.FIN | TCP_FLAGS.ACK | TCP_FLAGS.PSH, TCP_FLAGS.RST, 0x1ff]) {
      const buf = buildIpv4Tcp({ ...base, srcPort: 51000, dstPort: 8080, flags, seq: 0xfffffff0, ackNum: 12345, ttl: 33, id: 999, payload: Buffer.from('hello') });
      const p = ok(buf);
      expect(p.eth).toEqual({ dst: base.ethDst, src: base.ethSrc, vlans: [], ethType: 0x0800 });
      expect(p.l3).toMatchObject({ kind: 'ipv4', src: base.src, dst: base.dst, proto: 6, ttl: 33, id: 999, totalLength: 45 });
      expect(p.l4).toMatchObject({
        kind: 'tcp', srcPort: 51000, dstPort: 8080, seq: 0xfffffff0, ackNum: 12345, flags,
        syn: !!(flags & 2), ack: !!(flags & 16), fin: !!(flags & 1), rst: !!(flags & 4), psh: !!(flags & 8),
      });
      expect(buf.subarray(p.payloadOffset).toString()).toBe('hello');
      expect(extractFlowKey(buf)).toEqual({
        srcIp: ipv4ToNumber(base.src), dstIp: ipv4ToNumber(base.dst), proto: 6, srcPort: 51000, dstPort: 8080, tcpFlags: flags,
      });
    }
  });

  it('UDP with VLAN tags', () => {
    const buf = buildIpv4Udp({ ...base, srcPort: 5353, dstPort: 53, payload: Buffer.alloc(3, 1), vlans: [100, 200, 300] });
    const p = ok(buf);
    expect(p.eth.vlans).toEqual([100, 200, 300]);
    expect(buf.readUInt16BE(12)).toBe(0x88a8);
    expect(buf.readUInt16BE(20)).toBe(0x8100);
    expect(p.l4).toMatchObject({ kind: 'udp', srcPort: 5353, dstPort: 53, length: 11 });
    expect(extractFlowKey(buf)).toMatchObject({ proto: 17, srcPort: 5353, dstPort: 53, tcpFlags: 0 });
  });

  it('ARP request and reply are 42 bytes with the right addresses', () => {
    const req = buildArpRequest({ senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.9' });
    expect(req.length).toBe(42);
    const p = ok(req);
    expect(p.eth).toMatchObject({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', ethType: 0x0806 });
    expect(p.l3).toEqual({ kind: 'arp', op: 1, sha: '02:00:00:00:00:01', spa: '10.0.0.1', tha: '00:00:00:00:00:00', tpa: '10.0.0.9' });

    const rep = buildArpReply({ senderMac: '02:00:00:00:00:09', senderIp: '10.0.0.9', targetMac: '02:00:00:00:00:01', targetIp: '10.0.0.1' });
    expect(rep.length).toBe(42);
    const q = ok(rep);
    expect(q.eth).toMatchObject({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:09' });
    expect(q.l3).toEqual({ kind: 'arp', op: 2, sha: '02:00:00:00:00:09', spa: '10.0.0.9', tha: '02:00:00:00:00:01', tpa: '10.0.0.1' });
  });

  it('builders reject malformed addresses', () => {
    expect(() => buildArpRequest({ senderMac: 'nope', senderIp: '10.0.0.1', targetIp: '10.0.0.2' })).toThrow(TypeError);
    expect(() => buildIpv4Udp({ ...base, dst: '10.0.0', srcPort: 1, dstPort: 2 })).toThrow(TypeError);
    expect(() => buildIpv4Udp({ ...base, srcPort: 1, dstPort: 2, vlans: [4096] })).toThrow(RangeError);
  });
});

describe('robustness', () => {
  const samples = [
    hex(synHex),
    buildIpv4Udp({ ethSrc: '02:00:00:00:00:01', ethDst: '02:00:00:00:00:02', src: '1.2.3.4', dst: '5.6.7.8', srcPort: 1, dstPort: 2, vlans: [5, 6], payload: Buffer.alloc(4) }),
    buildArpRequest({ senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.9', vlans: [7] }),
    hex(`333300000001 020000000001 86dd 60000000 0020 00 ff fe800000000000000000000000000001 ff020000000000000000000000000001
      2b00010400000000 3a00000000000000 0000000000000000 8000123400000000`), // hop-by-hop + malformed routing? still walks
    hex(`0a0000000002 0a0000000001 0800 46 00 0024 0001 0000 01 01 0000 0a000001 0a000002 94040000 0800f7fe00010000`),
  ];

  it('never throws on any truncation of real packets, and agrees with extractFlowKey', () => {
    for (const s of samples) {
      for (let n = 0; n <= s.length; n++) {
        const cut = s.subarray(0, n);
        const r = parsePacket(cut);
        expect(typeof r.ok).toBe('boolean');
        const k = extractFlowKey(cut);
        if (k) {
          expect(r.ok).toBe(true);
          if (r.ok && r.packet.l4.kind !== 'none' && r.packet.l4.kind !== 'icmp' && r.packet.l4.kind !== 'icmpv6') {
            expect(k.srcPort).toBe(r.packet.l4.srcPort);
          }
        }
      }
    }
  });

  it('never throws on random garbage, including garbage after valid Ethernet/IP headers', () => {
    let seed = 99;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const ethTypes = [0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8];
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(Array.from({ length: rnd(120) }, () => rnd(256)));
      if (b.length >= 14 && rnd(2)) b.writeUInt16BE(ethTypes[rnd(ethTypes.length)], 12);
      if (b.length >= 15 && rnd(2)) b[14] = rnd(2) ? 0x45 : 0x60;
      if (b.length >= 21 && rnd(2)) b[20] = [0, 6, 17, 43, 44, 60, 51][rnd(7)];
      const r = parsePacket(b);
      expect(typeof r.ok).toBe('boolean');
      extractFlowKey(b);
    }
  });
});
