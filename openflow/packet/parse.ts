// Full packet parser for packet-in data: Ethernet (+VLAN tags), ARP, IPv4, IPv6 (+extension
// headers), TCP, UDP, ICMP, ICMPv6. Never throws: truncated or malformed input is an error result.
// Packet-in data may be cut by max_len, so IP payloads shorter than the IP length are accepted
// (marked `truncated`) as long as the headers that are parsed are whole.
import { bufferToIpv6, bufferToMac, numberToIpv4 } from './addr.js';
import { ethL3Offset } from './eth.js';
import {
  ETH_TYPE, IP_PROTO, TCP_FLAGS,
  type ArpPacket, type EthHeader, type Ipv4Packet, type Ipv6Packet, type L4, type PacketParseResult,
} from './types.js';

type L4Result = { l4: L4; payloadOffset: number } | string;

const NONE: L4 = Object.freeze({ kind: 'none' }) as L4;

function u16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function parsePacket(buf: Buffer): PacketParseResult {
  const vlans: number[] = [];
  const l3Offset = ethL3Offset(buf, vlans);
  if (l3Offset < 0) return { ok: false, error: 'truncated ethernet header' };
  const ethType = u16(buf, l3Offset - 2);
  const eth: EthHeader = { dst: bufferToMac(buf, 0), src: bufferToMac(buf, 6), vlans, ethType };
  switch (ethType) {
    case ETH_TYPE.ARP: {
      const arp = parseArp(buf, l3Offset);
      if (typeof arp === 'string') return { ok: false, error: arp };
      return { ok: true, packet: { eth, l3: arp, l4: NONE, l3Offset, payloadOffset: -1 } };
    }
    case ETH_TYPE.IPV4:
      return parseIpv4(buf, l3Offset, eth);
    case ETH_TYPE.IPV6:
      return parseIpv6(buf, l3Offset, eth);
    default:
      return { ok: true, packet: { eth, l3: { kind: 'other', ethType }, l4: NONE, l3Offset, payloadOffset: -1 } };
  }
}

function parseArp(b: Buffer, o: number): ArpPacket | string {
  if (b.length < o + 28) return 'truncated ARP packet';
  if (u16(b, o) !== 1 || u16(b, o + 2) !== ETH_TYPE.IPV4 || b[o + 4] !== 6 || b[o + 5] !== 4) {
    return 'ARP packet is not Ethernet/IPv4';
  }
  return {
    kind: 'arp',
    op: u16(b, o + 6),
    sha: bufferToMac(b, o + 8),
    spa: numberToIpv4(u32(b, o + 14)),
    tha: bufferToMac(b, o + 18),
    tpa: numberToIpv4(u32(b, o + 24)),
  };
}

function parseIpv4(b: Buffer, o: number, eth: EthHeader): PacketParseResult {
  if (b.length < o + 20) return { ok: false, error: 'truncated IPv4 header' };
  const vihl = b[o];
  if (vihl >> 4 !== 4) return { ok: false, error: `IPv4 ethertype with IP version ${vihl >> 4}` };
  const headerLength = (vihl & 0x0f) * 4;
  if (headerLength < 20) return { ok: false, error: `IPv4 header length ${headerLength} under 20` };
  if (b.length < o + headerLength) return { ok: false, error: 'truncated IPv4 options' };
  const totalLength = u16(b, o + 2);
  if (totalLength < headerLength) return { ok: false, error: `IPv4 total length ${totalLength} under header length` };
  const frag = u16(b, o + 6);
  const fragOffset = (frag & 0x1fff) * 8;
  const proto = b[o + 9];
  const truncated = b.length < o + totalLength;
  const end = truncated ? b.length : o + totalLength; // drops Ethernet padding
  const l3: Ipv4Packet = {
    kind: 'ipv4',
    src: numberToIpv4(u32(b, o + 12)),
    dst: numberToIpv4(u32(b, o + 16)),
    proto,
    ttl: b[o + 8],
    tos: b[o + 1],
    id: u16(b, o + 4),
    headerLength,
    totalLength,
    checksum: u16(b, o + 10),
    df: (frag & 0x4000) !== 0,
    mf: (frag & 0x2000) !== 0,
    fragOffset,
    truncated,
  };
  const l4 = fragOffset === 0 ? parseL4(b, o + headerLength, end, truncated, proto, false) : { l4: NONE, payloadOffset: -1 };
  if (typeof l4 === 'string') return { ok: false, error: l4 };
  return { ok: true, packet: { eth, l3, l4: l4.l4, l3Offset: o, payloadOffset: l4.payloadOffset } };
}

function parseIpv6(b: Buffer, o: number, eth: EthHeader): PacketParseResult {
  if (b.length < o + 40) return { ok: false, error: 'truncated IPv6 header' };
  const w0 = u32(b, o);
  if (w0 >>> 28 !== 6) return { ok: false, error: `IPv6 ethertype with IP version ${w0 >>> 28}` };
  const payloadLength = u16(b, o + 4);
  let nh = b[o + 6];
  // payload length 0 with a hop-by-hop header is a jumbogram: the capture bounds it instead
  const stated = payloadLength === 0 && nh === IP_PROTO.HOPOPTS ? Infinity : o + 40 + payloadLength;
  const truncated = b.length < stated;
  const end = truncated ? b.length : stated;
  const extHeaders: number[] = [];
  let fragment: Ipv6Packet['fragment'];
  let p = o + 40;
  for (;;) {
    if (nh === IP_PROTO.HOPOPTS || nh === IP_PROTO.ROUTING || nh === IP_PROTO.DSTOPTS || nh === IP_PROTO.AH) {
      if (end < p + 2) return { ok: false, error: `truncated IPv6 extension header ${nh}` };
      const len = nh === IP_PROTO.AH ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
      if (end < p + len) return { ok: false, error: `truncated IPv6 extension header ${nh}` };
      extHeaders.push(nh);
      nh = b[p];
      p += len;
    } else if (nh === IP_PROTO.FRAGMENT) {
      if (end < p + 8) return { ok: false, error: 'truncated IPv6 fragment header' };
      const f = u16(b, p + 2);
      fragment = { offset: f & 0xfff8, more: (f & 1) !== 0, id: u32(b, p + 4) };
      extHeaders.push(nh);
      nh = b[p];
      p += 8;
      if (fragment.offset !== 0) break; // later fragments carry no upper-layer header
    } else {
      break;
    }
  }
  const l3: Ipv6Packet = {
    kind: 'ipv6',
    src: bufferToIpv6(b, o + 8),
    dst: bufferToIpv6(b, o + 24),
    proto: nh,
    hopLimit: b[o + 7],
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    payloadLength,
    extHeaders,
    truncated,
  };
  if (fragment) l3.fragment = fragment;
  const l4 = fragment && fragment.offset !== 0 ? { l4: NONE, payloadOffset: -1 } : parseL4(b, p, end, truncated, nh, true);
  if (typeof l4 === 'string') return { ok: false, error: l4 };
  return { ok: true, packet: { eth, l3, l4: l4.l4, l3Offset: o, payloadOffset: l4.payloadOffset } };
}

/**
 * L4 header at o within [o, end): the IP end, or the capture end when `cut` (capture shorter);
 * ICMP under IPv4 only, ICMPv6 under IPv6 only.
 */
function parseL4(b: Buffer, o: number, end: number, cut: boolean, proto: number, v6: boolean): L4Result {
  switch (proto) {
    case IP_PROTO.TCP: {
      if (end < o + 20) return 'truncated TCP header';
      const headerLength = (b[o + 12] >> 4) * 4;
      if (headerLength < 20) return `TCP data offset ${headerLength} under 20`;
      // options cut off by the capture are fine; options past the stated IP length are a lie
      if (end < o + headerLength && !cut) return 'TCP header longer than the IP payload';
      const flags = ((b[o + 12] & 1) << 8) | b[o + 13];
      return {
        l4: {
          kind: 'tcp',
          srcPort: u16(b, o),
          dstPort: u16(b, o + 2),
          seq: u32(b, o + 4),
          ackNum: u32(b, o + 8),
          headerLength,
          flags,
          syn: (flags & TCP_FLAGS.SYN) !== 0,
          ack: (flags & TCP_FLAGS.ACK) !== 0,
          fin: (flags & TCP_FLAGS.FIN) !== 0,
          rst: (flags & TCP_FLAGS.RST) !== 0,
          psh: (flags & TCP_FLAGS.PSH) !== 0,
          window: u16(b, o + 14),
          checksum: u16(b, o + 16),
        },
        payloadOffset: Math.min(o + headerLength, end),
      };
    }
    case IP_PROTO.UDP:
      if (end < o + 8) return 'truncated UDP header';
      return {
        l4: { kind: 'udp', srcPort: u16(b, o), dstPort: u16(b, o + 2), length: u16(b, o + 4), checksum: u16(b, o + 6) },
        payloadOffset: o + 8,
      };
    case IP_PROTO.ICMP:
    case IP_PROTO.ICMPV6: {
      if (v6 !== (proto === IP_PROTO.ICMPV6)) break;
      if (end < o + 4) return v6 ? 'truncated ICMPv6 header' : 'truncated ICMP header';
      const kind = v6 ? 'icmpv6' : 'icmp';
      return { l4: { kind, type: b[o], code: b[o + 1], checksum: u16(b, o + 2) }, payloadOffset: o + 4 };
    }
  }
  return { l4: NONE, payloadOffset: -1 };
}
