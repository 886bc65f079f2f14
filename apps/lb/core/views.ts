// What operators see of the core's state: services, backends and the service part of the status.
// Read-only functions of the state (no effects).

import type { BackendView, ServiceView, StatusView } from '../control.js';
import { backendKey, type Backend } from '../model.js';
import type { ServiceState } from '../service-state.js';
import type { HealthMonitor } from './health-monitor.js';

/** A backend id as operators know it (its key), or `#id` once it is gone. */
export function keyOf(st: ServiceState, id: number | null): string | null {
  if (id === null) return null;
  const b = st.backends.get(id);
  return b ? backendKey(b) : `#${id}`;
}

export function backendView(st: ServiceState, b: Backend, health: HealthMonitor): BackendView {
  const c = st.table.countsFor(b.id);
  const t = st.ledger.totals(b.id);
  const loc = st.locations.get(b.id);
  return {
    ...b, key: backendKey(b), slots: c.owned, slotsIncoming: c.incoming, pins: st.pinsOf(b.id),
    connections: st.connectionsOf(b.id) ?? 0,
    traffic: { packets: t.packets, bytes: t.bytes }, connectionsOpened: t.opened,
    ...(loc ? { resolvedMac: loc.mac } : {}),
    health: health.view(st, b),
  };
}

export function serviceView(st: ServiceState, health: HealthMonitor): ServiceView {
  const t = st.table;
  const owners: (string | null)[] = [];
  const querySlots: number[] = [];
  for (let i = 0; i < t.size; i++) {
    owners.push(keyOf(st, t.owner(i)));
    if (t.bucket(i).kind === 'query') querySlots.push(i);
  }
  return {
    ...st.service,
    backends: [...st.backends.values()].map((b) => backendView(st, b, health)),
    slotOwners: owners,
    querySlots,
    migrations: t.migrations().map((m) => ({
      slot: m.slot, from: keyOf(st, m.from), to: keyOf(st, m.to), since: m.startedAt, phase: m.phase,
    })),
    counters: { ...st.counters },
    failedOn: Object.fromEntries(st.failedOn),
  };
}

/** The services' part of the status, with the controller counters summed over them. */
export function servicesStatus(services: Iterable<ServiceState>, slotsMoved: number): Pick<StatusView, 'services' | 'counters'> {
  let migrationsActive = 0;
  const c = { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0 };
  const out = [...services].map((st) => {
    const migrating = st.table.migrations().length;
    migrationsActive += migrating;
    c.packetIns += st.counters.packetIns;
    c.pinsInstalled += st.counters.pinsInstalled;
    c.pinsRemoved += st.counters.pinsRemoved;
    let pins = 0;
    for (const n of st.pinCounts.values()) pins += n;
    let connections = 0;
    for (const b of st.backends.keys()) connections += st.connectionsOf(b) ?? 0;
    const s = st.service;
    return {
      name: s.name, vip: s.vip, port: s.port, proto: s.proto, mode: s.mode,
      backends: st.backends.size,
      activeBackends: [...st.backends.values()].filter((b) => b.state === 'active').length,
      migrating, pins, connections,
    };
  });
  return { services: out, counters: { ...c, migrationsActive, slotsMoved } };
}
