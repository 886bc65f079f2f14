// Health probe frames and the answers to them: what the controller sends by packet-out from its
// monitor address (a TCP SYN, a UDP datagram, the few segments of an HTTP check, the RST that ends
// a probe, ARP replies for the monitor IP), and what the backends send back to the monitor MAC.
// Pure: bytes in, bytes or a typed answer out.

import { buildArpReply, buildIpv4Tcp, buildIpv4Udp } from '../../openflow/packet/build.js';
import { parsePacket } from '../../openflow/packet/parse.js';
import { numberToIpv4 } from '../../openflow/packet/addr.js';
import { IP_PROTO, TCP_FLAGS } from '../../openflow/packet/types.js';

/** The identity probes come from. The IP must be an unused address in the backends' subnet. */
export interface MonitorAddress {
  mac: string;
  ip: string;
}

export const DEFAULT_MONITOR_MAC = '02:48:46:ff:ff:fe';

/** Probe source ports: each probe in flight has its own, which is how an answer finds its probe. */
export const PROBE_PORT_MIN = 20_000;
export const PROBE_PORT_MAX = 59_999;

/** Where a probe goes: the backend's MAC, and the address and port it serves on (nat: its own IP
 * and port; dsr: the VIP and the service port, which the backend owns on loopback). */
export interface ProbeTarget {
  mac: string;
  ip: string;
  port: number;
}

const UDP_PAYLOAD = Buffer.from('holdfast health check\n');

export function tcpSyn(m: MonitorAddress, t: ProbeTarget, srcPort: number, seq: number): Buffer {
  return buildIpv4Tcp({
    ethSrc: m.mac, ethDst: t.mac, src: m.ip, dst: t.ip, srcPort, dstPort: t.port, flags: TCP_FLAGS.SYN, seq, window: 1024,
  });
}

/** Ends a probe's connection: an RST with the sequence number the backend expects next. */
export function tcpRst(m: MonitorAddress, t: ProbeTarget, srcPort: number, seq: number): Buffer {
  return buildIpv4Tcp({ ethSrc: m.mac, ethDst: t.mac, src: m.ip, dst: t.ip, srcPort, dstPort: t.port, flags: TCP_FLAGS.RST, seq, window: 0 });
}

/** An ACK (with data when `payload` is given: PSH too). */
export function tcpAck(m: MonitorAddress, t: ProbeTarget, srcPort: number, seq: number, ackNum: number, payload?: Buffer): Buffer {
  return buildIpv4Tcp({
    ethSrc: m.mac, ethDst: t.mac, src: m.ip, dst: t.ip, srcPort, dstPort: t.port,
    flags: TCP_FLAGS.ACK | (payload ? TCP_FLAGS.PSH : 0), seq, ackNum, window: 8192, ...(payload ? { payload } : {}),
  });
}

export function udpProbe(m: MonitorAddress, t: ProbeTarget, srcPort: number): Buffer {
  return buildIpv4Udp({ ethSrc: m.mac, ethDst: t.mac, src: m.ip, dst: t.ip, srcPort, dstPort: t.port, payload: UDP_PAYLOAD });
}

/** The request of an HTTP check: one segment, the connection closed after the answer. */
export function httpRequest(path: string, host: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: holdfast-health\r\nConnection: close\r\n\r\n`, 'latin1');
}

/** The status code of an HTTP response's first line, or null when `data` does not start one. */
export function httpStatusOf(data: Buffer): number | null {
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})[ \r\n]/.exec(data.subarray(0, 64).toString('latin1'));
  return m ? Number(m[1]) : null;
}

/** "monitorIp is at monitorMac", to whoever asked. */
export function monitorArpReply(m: MonitorAddress, askerMac: string, askerIp: string): Buffer {
  return buildArpReply({ senderMac: m.mac, senderIp: m.ip, targetMac: askerMac, targetIp: askerIp });
}

/** What reached the controller through the monitor's flows. */
export type MonitorPacket =
  | { kind: 'arp-request'; sha: string; spa: string }
  | {
    kind: 'tcp'; srcIp: string; srcPort: number; probePort: number; flags: number; seq: number; ackNum: number;
    /** TCP payload bytes (a copy-free view into the packet). */
    payload: Buffer;
  }
  | { kind: 'udp'; srcIp: string; srcPort: number; probePort: number }
  /** An ICMP destination unreachable about one of our probes (the datagram it quotes). */
  | { kind: 'icmp-unreachable'; code: number; srcIp: string; probePort: number; quotedDstIp: string; quotedDstPort: number; quotedProto: number };

export const TCP_SYNACK = TCP_FLAGS.SYN | TCP_FLAGS.ACK;

/**
 * Reads a packet sent to the monitor: an ARP request for its IP, or an IPv4 TCP/UDP/ICMP packet
 * addressed to it. Anything else is null.
 */
export function classifyMonitorPacket(data: Buffer, m: MonitorAddress): MonitorPacket | null {
  const p = parsePacket(data);
  if (!p.ok) return null;
  const { l3, l4 } = p.packet;
  if (l3.kind === 'arp') {
    return l3.op === 1 && l3.tpa === m.ip ? { kind: 'arp-request', sha: l3.sha, spa: l3.spa } : null;
  }
  if (l3.kind !== 'ipv4' || l3.dst !== m.ip) return null;
  if (l4.kind === 'tcp') {
    const ipEnd = p.packet.l3Offset + Math.min(l3.totalLength, data.length - p.packet.l3Offset);
    const payload = p.packet.payloadOffset >= 0 && p.packet.payloadOffset < ipEnd ? data.subarray(p.packet.payloadOffset, ipEnd) : Buffer.alloc(0);
    return { kind: 'tcp', srcIp: l3.src, srcPort: l4.srcPort, probePort: l4.dstPort, flags: l4.flags, seq: l4.seq, ackNum: l4.ackNum, payload };
  }
  if (l4.kind === 'udp') return { kind: 'udp', srcIp: l3.src, srcPort: l4.srcPort, probePort: l4.dstPort };
  if (l4.kind === 'icmp' && l4.type === 3) {
    // Type 3 (destination unreachable): 4 unused bytes, then the IP header and 8 bytes of the datagram.
    const q = p.packet.payloadOffset + 4;
    if (q + 20 > data.length || data[q] >> 4 !== 4) return null;
    const ihl = (data[q] & 0x0f) * 4;
    if (ihl < 20 || q + ihl + 4 > data.length) return null;
    const quotedSrc = numberToIpv4(data.readUInt32BE(q + 12));
    if (quotedSrc !== m.ip) return null;
    return {
      kind: 'icmp-unreachable', code: l4.code, srcIp: l3.src,
      quotedProto: data[q + 9], quotedDstIp: numberToIpv4(data.readUInt32BE(q + 16)),
      probePort: data.readUInt16BE(q + ihl), quotedDstPort: data.readUInt16BE(q + ihl + 2),
    };
  }
  return null;
}

export const ICMP_PORT_UNREACHABLE = 3;
export { IP_PROTO };
