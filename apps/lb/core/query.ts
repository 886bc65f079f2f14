// Query/reply, the hot path: a packet from a query slot becomes a pin plus a packet-out. The
// answer is filled into one reused object (QueryScratch, made once per core) so that a packet-in
// costs no allocation when the pre-encoded templates fit. Also the end of a pin (flow removed).

import type { OfMessageInput } from '../../../controller/app.js';
import { packetOut } from '../../../openflow/builders.js';
import { numberToIpv4 } from '../../../openflow/packet/addr.js';
import { extractFlowKeyInto } from '../../../openflow/packet/flowkey.js';
import type { FlowKey } from '../../../openflow/packet/types.js';
import { OFPP, type MessageOf, type WireVersion } from '../../../openflow/types.js';
import { parseCookie, parseMarkerMac } from '../cookies.js';
import { forwardActions, pinFlowMod } from '../pipeline.js';
import {
  buildPacketOutTemplate, buildPinTemplate, fillPacketOut, fillPin, templateFits, type PacketOutTemplate, type PinTemplate,
} from '../pin-template.js';
import type { ServiceState, TargetEntry } from '../service-state.js';
import { pinOptions } from './profiles.js';
import type { CoreState } from './state.js';
import { clientOf } from './switch-replies.js';

/** The answer to one query-slot packet. Reused for every packet: read it before the next call. */
export interface QueryAnswer {
  /** 'not_query': no query-slot packet (hand it to packetIn); 'drop': no backend takes it;
   * 'prebuilt': send the filled templates (fillPin if `install`, then fillOut); 'messages': send `messages` (one batch). */
  kind: 'not_query' | 'drop' | 'prebuilt' | 'messages';
  install: boolean;
  pinLength: number;
  outLength: number;
  readonly fillPin: (buf: Buffer, at: number, xid: number) => void;
  readonly fillOut: (buf: Buffer, at: number, xid: number) => void;
  messages: readonly OfMessageInput[];
}

/** The packet being answered, for the fill functions (the hot path is synchronous). */
interface HotPacket { pin?: PinTemplate; out?: PacketOutTemplate; inPort: number; data: Buffer; dpid: string; serviceId: number; backend: number }

/** The hot path's reused objects: the flow key, the answer and the packet being answered. */
export interface QueryScratch {
  readonly fk: FlowKey;
  readonly answer: QueryAnswer;
  readonly hot: HotPacket;
}

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const EMPTY = Buffer.alloc(0);
const NO_MESSAGES: readonly OfMessageInput[] = [];

export function newQueryScratch(): QueryScratch {
  const fk: FlowKey = { srcIp: 0, dstIp: 0, proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0 };
  const hot: HotPacket = { inPort: 0, data: EMPTY, dpid: '', serviceId: 0, backend: 0 };
  const answer: QueryAnswer = {
    kind: 'not_query', install: false, pinLength: 0, outLength: 0, messages: NO_MESSAGES,
    fillPin: (buf, at, xid) => fillPin(hot.pin!, buf, at, xid, fk.srcIp, fk.srcPort),
    fillOut: (buf, at, xid) => fillPacketOut(hot.out!, buf, at, xid, hot.inPort, hot.data),
  };
  return { fk, answer, hot };
}

/**
 * A packet from a query slot becomes a pin plus a packet-out. The shell sends what the answer
 * says, then reports whether the switch took the pin (queryAnswered).
 */
export function queryPacket(
  s: CoreState, q: QueryScratch, dpidHex: string, version: WireVersion, data: Buffer, inPort: number | undefined, now: number,
): QueryAnswer {
  const a = q.answer;
  a.kind = 'not_query';
  a.install = false;
  const mark = data.length >= 14 ? parseMarkerMac(data, 0) : null;
  if (!mark) return a;
  a.kind = 'drop';
  const st = s.byId.get(mark.serviceId);
  const fk = q.fk;
  if (!st || mark.slot >= st.service.slots || !extractFlowKeyInto(data, fk)) return a;
  const isNew = (fk.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN && fk.proto === 6;
  const d = st.decide(dpidHex, mark.slot, fk.srcIp, fk.srcPort, isNew, now);
  if (!d) return a;
  const e = d.entry;
  a.install = d.install;
  const h = q.hot;
  h.dpid = dpidHex;
  h.serviceId = mark.serviceId;
  h.backend = d.backend;
  if (templateFits(e.target, inPort)) {
    // Pre-encoded pin and packet-out: copy and patch, no per-packet objects.
    if (e.version !== version || !e.pin || !e.out) buildTemplates(s, dpidHex, version, st, e);
    h.pin = e.pin!;
    h.out = e.out!;
    h.inPort = inPort!;
    h.data = data;
    a.kind = 'prebuilt';
    a.pinLength = e.pin!.bytes.length;
    a.outLength = e.out!.bytes.length + data.length;
    return a;
  }
  const out = packetOut({ inPort: inPort ?? OFPP.CONTROLLER, actions: forwardActions(st.service, e.target, inPort), data });
  a.kind = 'messages';
  if (!d.install) a.messages = [out];
  else {
    const client = { srcIp: numberToIpv4(fk.srcIp), srcPort: fk.srcPort };
    a.messages = [pinFlowMod(st.service, client, e.target, pinOptions(s, dpidHex)), out];
  }
  return a;
}

/** The shell sent the answer to the last queryPacket: `sent` false when the switch's queue was full. */
export function queryAnswered(s: CoreState, q: QueryScratch, sent: boolean): void {
  const a = q.answer;
  const h = q.hot;
  h.data = EMPTY;
  a.messages = NO_MESSAGES;
  if (!a.install) return;
  const fk = q.fk;
  // Backpressure: forget the pin so the next packet of the flow tries again.
  if (!sent) s.byId.get(h.serviceId)?.pinGone(h.dpid, fk.srcIp, fk.srcPort, h.backend);
  else s.auditing.get(h.dpid)?.get(h.serviceId)?.set(fk.srcIp, fk.srcPort, h.backend);
}

function buildTemplates(s: CoreState, dpidHex: string, version: WireVersion, st: ServiceState, e: TargetEntry): void {
  e.pin = buildPinTemplate(st.service, e.target, version, pinOptions(s, dpidHex));
  e.out = buildPacketOutTemplate(st.service, e.target, version);
  e.version = version;
}

/** A pin (or learned entry) expired or was deleted: its traffic is counted, its pin forgotten. */
export function flowRemoved(s: CoreState, dpidHex: string, msg: MessageOf<'flow_removed'>): void {
  const c = parseCookie(msg.cookie);
  if (c.kind !== 'pin') return;
  const st = s.byId.get(c.serviceId);
  if (st?.backends.has(c.backendId)) st.ledger.flowEnded(dpidHex, c.backendId, msg.packetCount, msg.byteCount);
  const client = clientOf(msg.match);
  if (!st || !client) return;
  st.pinGone(dpidHex, client.srcIp, client.srcPort, c.backendId);
}
