// Parsed packet shapes (what packet-in/packet-out data carries) and protocol numbers.

export const ETH_TYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q C-tag
  QINQ: 0x88a8, // 802.1ad S-tag
  QINQ_OLD: 0x9100, // pre-standard stacked tag, still seen
  IPV6: 0x86dd,
} as const;

export const IP_PROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
} as const;

/** TCP flag bits as in the header (and the OXM tcp_flags field): NS is bit 8. */
export const TCP_FLAGS = {
  FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, NS: 0x100,
} as const;

export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;

export interface EthHeader {
  dst: string;
  src: string;
  /** VLAN ids of the tags, outermost first; empty when untagged. */
  vlans: number[];
  /** The ethertype after all VLAN tags (a length value < 0x600 for 802.3 frames). */
  ethType: number;
}

export interface ArpPacket {
  kind: 'arp';
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface Ipv4Packet {
  kind: 'ipv4';
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  /** DSCP and ECN byte. */
  tos: number;
  id: number;
  /** Header length in bytes (20..60, options included). */
  headerLength: number;
  totalLength: number;
  checksum: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes; only the fragment at offset 0 carries the L4 header. */
  fragOffset: number;
  /** Fewer bytes captured than totalLength says (packet-in max_len cut it). */
  truncated: boolean;
}

export interface Ipv6Packet {
  kind: 'ipv6';
  src: string;
  dst: string;
  /** The upper-layer protocol after the extension headers that were skipped. */
  proto: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Extension header types walked through, in order (0, 43, 44, 51, 60). */
  extHeaders: number[];
  /** Present when a fragment header was seen; offset in bytes. */
  fragment?: { offset: number; more: boolean; id: number };
  truncated: boolean;
}

export interface OtherL3 {
  kind: 'other';
  ethType: number;
}

export type L3 = ArpPacket | Ipv4Packet | Ipv6Packet | OtherL3;

export interface TcpSegment {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  /** Acknowledgement number (the `ack` boolean is the ACK flag). */
  ackNum: number;
  /** Header length in bytes (data offset × 4). */
  headerLength: number;
  /** TCP_FLAGS bit set, NS included. */
  flags: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  psh: boolean;
  window: number;
  checksum: number;
}

export interface UdpDatagram {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}

export interface IcmpMessage {
  kind: 'icmp';
  type: number;
  code: number;
  checksum: number;
}

export interface Icmpv6Message {
  kind: 'icmpv6';
  type: number;
  code: number;
  checksum: number;
}

export interface NoL4 {
  kind: 'none';
}

export type L4 = TcpSegment | UdpDatagram | IcmpMessage | Icmpv6Message | NoL4;

export interface ParsedPacket {
  eth: EthHeader;
  l3: L3;
  l4: L4;
  /** Offset of the L3 header (after Ethernet and VLAN tags). */
  l3Offset: number;
  /** Offset of the L4 payload, or -1 when there is no L4 header. */
  payloadOffset: number;
}

export type PacketParseResult = { ok: true; packet: ParsedPacket } | { ok: false; error: string };

/** IPv4 TCP/UDP 5-tuple plus TCP flags, read without allocating strings. */
export interface FlowKey {
  /** u32 */
  srcIp: number;
  /** u32 */
  dstIp: number;
  proto: number;
  srcPort: number;
  dstPort: number;
  /** TCP_FLAGS bit set; 0 for UDP. */
  tcpFlags: number;
}
