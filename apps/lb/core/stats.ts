// Statistics, connection counts and pin audits: the requests the core asks switches for, and what
// their replies change (slot activity, traffic per backend, connection counts, the pin registry).

import { OFPG, OFPP, OFPTT_ALL, type MultipartReplyBody } from '../../../openflow/types.js';
import { COOKIE_KIND_PIN, groupIdFor, pinCookieMatch } from '../cookies.js';
import { FlowTable } from '../flow-table.js';
import type { Effects, SwitchInfo } from './effects.js';
import { begin, type CoreState } from './state.js';
import { servesSwitch } from './switch-pipeline.js';
import { bucketsOfGroupStats, flowDump, pinsOfDump } from './switch-replies.js';

/** Every backend's connections are counted once in this many rounds of counting. */
const ALL_COUNT_EVERY = 5;
const PIN_KIND_MASK = 0xffn << 56n;

/** Group statistics of every service on every switch: per-slot activity and traffic per owner. */
export function collectStats(s: CoreState): Effects {
  const fx = begin(s);
  for (const sw of s.switches.values()) {
    for (const st of s.services.values()) {
      if (!servesSwitch(st.service, sw.dpidHex)) continue;
      fx.switches.push({
        kind: 'request', dpid: sw.dpid, timeoutMs: 5_000, purpose: { kind: 'group_stats', serviceId: st.service.id },
        body: { kind: 'group', groupId: groupIdFor(st.service.id) },
      });
    }
  }
  return fx;
}

/**
 * Asks every switch how many exact connection entries (pins and learned entries share the
 * backend's cookie) it holds per backend, with their packet and byte totals: one aggregate
 * request per backend. Drains complete on these counts; the traffic of pinned flows is their
 * deltas. A round starts only when the last one is answered.
 */
export function countConnections(s: CoreState, now: number): Effects {
  const fx = begin(s, now);
  if (s.countsOutstanding > 0) return fx;
  // Each aggregate request walks the switch's whole flow table: draining backends (whose drain
  // ends on the count) are counted every round, the others every ALL_COUNT_EVERY rounds.
  const everyone = s.countRounds++ % ALL_COUNT_EVERY === 0;
  for (const sw of s.switches.values()) {
    for (const st of s.services.values()) {
      if (!servesSwitch(st.service, sw.dpidHex)) continue;
      for (const b of st.backends.values()) {
        if (!(everyone || b.state === 'draining' || !st.connections.get(sw.dpidHex)?.has(b.id))) continue;
        const { cookie, mask } = pinCookieMatch(st.service.id, b.id);
        const ticket = st.ledger.countStarted(sw.dpidHex, b.id);
        s.countsOutstanding++;
        fx.switches.push({
          kind: 'request', dpid: sw.dpid, timeoutMs: 5_000, purpose: { kind: 'count', serviceId: st.service.id, backend: b.id, ticket, at: now },
          body: { kind: 'aggregate', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: mask, match: [] } },
        });
      }
    }
  }
  return fx;
}

/** Pin audits of every switch. */
export function auditPins(s: CoreState): Effects {
  const fx = begin(s);
  for (const sw of s.switches.values()) auditPinsOn(s, sw);
  return fx;
}

/** Asks for the pins of one switch (cookies say service and backend); replaces the registry at the reply. */
export function auditPinsOn(s: CoreState, sw: SwitchInfo): void {
  if (s.auditing.has(sw.dpidHex)) return;
  const added = new Map<number, FlowTable>();
  for (const id of s.byId.keys()) added.set(id, new FlowTable(16));
  s.auditing.set(sw.dpidHex, added);
  s.fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'audit' }, body: flowDump(COOKIE_KIND_PIN << 56n, PIN_KIND_MASK) });
}

export function countDone(s: CoreState, dpidHex: string, serviceId: number, backend: number, ticket: number, at: number, parts: readonly MultipartReplyBody[]): void {
  const agg = parts.find((p) => p.kind === 'aggregate');
  const st = s.byId.get(serviceId);
  if (!agg || agg.kind !== 'aggregate' || !st || !st.backends.has(backend)) return;
  let m = st.connections.get(dpidHex);
  if (!m) st.connections.set(dpidHex, (m = new Map()));
  st.ledger.countDone(dpidHex, backend, ticket, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount });
  m.set(backend, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount, at });
}

export function auditDone(s: CoreState, dpidHex: string, parts: readonly MultipartReplyBody[], now: number): void {
  const added = s.auditing.get(dpidHex);
  s.auditing.delete(dpidHex);
  const dumped = pinsOfDump(parts);
  for (const [id, st] of s.byId) {
    st.replacePins(dpidHex, dumped.get(id) ?? new FlowTable(), added?.get(id) ?? new FlowTable(16), now);
  }
}

/** Per-slot activity (least-active slots move first) and bucket traffic per owner, from the
 * packet counts since the last statistics of the same group. */
export function groupStats(s: CoreState, dpidHex: string, serviceId: number, parts: readonly MultipartReplyBody[]): void {
  const st = s.byId.get(serviceId);
  if (!st) return;
  const secs = s.cfg.statsIntervalMs / 1000;
  for (const cur of bucketsOfGroupStats(parts)) {
    const key = `${dpidHex}/${serviceId}`;
    const prev = s.lastBucketStats.get(key);
    s.lastBucketStats.set(key, cur);
    if (!prev || prev.length !== cur.length) continue;
    for (let i = 0; i < cur.length && i < st.activity.length; i++) {
      const dp = Number(cur[i].packetCount - prev[i].packetCount);
      if (dp < 0) continue;
      st.activity[i] = st.activity[i] * 0.5 + (dp / secs) * 0.5;
      const bucket = st.table.bucket(i);
      if (bucket.kind === 'forward' && dp > 0) {
        st.ledger.bucketTraffic(bucket.backend, dp, Number(cur[i].byteCount - prev[i].byteCount));
      }
    }
  }
}
