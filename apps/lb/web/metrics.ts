// Turns two successive readings of the LB's cumulative counters into a MetricsSample (rates).
// Pure: the WebSocket hub feeds it a reading per tick.
import type { ServiceView, StatusView } from '../control.js';
import type { BackendTraffic, MetricsSample } from './protocol.js';

export interface Reading {
  at: number;
  counters: StatusView['counters'];
  services: readonly ServiceView[];
}

/** Per second, never negative: a counter that went down (controller restart) counts from zero. */
function rate(now: number, before: number | undefined, seconds: number): number {
  if (seconds <= 0) return 0;
  const delta = before === undefined || now < before ? now : now - before;
  return delta / seconds;
}

export function sampleMetrics(prev: Reading | undefined, cur: Reading): MetricsSample {
  const intervalMs = prev ? Math.max(0, cur.at - prev.at) : 0;
  const s = intervalMs / 1000;
  const prevTraffic = new Map<string, { packets: number; bytes: number }>();
  for (const svc of prev?.services ?? []) {
    for (const b of svc.backends) prevTraffic.set(`${svc.name}/${b.key}`, b.traffic);
  }
  const backends: BackendTraffic[] = [];
  let pins = 0;
  for (const svc of cur.services) {
    for (const b of svc.backends) {
      const before = prevTraffic.get(`${svc.name}/${b.key}`);
      pins += b.pins;
      backends.push({
        service: svc.name,
        key: b.key,
        packets: b.traffic.packets,
        bytes: b.traffic.bytes,
        // A backend new since the last reading has no rate yet rather than a spike.
        packetsPerSec: before ? rate(b.traffic.packets, before.packets, s) : 0,
        bytesPerSec: before ? rate(b.traffic.bytes, before.bytes, s) : 0,
        pins: b.pins,
        slots: b.slots,
        connections: b.connections,
      });
    }
  }
  const c = cur.counters;
  const p = prev?.counters;
  return {
    at: cur.at,
    intervalMs,
    packetInsPerSec: p ? rate(c.packetIns, p.packetIns, s) : 0,
    pinsInstalledPerSec: p ? rate(c.pinsInstalled, p.pinsInstalled, s) : 0,
    pinsRemovedPerSec: p ? rate(c.pinsRemoved, p.pinsRemoved, s) : 0,
    slotsMovedPerSec: p ? rate(c.slotsMoved, p.slotsMoved, s) : 0,
    migrationsActive: c.migrationsActive,
    pins,
    totals: { ...c },
    backends,
  };
}
