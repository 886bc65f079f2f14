// Packet builders: ARP request/reply for the controller's ARP work, IPv4 TCP/UDP for tests and
// benchmarks. Addresses are text ("aa:bb:cc:dd:ee:ff", dotted quads); malformed ones throw TypeError.
import { ipv4ToNumber, writeMac } from './addr.js';
import { ipv4L4Checksum, internetChecksum } from './checksum.js';
import { ETH_HEADER_LEN, VLAN_TAG_LEN } from './eth.js';
import { ARP_OP, ETH_TYPE, IP_PROTO } from './types.js';

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
const ZERO_MAC = '00:00:00:00:00:00';

interface L2Options {
  /** VLAN ids, outermost first; stacked outer tags use 802.1ad (0x88a8), the innermost 802.1Q. */
  vlans?: number[];
}

function putMac(b: Buffer, off: number, mac: string): void {
  if (!writeMac(b, off, mac)) throw new TypeError(`bad MAC address: ${JSON.stringify(mac)}`);
}

function ethLen(vlans: number[] | undefined): number {
  return ETH_HEADER_LEN + (vlans ? vlans.length * VLAN_TAG_LEN : 0);
}

/** Writes the Ethernet header (with tags) at 0; returns the L3 offset. */
function writeEth(b: Buffer, dst: string, src: string, vlans: number[] | undefined, ethType: number): number {
  putMac(b, 0, dst);
  putMac(b, 6, src);
  let o = 12;
  const n = vlans ? vlans.length : 0;
  for (let i = 0; i < n; i++) {
    const vid = vlans![i];
    if (!Number.isInteger(vid) || vid < 0 || vid > 0xfff) throw new RangeError(`bad VLAN id ${vid}`);
    b.writeUInt16BE(i < n - 1 ? ETH_TYPE.QINQ : ETH_TYPE.VLAN, o);
    b.writeUInt16BE(vid, o + 2);
    o += VLAN_TAG_LEN;
  }
  b.writeUInt16BE(ethType, o);
  return o + 2;
}

export interface ArpRequestOptions extends L2Options {
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

export interface ArpReplyOptions extends L2Options {
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

function buildArp(op: number, ethDst: string, sha: string, spa: string, tha: string, tpa: string, vlans?: number[]): Buffer {
  const b = Buffer.alloc(ethLen(vlans) + 28);
  const o = writeEth(b, ethDst, sha, vlans, ETH_TYPE.ARP);
  b.writeUInt16BE(1, o); // Ethernet
  b.writeUInt16BE(ETH_TYPE.IPV4, o + 2);
  b[o + 4] = 6;
  b[o + 5] = 4;
  b.writeUInt16BE(op, o + 6);
  putMac(b, o + 8, sha);
  b.writeUInt32BE(ipv4ToNumber(spa), o + 14);
  putMac(b, o + 18, tha);
  b.writeUInt32BE(ipv4ToNumber(tpa), o + 24);
  return b;
}

/** Broadcast "who has targetIp? tell senderIp" (42 bytes untagged). */
export function buildArpRequest(o: ArpRequestOptions): Buffer {
  return buildArp(ARP_OP.REQUEST, BROADCAST_MAC, o.senderMac, o.senderIp, ZERO_MAC, o.targetIp, o.vlans);
}

/** "senderIp is at senderMac", sent to targetMac (42 bytes untagged). */
export function buildArpReply(o: ArpReplyOptions): Buffer {
  return buildArp(ARP_OP.REPLY, o.targetMac, o.senderMac, o.senderIp, o.targetMac, o.targetIp, o.vlans);
}

interface Ipv4Common extends L2Options {
  ethSrc: string;
  ethDst: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** Default 64. */
  ttl?: number;
  /** IP identification, default 0. */
  id?: number;
}

export interface Ipv4TcpOptions extends Ipv4Common {
  /** TCP_FLAGS bit set (NS included). */
  flags: number;
  seq?: number;
  ackNum?: number;
  /** Default 65535. */
  window?: number;
}

export type Ipv4UdpOptions = Ipv4Common;

/** Ethernet + 20-byte IPv4 header with checksum; returns [buffer, ipOffset, srcIp, dstIp]. */
function startIpv4(o: Ipv4Common, proto: number, l4Len: number): [Buffer, number, number, number] {
  const payloadLen = o.payload ? o.payload.length : 0;
  const totalLength = 20 + l4Len + payloadLen;
  if (totalLength > 0xffff) throw new RangeError(`IPv4 packet of ${totalLength} bytes is too long`);
  const b = Buffer.alloc(ethLen(o.vlans) + totalLength);
  const ip = writeEth(b, o.ethDst, o.ethSrc, o.vlans, ETH_TYPE.IPV4);
  const srcIp = ipv4ToNumber(o.src);
  const dstIp = ipv4ToNumber(o.dst);
  b[ip] = 0x45;
  b.writeUInt16BE(totalLength, ip + 2);
  b.writeUInt16BE((o.id ?? 0) & 0xffff, ip + 4);
  b[ip + 8] = o.ttl ?? 64;
  b[ip + 9] = proto;
  b.writeUInt32BE(srcIp, ip + 12);
  b.writeUInt32BE(dstIp, ip + 16);
  b.writeUInt16BE(internetChecksum(b, ip, ip + 20), ip + 10);
  if (o.payload) b.set(o.payload, ip + 20 + l4Len);
  return [b, ip, srcIp, dstIp];
}

export function buildIpv4Tcp(o: Ipv4TcpOptions): Buffer {
  const [b, ip, srcIp, dstIp] = startIpv4(o, IP_PROTO.TCP, 20);
  const t = ip + 20;
  b.writeUInt16BE(o.srcPort, t);
  b.writeUInt16BE(o.dstPort, t + 2);
  b.writeUInt32BE((o.seq ?? 0) >>> 0, t + 4);
  b.writeUInt32BE((o.ackNum ?? 0) >>> 0, t + 8);
  b[t + 12] = (5 << 4) | ((o.flags >> 8) & 1);
  b[t + 13] = o.flags & 0xff;
  b.writeUInt16BE(o.window ?? 65535, t + 14);
  b.writeUInt16BE(ipv4L4Checksum(b, t, b.length, srcIp, dstIp, IP_PROTO.TCP), t + 16);
  return b;
}

export function buildIpv4Udp(o: Ipv4UdpOptions): Buffer {
  const [b, ip, srcIp, dstIp] = startIpv4(o, IP_PROTO.UDP, 8);
  const u = ip + 20;
  b.writeUInt16BE(o.srcPort, u);
  b.writeUInt16BE(o.dstPort, u + 2);
  b.writeUInt16BE(b.length - u, u + 4);
  // a computed 0 is sent as 0xffff: 0 means "no checksum" in UDP over IPv4
  b.writeUInt16BE(ipv4L4Checksum(b, u, b.length, srcIp, dstIp, IP_PROTO.UDP) || 0xffff, u + 6);
  return b;
}
