// Desired state on switches: each service is a reconciler owner whose flows and group every switch
// that carries it should hold; the health monitor's rules are one more owner. These functions push
// `desired` effects (and claims, releases, pin deletes); the shell hands them to the reconciler.

import type { DesiredState } from '../../../controller/reconciler.js';
import { groupIdFor, serviceRulesMatch } from '../cookies.js';
import type { Service } from '../model.js';
import { monitorFlows } from '../pipeline.js';
import type { ServiceState } from '../service-state.js';
import type { Effects, SwitchInfo } from './effects.js';
import { profileOf } from './profiles.js';
import { begin, emit, type CoreState } from './state.js';
import { servesSwitch, switchPipeline } from './switch-pipeline.js';
import { deleteByCookie } from './switch-replies.js';

/** Each service is its own reconciler owner (its cookies, its group): a service whose flows or
 * group a switch refuses fails alone, and never holds back another service's changes. */
export const ownerOf = (serviceId: number): string => `lb/${serviceId}`;
export const MONITOR_OWNER = 'lb/monitor';

export function syncService(s: CoreState, st: ServiceState): void {
  for (const sw of s.switches.values()) {
    if (servesSwitch(st.service, sw.dpidHex)) syncSwitch(s, sw);
  }
}

export function syncAllInto(s: CoreState): void {
  for (const sw of s.switches.values()) syncSwitch(s, sw);
}

/** Brings every switch up to date (after a released service's flows are gone). */
export function syncAll(s: CoreState): Effects {
  const fx = begin(s);
  syncAllInto(s);
  return fx;
}

/** The flows and groups of every service on one switch, for the reconciler. */
export function syncSwitch(s: CoreState, sw: SwitchInfo): void {
  const pipeline = switchPipeline(s.services.values(), {
    dpidHex: sw.dpidHex, version: sw.version, profile: profileOf(s, sw.dpidHex), parked: s.parked, finIdleTimeout: s.cfg.finIdleTimeout,
  });
  for (const { st, desired } of pipeline) desire(s, st, sw.dpid, desired);
  const monitor = s.health.monitor;
  s.fx.switches.push({ kind: 'desired', dpid: sw.dpid, owner: MONITOR_OWNER, desired: { flows: monitor ? monitorFlows(monitor) : [], groups: [] }, serviceId: null });
}

function desire(s: CoreState, st: ServiceState, dpid: bigint, desired: DesiredState): void {
  s.fx.switches.push({ kind: 'desired', dpid, owner: ownerOf(st.service.id), desired, serviceId: st.service.id });
}

/**
 * Before the controller goes away: every query slot on a switch of the `openflow13` profile goes
 * back to forwarding (to its old owner while that one can serve), so no packet waits for a
 * controller that is gone. The shell waits for the switches to confirm these desired states.
 */
export function park(s: CoreState): Effects {
  const fx = begin(s);
  s.parked = true;
  for (const sw of s.switches.values()) if (profileOf(s, sw.dpidHex) === 'openflow13') syncSwitch(s, sw);
  return fx;
}

/** What came of a service's desired state on one switch: a refusal marks the service failed on
 * that switch (status, live view, one event per change of its error). `error` undefined: taken. */
export function pipelineResult(s: CoreState, serviceId: number, dpidHex: string, error: string | undefined): Effects {
  const fx = begin(s);
  const st = s.byId.get(serviceId);
  if (!st) return fx;
  const name = st.service.name;
  if (error === undefined) {
    if (st.failedOn.delete(dpidHex)) emit(s, { type: 'error', service: name, message: `switch ${dpidHex} took service ${name}'s pipeline again` });
    return fx;
  }
  if (st.failedOn.get(dpidHex) === error) return fx;
  st.failedOn.set(dpidHex, error);
  fx.log('warn', { dpid: dpidHex, service: name, err: error }, 'a switch refused a service\'s pipeline');
  emit(s, { type: 'error', service: name, message: `switch ${dpidHex} refused service ${name}'s pipeline: ${error}` });
  return fx;
}

/** Claims a service's cookie space and group for the reconciler. */
export function claimService(s: CoreState, service: Service): void {
  const space = serviceRulesMatch(service.id);
  s.fx.runtime.push({
    kind: 'claim', owner: ownerOf(service.id),
    space: { cookie: space.cookie, cookieMask: space.mask, groupIdMin: groupIdFor(service.id), groupIdMax: groupIdFor(service.id) },
  });
}

/** Deletes pins on every switch by cookie (exact backend, or a whole service). */
export function deletePins(s: CoreState, { cookie, mask: cookieMask }: { cookie: bigint; mask: bigint }): void {
  for (const sw of s.switches.values()) s.fx.send(sw.dpid, deleteByCookie(cookie, cookieMask));
}
