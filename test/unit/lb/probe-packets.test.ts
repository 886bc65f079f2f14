import { describe, expect, it } from 'vitest';
import { buildIpv4Tcp, buildIpv4Udp, buildArpRequest } from '../../../openflow/packet/build.js';
import { parsePacket } from '../../../openflow/packet/parse.js';
import { TCP_FLAGS } from '../../../openflow/packet/types.js';
import {
  classifyMonitorPacket, httpStatusOf, monitorArpReply, tcpSyn, udpProbe, type MonitorAddress,
} from '../../../apps/lb/probe-packets.js';
import { onIcmpUnreachable, onTcpAnswer, onTimeout, onUdpAnswer, type Probe } from '../../../apps/lb/probe-session.js';

const m: MonitorAddress = { mac: '02:48:46:ff:ff:fe', ip: '10.0.0.250' };
const backendMac = '02:00:00:00:00:0b';
const target = { mac: backendMac, ip: '10.0.0.11', port: 8080 };

function probe(kind: Probe['kind'], over: Partial<Probe> = {}): Probe {
  return {
    kind, backendId: 7, serviceId: 1, port: 20001, target, seq: 1000, sentAt: 100, deadline: 1100, phase: 'open', sent: 0,
    dpid: '0000000000000001', outPort: 3, ...(kind === 'http' ? { http: { path: '/health', status: { min: 200, max: 399 } } } : {}), ...over,
  };
}

/** A segment from the backend to the monitor. */
function fromBackend(flags: number, seq: number, ackNum: number, payload?: Buffer): Buffer {
  return buildIpv4Tcp({
    ethSrc: backendMac, ethDst: m.mac, src: target.ip, dst: m.ip, srcPort: 8080, dstPort: 20001, flags, seq, ackNum, ...(payload ? { payload } : {}),
  });
}

function tcpOf(b: Buffer) {
  const p = parsePacket(b);
  if (!p.ok || p.packet.l4.kind !== 'tcp' || p.packet.l3.kind !== 'ipv4') throw new Error('not tcp');
  return { ...p.packet.l4, ip: p.packet.l3, eth: p.packet.eth, payload: b.subarray(p.packet.payloadOffset) };
}

describe('probe frames', () => {
  it('a SYN from the monitor to the backend', () => {
    const t = tcpOf(tcpSyn(m, target, 20001, 1000));
    expect(t).toMatchObject({ srcPort: 20001, dstPort: 8080, seq: 1000, syn: true, ack: false, eth: { src: m.mac, dst: backendMac }, ip: { src: m.ip, dst: '10.0.0.11' } });
  });

  it('a UDP datagram', () => {
    const p = parsePacket(udpProbe(m, { ...target, port: 5353 }, 20002));
    expect(p.ok && p.packet.l4).toMatchObject({ kind: 'udp', srcPort: 20002, dstPort: 5353 });
  });

  it('answers ARP for the monitor IP', () => {
    const req = buildArpRequest({ senderMac: backendMac, senderIp: '10.0.0.11', targetIp: m.ip });
    expect(classifyMonitorPacket(req, m)).toEqual({ kind: 'arp-request', sha: backendMac, spa: '10.0.0.11' });
    const other = buildArpRequest({ senderMac: backendMac, senderIp: '10.0.0.11', targetIp: '10.0.0.1' });
    expect(classifyMonitorPacket(other, m)).toBeNull();
    const p = parsePacket(monitorArpReply(m, backendMac, '10.0.0.11'));
    expect(p.ok && p.packet.l3).toMatchObject({ kind: 'arp', op: 2, sha: m.mac, spa: m.ip, tha: backendMac, tpa: '10.0.0.11' });
  });

  it('reads the status line of an HTTP answer', () => {
    expect(httpStatusOf(Buffer.from('HTTP/1.1 500 Internal Server Error\r\n'))).toBe(500);
    expect(httpStatusOf(Buffer.from('HTTP/1.0 200 OK\r\n'))).toBe(200);
    expect(httpStatusOf(Buffer.from('hello\n'))).toBeNull();
  });
});

describe('probe conversations', () => {
  it('tcp: SYN-ACK is up, answered with an RST at the next sequence number', () => {
    const a = classifyMonitorPacket(fromBackend(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 5000, 1001), m);
    expect(a?.kind).toBe('tcp');
    const step = onTcpAnswer(probe('tcp'), a as Extract<typeof a, { kind: 'tcp' }>, m, 103);
    expect(step.result).toEqual({ ok: true, detail: 'syn-ack', rttMs: 3 });
    expect(tcpOf(step.send[0]!)).toMatchObject({ rst: true, seq: 1001, srcPort: 20001, dstPort: 8080 });
  });

  it('tcp: RST is a failed check; a SYN-ACK for another sequence number or from elsewhere is ignored', () => {
    const rst = classifyMonitorPacket(fromBackend(TCP_FLAGS.RST | TCP_FLAGS.ACK, 0, 1001), m)!;
    expect(rst.kind === 'tcp' && onTcpAnswer(probe('tcp'), rst, m, 101).result).toMatchObject({ ok: false, detail: 'connection refused (RST)' });
    const wrong = classifyMonitorPacket(fromBackend(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 5000, 77), m)!;
    expect(wrong.kind === 'tcp' && onTcpAnswer(probe('tcp'), wrong, m, 101)).toEqual({ send: [] });
    const ok = classifyMonitorPacket(fromBackend(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 5000, 1001), m)!;
    expect(ok.kind === 'tcp' && onTcpAnswer(probe('tcp', { target: { ...target, ip: '10.0.0.12' } }), ok, m, 101)).toEqual({ send: [] });
  });

  it('http: SYN-ACK → request; the status line decides; RST ends it', () => {
    const p = probe('http');
    const synack = classifyMonitorPacket(fromBackend(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 5000, 1001), m)!;
    const s1 = synack.kind === 'tcp' ? onTcpAnswer(p, synack, m, 102) : undefined;
    expect(s1?.result).toBeUndefined();
    const req = tcpOf(s1!.send[0]!);
    expect(req).toMatchObject({ seq: 1001, ackNum: 5001, ack: true, psh: true });
    expect(req.payload.toString()).toMatch(/^GET \/health HTTP\/1.0\r\n/);
    expect(p.phase).toBe('request');
    const data = classifyMonitorPacket(fromBackend(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 5001, 1001 + p.sent, Buffer.from('HTTP/1.1 500 Oops\r\n\r\n')), m)!;
    const s2 = data.kind === 'tcp' ? onTcpAnswer(p, data, m, 110) : undefined;
    expect(s2?.result).toEqual({ ok: false, detail: 'http 500 (expected 200-399)', rttMs: 10 });
    expect(tcpOf(s2!.send[0]!)).toMatchObject({ rst: true, seq: 1001 + p.sent });
    const empty = classifyMonitorPacket(fromBackend(TCP_FLAGS.ACK, 5001, 1001 + p.sent), m)!;
    expect(empty.kind === 'tcp' && onTcpAnswer(p, empty, m, 105).result).toBeUndefined();
  });

  it('udp: a reply is up, ICMP port unreachable is down, silence depends on ARP', () => {
    const reply = classifyMonitorPacket(buildIpv4Udp({ ethSrc: backendMac, ethDst: m.mac, src: target.ip, dst: m.ip, srcPort: 8080, dstPort: 20001 }), m)!;
    expect(reply.kind === 'udp' && onUdpAnswer(probe('udp'), reply, 104).result).toEqual({ ok: true, detail: 'udp reply', rttMs: 4 });
    // ICMP port unreachable quoting our probe: type 3 code 3, 4 unused bytes, the IP header + 8 bytes.
    const quoted = udpProbe(m, target, 20001).subarray(14, 14 + 28);
    const icmpBody = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), quoted]);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45; ip.writeUInt16BE(20 + icmpBody.length, 2); ip[8] = 64; ip[9] = 1;
    Buffer.from([10, 0, 0, 11]).copy(ip, 12); Buffer.from([10, 0, 0, 250]).copy(ip, 16);
    const eth = Buffer.alloc(14);
    Buffer.from([2, 0x48, 0x46, 0xff, 0xff, 0xfe]).copy(eth, 0); Buffer.from([2, 0, 0, 0, 0, 0x0b]).copy(eth, 6); eth.writeUInt16BE(0x0800, 12);
    const icmp = classifyMonitorPacket(Buffer.concat([eth, ip, icmpBody]), m);
    expect(icmp).toMatchObject({ kind: 'icmp-unreachable', code: 3, probePort: 20001, quotedDstIp: '10.0.0.11', quotedDstPort: 8080, quotedProto: 17 });
    expect(icmp?.kind === 'icmp-unreachable' && onIcmpUnreachable(probe('udp'), icmp, 102).result).toMatchObject({ ok: false, detail: 'icmp port unreachable' });
    expect(onTimeout(probe('udp'), m, 1000, true).result?.ok).toBe(true);
    expect(onTimeout(probe('udp'), m, 1000, false).result?.ok).toBe(false);
    expect(onTimeout(probe('tcp'), m, 1000, true).result).toEqual({ ok: false, detail: 'no answer within 1000 ms' });
  });
});
