// Switch lifecycle and switch events: a switch comes up (its pipeline, a sweep of flows left by
// removed services, a pin audit, ARP probes), goes down or away for good; packet-ins that are not
// query-slot packets, port status, and rejected messages.

import { groupDelete } from '../../../openflow/builders.js';
import type { MessageOf, MultipartReplyBody } from '../../../openflow/types.js';
import { SERVICE_COOKIE_SPACE, groupIdFor, serviceRulesMatch } from '../cookies.js';
import { arpPacket, probeInto } from './arp.js';
import type { Effects, SwitchInfo } from './effects.js';
import { begin, emit, type CoreState } from './state.js';
import { auditPinsOn } from './stats.js';
import { deleteByCookie, flowDump, staleServicesOfFlows, staleServicesOfGroups } from './switch-replies.js';
import { syncSwitch } from './sync.js';

export function switchUp(s: CoreState, sw: SwitchInfo, now: number): Effects {
  const fx = begin(s, now);
  s.switches.delete(sw.dpidHex);
  s.switches.set(sw.dpidHex, sw);
  fx.events.push(...s.switchEvents.admit({ type: 'switch_up', dpid: sw.dpidHex, version: sw.version }, now));
  const gt = sw.groupTypes;
  if (gt.length > 0 && !gt.includes('select')) {
    // Every service needs a select group: say so plainly rather than through each group_mod error.
    emit(s, { type: 'error', message: `switch ${sw.dpidHex} has no select groups (it offers ${gt.join(', ')}): no service can be installed on it` });
  }
  // Flows and groups of services removed while this controller was away: nobody else deletes them.
  fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'sweep_flows' }, body: flowDump(SERVICE_COOKIE_SPACE.cookie, SERVICE_COOKIE_SPACE.mask) });
  syncSwitch(s, sw);
  auditPinsOn(s, sw);
  probeInto(s, now, true);
  return fx;
}

/** The switch disconnected (the shell checked that no newer connection replaced it). */
export function switchDown(s: CoreState, dpidHex: string, now: number): Effects {
  const fx = begin(s, now);
  s.switches.delete(dpidHex);
  for (const st of s.services.values()) st.connections.delete(dpidHex);
  fx.events.push(...s.switchEvents.admit({ type: 'switch_down', dpid: dpidHex }, now));
  return fx;
}

/** The switch left for good: forget what was kept for it, so switches that come and go (or
 * forged datapath ids) cost nothing once gone. */
export function switchGone(s: CoreState, dpidHex: string): void {
  for (const st of s.services.values()) {
    st.forgetSwitch(dpidHex);
    s.lastBucketStats.delete(`${dpidHex}/${st.service.id}`);
  }
  s.lastErrorEvent.delete(dpidHex);
}

/** A packet-in that is not for a query slot (ARP, health monitor). */
export function packetIn(s: CoreState, dpidHex: string, data: Buffer, inPort: number | undefined, now: number): Effects {
  const fx = begin(s, now);
  const sw = s.switches.get(dpidHex);
  if (!sw || data.length < 14) return fx;
  if (s.health.packetIn(sw, data, inPort, now)) return fx;
  if (data.readUInt16BE(12) === 0x0806) arpPacket(s, sw, data, inPort, now);
  return fx;
}

/** A port went down or away: the backends behind it are down at once (health-monitor.ts). */
export function portStatus(s: CoreState, dpidHex: string, msg: MessageOf<'port_status'>, now: number): Effects {
  const fx = begin(s, now);
  const sw = s.switches.get(dpidHex);
  if (sw) s.health.portStatus(sw, msg, now);
  return fx;
}

/** A switch rejected a fire-and-forget message (a pin, a pin delete or repoint): say so, at most
 * once a second per switch so a burst does not flood the event log. */
export function switchError(s: CoreState, dpidHex: string, what: string, now: number): Effects {
  const fx = begin(s, now);
  if (now - (s.lastErrorEvent.get(dpidHex) ?? 0) < 1_000) return fx;
  s.lastErrorEvent.set(dpidHex, now);
  emit(s, { type: 'error', message: `switch ${dpidHex} rejected a message: ${what}` });
  return fx;
}

/** Services removed while this controller was away: their flows (then their groups) are deleted. */
export function sweepFlows(s: CoreState, dpidHex: string, parts: readonly MultipartReplyBody[]): void {
  const sw = s.switches.get(dpidHex);
  if (!sw) return;
  const stale = staleServicesOfFlows(parts, (id) => s.byId.has(id));
  s.fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'sweep_groups', stale: [...stale] }, body: { kind: 'group_desc' } });
}

export function sweepGroups(s: CoreState, dpidHex: string, staleFlows: readonly number[], parts: readonly MultipartReplyBody[]): void {
  const sw = s.switches.get(dpidHex);
  if (!sw) return;
  const stale = new Set(staleFlows.filter((id) => !s.byId.has(id)));
  for (const id of staleServicesOfGroups(parts, (x) => s.byId.has(x))) stale.add(id);
  for (const id of stale) {
    const space = serviceRulesMatch(id);
    s.fx.send(sw.dpid, deleteByCookie(space.cookie, space.mask));
    s.fx.send(sw.dpid, groupDelete(groupIdFor(id), 'select'));
  }
  if (stale.size > 0) s.fx.log('info', { dpid: dpidHex, services: [...stale] }, 'deleted the flows of services that no longer exist');
}
