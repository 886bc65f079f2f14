// The core's start and end: restoring what the store held (services, backends, slot tables,
// counters, forced profiles) and the counters saved so that they survive a restart.

import { SWITCH_PROFILES, type SwitchProfile } from '../../../controller/capabilities.js';
import { serviceRulesMatch } from '../cookies.js';
import type { Backend, Service, SlotTableSnapshot } from '../model.js';
import { ServiceState } from '../service-state.js';
import type { BackendCountersRow, Effects, ServiceCountersRow } from './effects.js';
import { begin, newTable, type CoreState } from './state.js';
import { claimService, MONITOR_OWNER } from './sync.js';

/** What the store held at start. */
export interface SavedState {
  services: { service: Service; slotTable?: SlotTableSnapshot; backends: Backend[] }[];
  switchProfiles: { dpid: string; profile: string }[];
  backendCounters: BackendCountersRow[];
  serviceCounters: ServiceCountersRow[];
}

/** Restores services, backends and slot tables from what the store held. Migrations in flight
 * resume with a fresh window: packets lost while the controller was away get their chance again. */
export function restore(s: CoreState, saved: SavedState, now: number): Effects {
  const fx = begin(s, now);
  for (const p of saved.switchProfiles) {
    if ((SWITCH_PROFILES as readonly string[]).includes(p.profile)) s.forcedProfiles.set(p.dpid, p.profile as SwitchProfile);
  }
  // The health monitor's own rules (cookie service id 0, no group) are one more owner.
  const monitorSpace = serviceRulesMatch(0);
  fx.runtime.push({ kind: 'claim', owner: MONITOR_OWNER, space: { cookie: monitorSpace.cookie, cookieMask: monitorSpace.mask, groupIdMin: 0, groupIdMax: 0 } });
  for (const { service, slotTable: snap, backends } of saved.services) {
    if (snap) for (const m of snap.migrations) { m.startedAt = now; m.lastFromPinAt = now; }
    const st = new ServiceState(service, newTable(service, snap));
    for (const b of backends) {
      st.addBackend(b, now);
      if (b.resolvedMac && b.locations) {
        st.locations.set(b.id, { mac: b.resolvedMac, ports: new Map(Object.entries(b.locations)), static: false, lastSeen: now, misses: 0 });
      }
    }
    s.services.set(service.name, st);
    s.byId.set(service.id, st);
    claimService(s, service);
    // Slots whose owner can no longer serve (removed or down while we were away) move now.
    const change = st.rebalance(now);
    if (change.moved.length > 0 || change.started.length > 0) fx.store.push({ kind: 'save_slot_table', service: service.name, snapshot: st.table.snapshot() });
  }
  const owner = new Map<number, ServiceState>();
  for (const st of s.byId.values()) for (const id of st.backends.keys()) owner.set(id, st);
  for (const r of saved.backendCounters) {
    owner.get(r.backendId)?.ledger.restore(r.backendId, {
      totals: { packets: r.packets, bytes: r.bytes, opened: r.opened },
      base: { packets: r.basePackets, bytes: r.baseBytes, opened: r.baseOpened },
    });
  }
  for (const r of saved.serviceCounters) {
    const st = s.byId.get(r.serviceId);
    if (!st) continue;
    st.counters.packetIns = r.packetIns;
    st.counters.pinsInstalled = r.pinsInstalled;
    st.counters.pinsRemoved = r.pinsRemoved;
  }
  return fx;
}

/** Traffic and controller counters for the store, so they survive a restart. */
export function saveCounters(s: CoreState, now: number): Effects {
  const fx = begin(s, now);
  const backends: BackendCountersRow[] = [];
  const services: ServiceCountersRow[] = [];
  for (const st of s.services.values()) {
    services.push({ serviceId: st.service.id, ...st.counters });
    for (const id of st.backends.keys()) {
      const { totals, base } = st.ledger.snapshot(id);
      backends.push({
        backendId: id, packets: totals.packets, bytes: totals.bytes, opened: totals.opened,
        basePackets: base.packets, baseBytes: base.bytes, baseOpened: base.opened,
      });
    }
  }
  fx.store.push({ kind: 'save_counters', backends, services, at: now });
  return fx;
}
