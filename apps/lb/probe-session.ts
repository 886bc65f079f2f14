// One health probe in flight, as a conversation: what its answers mean and what to send back. A TCP
// check is a SYN (SYN-ACK: up, answered with RST; RST: down); an HTTP check goes one step further
// on the same minimal TCP (ACK with the request, read the status line from the first data segment,
// RST); a UDP check is a datagram (a reply: up; ICMP port unreachable: down; silence: see
// health.ts udpSilence). Pure: the monitor (core/health-monitor.ts) sends what these return.

import { httpResult, udpSilence, type CheckResult, type HttpCheck } from './health.js';
import {
  httpRequest, httpStatusOf, tcpAck, tcpRst, TCP_SYNACK, type MonitorAddress, type MonitorPacket, type ProbeTarget,
} from './probe-packets.js';
import { TCP_FLAGS } from '../../openflow/packet/types.js';

export type ProbeKind = 'tcp' | 'udp' | 'http';

export interface Probe {
  kind: ProbeKind;
  backendId: number;
  serviceId: number;
  /** Our source port: how answers find the probe. */
  port: number;
  target: ProbeTarget;
  /** Our initial sequence number (tcp/http). */
  seq: number;
  sentAt: number;
  deadline: number;
  /** http: the request is out, waiting for the status line. */
  phase: 'open' | 'request';
  http?: HttpCheck;
  /** http: length of the request sent (our next sequence number is seq + 1 + sent). */
  sent: number;
  /** Where the probe went out (answers come back through the same edge). */
  dpid: string;
  outPort: number;
}

export interface ProbeStep {
  /** Set when the probe is over: its outcome. */
  result?: CheckResult;
  /** Frames to send to the backend (packet-out to the probe's port). */
  send: Buffer[];
}

const NOTHING: ProbeStep = { send: [] };

/** A TCP segment from the backend to one of our probes. */
export function onTcpAnswer(p: Probe, a: Extract<MonitorPacket, { kind: 'tcp' }>, m: MonitorAddress, now: number): ProbeStep {
  if (p.kind === 'udp' || a.srcIp !== p.target.ip || a.srcPort !== p.target.port) return NOTHING;
  const rtt = now - p.sentAt;
  if (a.flags & TCP_FLAGS.RST) {
    return { result: { ok: false, detail: p.phase === 'open' ? 'connection refused (RST)' : 'connection reset before the HTTP answer', rttMs: rtt }, send: [] };
  }
  if ((a.flags & TCP_SYNACK) === TCP_SYNACK) {
    if (p.phase !== 'open' || a.ackNum !== ((p.seq + 1) >>> 0)) return NOTHING;
    if (p.kind === 'tcp') {
      return { result: { ok: true, detail: 'syn-ack', rttMs: rtt }, send: [tcpRst(m, p.target, p.port, (p.seq + 1) >>> 0)] };
    }
    const req = httpRequest(p.http?.path ?? '/', `${p.target.ip}:${p.target.port}`);
    p.phase = 'request';
    p.sent = req.length;
    return { send: [tcpAck(m, p.target, p.port, (p.seq + 1) >>> 0, (a.seq + 1) >>> 0, req)] };
  }
  if (p.kind === 'http' && p.phase === 'request' && a.payload.length > 0) {
    const status = httpStatusOf(a.payload);
    const rst = tcpRst(m, p.target, p.port, (p.seq + 1 + p.sent) >>> 0);
    if (status === null) return { result: { ok: false, detail: 'the answer is not HTTP', rttMs: rtt }, send: [rst] };
    return { result: httpResult(status, p.http!.status, rtt), send: [rst] };
  }
  return NOTHING;
}

/** A UDP datagram from the backend to a UDP probe: the port is served. */
export function onUdpAnswer(p: Probe, a: Extract<MonitorPacket, { kind: 'udp' }>, now: number): ProbeStep {
  if (p.kind !== 'udp' || a.srcIp !== p.target.ip || a.srcPort !== p.target.port) return NOTHING;
  return { result: { ok: true, detail: 'udp reply', rttMs: now - p.sentAt }, send: [] };
}

/** An ICMP destination unreachable quoting one of our probes. */
export function onIcmpUnreachable(p: Probe, a: Extract<MonitorPacket, { kind: 'icmp-unreachable' }>, now: number): ProbeStep {
  if (a.quotedDstIp !== p.target.ip || a.quotedDstPort !== p.target.port) return NOTHING;
  const detail = a.code === 3 ? 'icmp port unreachable' : `icmp destination unreachable (code ${a.code})`;
  return { result: { ok: false, detail, rttMs: now - p.sentAt }, send: [] };
}

/** No (final) answer by the deadline. `arpFresh`: the backend answered ARP lately (UDP silence). */
export function onTimeout(p: Probe, m: MonitorAddress, timeoutMs: number, arpFresh: boolean): ProbeStep {
  if (p.kind === 'udp') return { result: udpSilence(arpFresh), send: [] };
  if (p.phase === 'request') {
    return { result: { ok: false, detail: `no HTTP answer within ${timeoutMs} ms` }, send: [tcpRst(m, p.target, p.port, (p.seq + 1 + p.sent) >>> 0)] };
  }
  return { result: { ok: false, detail: `no answer within ${timeoutMs} ms` }, send: [] };
}
