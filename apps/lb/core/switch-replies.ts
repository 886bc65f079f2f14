// The requests the core sends to switches and what it reads out of their replies: flow dumps
// (pins by cookie, services that no longer exist), group descriptions, group statistics.
// Pure functions; the core (lb-core.ts) applies what they find to its state.

import type { OfMessageInput } from '../../../controller/app.js';
import { parseIpv4 } from '../../../openflow/packet/addr.js';
import { matchValue } from '../../../openflow/oxm.js';
import { flowDelete } from '../../../openflow/builders.js';
import { OFPG, OFPP, OFPTT_ALL, type Match, type MultipartReplyBody, type MultipartRequestBody } from '../../../openflow/types.js';
import { parseCookie, SERVICE_ID_MAX } from '../cookies.js';
import { FlowTable } from '../flow-table.js';

/** Deletes every flow whose cookie matches (pins of a backend or service, a stale service's rules). */
export function deleteByCookie(cookie: bigint, cookieMask: bigint): OfMessageInput {
  return flowDelete({ cookie, tableId: OFPTT_ALL }, { strict: false, cookieMask });
}

/** A flow dump of every table, flows selected by cookie. */
export function flowDump(cookie: bigint, cookieMask: bigint): MultipartRequestBody {
  return { kind: 'flow', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask, match: [] } };
}

/** The client side (source address and port) of a pin's match. */
export function clientOf(m: Match): { srcIp: number; srcPort: number } | undefined {
  const ip = matchValue(m, 'ipv4_src');
  const port = matchValue(m, 'tcp_src') ?? matchValue(m, 'udp_src');
  if (typeof ip !== 'string' || typeof port !== 'number') return undefined;
  const n = parseIpv4(ip);
  return n === null ? undefined : { srcIp: n, srcPort: port };
}

/** The pins in a flow dump, by service id: (client address, port) → backend id. */
export function pinsOfDump(parts: readonly MultipartReplyBody[]): Map<number, FlowTable> {
  const dumped = new Map<number, FlowTable>();
  for (const part of parts) {
    if (part.kind !== 'flow') continue;
    for (const f of part.flows) {
      const c = parseCookie(f.cookie);
      const client = clientOf(f.match);
      if (c.kind !== 'pin' || !client) continue;
      let m = dumped.get(c.serviceId);
      if (!m) dumped.set(c.serviceId, (m = new FlowTable()));
      m.set(client.srcIp, client.srcPort, c.backendId);
    }
  }
  return dumped;
}

/** Services whose rules a flow dump holds but that no longer `exist`. */
export function staleServicesOfFlows(parts: readonly MultipartReplyBody[], exists: (id: number) => boolean): Set<number> {
  const stale = new Set<number>();
  for (const p of parts) {
    if (p.kind !== 'flow') continue;
    for (const f of p.flows) {
      const c = parseCookie(f.cookie);
      if (c.kind === 'service' && c.serviceId !== 0 && !exists(c.serviceId)) stale.add(c.serviceId);
    }
  }
  return stale;
}

/** Services whose group a group description holds but that no longer `exist`. */
export function staleServicesOfGroups(parts: readonly MultipartReplyBody[], exists: (id: number) => boolean): Set<number> {
  const stale = new Set<number>();
  for (const p of parts) {
    if (p.kind !== 'group_desc') continue;
    for (const g of p.groups) if (g.groupId >= 1 && g.groupId <= SERVICE_ID_MAX && !exists(g.groupId)) stale.add(g.groupId);
  }
  return stale;
}

export interface BucketCounts { packetCount: bigint; byteCount: bigint }

/** The buckets of a service's group in a group-statistics reply. */
export function bucketsOfGroupStats(parts: readonly MultipartReplyBody[]): BucketCounts[][] {
  const out: BucketCounts[][] = [];
  for (const part of parts) {
    if (part.kind !== 'group') continue;
    for (const g of part.groups) out.push(g.buckets);
  }
  return out;
}
