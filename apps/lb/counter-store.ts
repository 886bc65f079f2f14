// Counters that survive a controller restart: each backend's traffic ledger (published totals and
// the part of them that was not a live entry) and each service's controller counters, written to
// the store every few seconds and at stop, read back at start. A crash loses what was counted
// since the last write for the controller counters; traffic of entries still live is counted again
// by the switches' aggregates (traffic-ledger.ts), so only entries that ended unseen are lost.

import type { LbStore } from './store.js';
import type { ServiceState } from './service-state.js';

export function saveCounters(store: LbStore, services: Iterable<ServiceState>, at: number): void {
  const backends = [];
  const svcs = [];
  for (const st of services) {
    svcs.push({ serviceId: st.service.id, ...st.counters });
    for (const id of st.backends.keys()) {
      const { totals, base } = st.ledger.snapshot(id);
      backends.push({
        backendId: id, packets: totals.packets, bytes: totals.bytes, opened: totals.opened,
        basePackets: base.packets, baseBytes: base.bytes, baseOpened: base.opened,
      });
    }
  }
  store.saveCounters(backends, svcs, at);
}

export function restoreCounters(store: LbStore, byId: ReadonlyMap<number, ServiceState>): void {
  const owner = new Map<number, ServiceState>();
  for (const st of byId.values()) for (const id of st.backends.keys()) owner.set(id, st);
  for (const r of store.loadBackendCounters()) {
    owner.get(r.backendId)?.ledger.restore(r.backendId, {
      totals: { packets: r.packets, bytes: r.bytes, opened: r.opened },
      base: { packets: r.basePackets, bytes: r.baseBytes, opened: r.baseOpened },
    });
  }
  for (const r of store.loadServiceCounters()) {
    const st = byId.get(r.serviceId);
    if (!st) continue;
    st.counters.packetIns = r.packetIns;
    st.counters.pinsInstalled = r.pinsInstalled;
    st.counters.pinsRemoved = r.pinsRemoved;
  }
}
