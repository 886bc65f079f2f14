// A packet as the fake flow table sees it: the header fields a match can name, by OXM name, in the
// codec's own value types (numbers, bigint metadata, MAC and IP address text), so a test writes and
// reads them the way it writes flow-mods. Matching compares values as bit strings (bigint).
import { bufferToIpv6, bufferToMac, ipv4ToNumber, numberToIpv4, parseIpv6 } from '../../openflow/packet/addr.js';
import { OXM_BASIC, OXM_VALUE_BYTES } from '../../openflow/oxm-fields.js';
import { buildArpReply, buildArpRequest, buildIpv4Tcp, buildIpv4Udp } from '../../openflow/packet/build.js';
import { parsePacket } from '../../openflow/packet/parse.js';
import { ETH_TYPE, IP_PROTO, type FlowKey } from '../../openflow/packet/types.js';
import type { OxmBasicName, OxmValue } from '../../openflow/types.js';

/** The fields of one packet (plus in_port and metadata, which travel with it through the pipeline). */
export type Packet = { [K in OxmBasicName]?: OxmValue };

/** Fields whose value uses fewer bits than its bytes hold (OpenFlow 1.3 section 7.2.3.7): an
 * unmasked match on one covers only these. Every other field is as wide as its bytes. */
const SIGNIFICANT_BITS: { [K in OxmBasicName]?: number } = { vlan_vid: 13, ip_dscp: 6, ip_ecn: 2, tcp_flags: 12 };

function widthOf(name: OxmBasicName): number {
  return SIGNIFICANT_BITS[name] ?? OXM_VALUE_BYTES[OXM_BASIC[name].kind] * 8;
}

/** A field value as bits. Text is a MAC ("aa:bb:.."), an IPv4 dotted quad or an IPv6 address. */
export function toBits(v: OxmValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) return BigInt(`0x${v.replaceAll(':', '')}`);
  if (v.includes('.')) return BigInt(ipv4ToNumber(v) >>> 0);
  const six = parseIpv6(v);
  if (six === null) throw new TypeError(`fake switch: cannot read field value ${JSON.stringify(v)}`);
  return BigInt(`0x${six.toString('hex')}`);
}

/** Bits back to the field's written form, the codec's value type for its kind in the one field
 * table (numbers for ports and codes, bigint for 64-bit fields, text for addresses). */
export function fromBits(name: OxmBasicName, bits: bigint): OxmValue {
  const bytes = (n: number): Buffer => Buffer.from((bits & ((1n << BigInt(n * 8)) - 1n)).toString(16).padStart(n * 2, '0'), 'hex');
  switch (OXM_BASIC[name].kind) {
    case 'u8': case 'u16': case 'u24': case 'u32': return Number(bits);
    case 'u64': return bits;
    case 'ipv4': return numberToIpv4(Number(bits & 0xffff_ffffn));
    case 'mac': return bufferToMac(bytes(6));
    case 'ipv6': return bufferToIpv6(bytes(16));
  }
}

/** All ones over the field's width (an unmasked match). */
export function fullMask(name: OxmBasicName): bigint {
  return (1n << BigInt(widthOf(name))) - 1n;
}

/** The fields of an Ethernet frame arriving on `inPort` (IPv4 TCP/UDP/ICMP and ARP are read). */
export function packetOfFrame(frame: Buffer, inPort: number): Packet {
  const r = parsePacket(frame);
  if (!r.ok) throw new TypeError(`fake switch: unreadable frame: ${r.error}`);
  const { eth, l3, l4 } = r.packet;
  const p: Packet = { in_port: inPort, metadata: 0n, eth_dst: eth.dst, eth_src: eth.src, eth_type: eth.ethType };
  if (eth.vlans.length > 0) p.vlan_vid = 0x1000 | eth.vlans[0];
  if (l3.kind === 'arp') Object.assign(p, { arp_op: l3.op, arp_spa: l3.spa, arp_tpa: l3.tpa, arp_sha: l3.sha, arp_tha: l3.tha });
  if (l3.kind === 'ipv4') Object.assign(p, { ipv4_src: l3.src, ipv4_dst: l3.dst, ip_proto: l3.proto, ip_dscp: l3.tos >> 2, ip_ecn: l3.tos & 3 });
  if (l4.kind === 'tcp') Object.assign(p, { tcp_src: l4.srcPort, tcp_dst: l4.dstPort, tcp_flags: l4.flags & 0xfff });
  if (l4.kind === 'udp') Object.assign(p, { udp_src: l4.srcPort, udp_dst: l4.dstPort });
  if (l4.kind === 'icmp') Object.assign(p, { icmpv4_type: l4.type, icmpv4_code: l4.code });
  return p;
}

/** The packet of a flow key (the load balancer's 5-tuple and TCP flags) arriving on `inPort`. */
export function packetOfFlowKey(k: FlowKey, inPort: number, l2: { ethSrc?: string; ethDst: string }): Packet {
  const tcp = k.proto === IP_PROTO.TCP;
  return {
    in_port: inPort, metadata: 0n, eth_src: l2.ethSrc ?? '02:00:00:00:99:01', eth_dst: l2.ethDst, eth_type: ETH_TYPE.IPV4,
    ipv4_src: numberToIpv4(k.srcIp), ipv4_dst: numberToIpv4(k.dstIp), ip_proto: k.proto, ip_dscp: 0, ip_ecn: 0,
    ...(tcp ? { tcp_src: k.srcPort, tcp_dst: k.dstPort, tcp_flags: k.tcpFlags } : { udp_src: k.srcPort, udp_dst: k.dstPort }),
  };
}

export interface SegmentOptions {
  inPort: number;
  ethSrc?: string;
  ethDst: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

/** TCP flag bits for `tcpPacket` (SYN alone opens a connection). */
export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** An IPv4 TCP packet, built as bytes and read back, so its fields are what a switch would parse. */
export function tcpPacket(o: SegmentOptions & { flags: number }): Packet {
  return packetOfFrame(buildIpv4Tcp({ ...o, ethSrc: o.ethSrc ?? '02:00:00:00:99:01' }), o.inPort);
}

export function udpPacket(o: SegmentOptions): Packet {
  return packetOfFrame(buildIpv4Udp({ ...o, ethSrc: o.ethSrc ?? '02:00:00:00:99:01' }), o.inPort);
}

/** A broadcast ARP request "who has `targetIp`". */
export function arpRequest(o: { inPort: number; senderMac: string; senderIp: string; targetIp: string }): Packet {
  return packetOfFrame(buildArpRequest(o), o.inPort);
}

export function arpReply(o: { inPort: number; senderMac: string; senderIp: string; targetMac: string; targetIp: string }): Packet {
  return packetOfFrame(buildArpReply(o), o.inPort);
}

/** A frame carrying the packet's fields (IPv4 TCP/UDP or ARP, no payload): what a packet-in of it holds. */
export function frameOfPacket(p: Packet): Buffer {
  const text = (v: OxmValue | undefined, dflt: string): string => (typeof v === 'string' ? v : dflt);
  const num = (v: OxmValue | undefined): number => Number(v ?? 0);
  const l2 = { ethSrc: text(p.eth_src, '00:00:00:00:00:00'), ethDst: text(p.eth_dst, '00:00:00:00:00:00') };
  if (p.eth_type === ETH_TYPE.ARP) {
    const sha = text(p.arp_sha, l2.ethSrc);
    return num(p.arp_op) === 1
      ? buildArpRequest({ senderMac: sha, senderIp: text(p.arp_spa, '0.0.0.0'), targetIp: text(p.arp_tpa, '0.0.0.0') })
      : buildArpReply({ senderMac: sha, senderIp: text(p.arp_spa, '0.0.0.0'), targetMac: text(p.arp_tha, l2.ethDst), targetIp: text(p.arp_tpa, '0.0.0.0') });
  }
  const ip = { ...l2, src: text(p.ipv4_src, '0.0.0.0'), dst: text(p.ipv4_dst, '0.0.0.0') };
  if (p.ip_proto === IP_PROTO.TCP) return buildIpv4Tcp({ ...ip, srcPort: num(p.tcp_src), dstPort: num(p.tcp_dst), flags: num(p.tcp_flags) });
  if (p.ip_proto === IP_PROTO.UDP) return buildIpv4Udp({ ...ip, srcPort: num(p.udp_src), dstPort: num(p.udp_dst) });
  throw new TypeError('fake switch: only IPv4 TCP/UDP and ARP packets are rebuilt as frames');
}

/** The 5-tuple a select group hashes (Open vSwitch's default hashes similar fields). */
export const HASHED_FIELDS: readonly OxmBasicName[] = ['ipv4_src', 'ipv4_dst', 'ip_proto', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst'];

/** A stable 32-bit FNV-1a hash of the flow's 5-tuple. */
export function flowHash(p: Packet): number {
  let h = 0x811c9dc5;
  for (const name of HASHED_FIELDS) {
    const v = p[name];
    if (v === undefined) continue;
    let bits = toBits(v);
    for (let i = 0; i < 8; i++) {
      h ^= Number(bits & 0xffn);
      h = Math.imul(h, 0x01000193) >>> 0;
      bits >>= 8n;
    }
  }
  return h >>> 0;
}

export { ETH_TYPE, IP_PROTO };
