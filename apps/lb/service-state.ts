// One service's live state in the controller: its slot table, backends and where they are, the
// pins installed on each switch, the registry of recent flows, and counters. No I/O here: the app
// (app.ts) feeds it events and turns its answers into OpenFlow messages.

import { FlowRegistry, flowKey } from './flow-registry.js';
import { backendKey, canServe, type Backend, type Service } from './model.js';
import { decidePin } from './pin-decision.js';
import type { BackendTarget } from './pipeline.js';
import { SlotTable, type BackendInfo, type SlotChange } from './slot-table.js';

/** Where a backend answered ARP: its MAC and, per switch, the port it is behind. */
export interface BackendLocation {
  mac: string;
  ports: Map<string, number>;
  /** Given by the operator: never re-resolved, never marked down by ARP. */
  static: boolean;
  lastSeen: number;
  /** ARP probes sent since the last answer. */
  misses: number;
}

export interface PinDecision {
  backend: number;
  target: BackendTarget;
  /** True when a pin for this flow must be installed (false: one is installed or on its way). */
  install: boolean;
}

export class ServiceState {
  readonly backends = new Map<number, Backend>();
  readonly byKey = new Map<string, Backend>();
  readonly locations = new Map<number, BackendLocation>();
  /** dpid → flow key → backend id: pins installed (or being installed) on each switch. */
  readonly pins = new Map<string, Map<number, number>>();
  readonly pinCounts = new Map<number, number>();
  readonly registry: FlowRegistry;
  /** Per-slot activity (packets per second, smoothed) from group statistics. */
  readonly activity: Float64Array;
  /** Cumulative traffic per backend id. */
  readonly traffic = new Map<number, { packets: number; bytes: number }>();
  readonly counters = { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0 };
  table: SlotTable;

  constructor(public service: Service, table: SlotTable) {
    this.table = table;
    this.activity = new Float64Array(service.slots);
    // Remember flows for at least as long as their pins could live.
    const ttlMs = Math.max(60, service.pinIdleTimeout.tcp, service.pinIdleTimeout.udp) * 2000;
    this.registry = new FlowRegistry({ ttlMs, maxEntries: 2_000_000 });
  }

  addBackend(b: Backend): void {
    this.backends.set(b.id, b);
    this.byKey.set(backendKey(b), b);
    if (b.mac !== undefined && b.switchPort !== undefined) {
      this.locations.set(b.id, { mac: b.mac, ports: new Map(), static: true, lastSeen: Date.now(), misses: 0 });
    }
  }

  deleteBackend(b: Backend): void {
    this.backends.delete(b.id);
    this.byKey.delete(backendKey(b));
    this.locations.delete(b.id);
    this.pinCounts.delete(b.id);
    this.traffic.delete(b.id);
    this.registry.forgetBackend(b.id);
    for (const m of this.pins.values()) for (const [k, id] of m) if (id === b.id) m.delete(k);
  }

  backendInfos(): BackendInfo[] {
    return [...this.backends.values()].map((b) => ({ id: b.id, weight: b.weight, state: b.state }));
  }

  rebalance(now: number): SlotChange {
    return this.table.rebalance(this.backendInfos(), now, this.activity);
  }

  /** How backend `id` is reached from switch `dpid`, if it is known there. */
  target(id: number, dpid: string): BackendTarget | undefined {
    const b = this.backends.get(id);
    const loc = this.locations.get(id);
    if (!b || !loc) return undefined;
    const port = loc.static ? b.switchPort : loc.ports.get(dpid);
    if (port === undefined) return undefined;
    return { id, ip: b.ip, l4port: b.port ?? this.service.port, mac: loc.mac, port };
  }

  /** Backends that get a nat reverse rule on a switch: any that may have flows and is reachable. */
  reverseTargets(dpid: string): BackendTarget[] {
    const out: BackendTarget[] = [];
    for (const b of this.backends.values()) {
      if (b.state === 'removed') continue;
      const t = this.target(b.id, dpid);
      if (t) out.push(t);
    }
    return out;
  }

  private switchPins(dpid: string): Map<number, number> {
    let m = this.pins.get(dpid);
    if (!m) this.pins.set(dpid, (m = new Map()));
    return m;
  }

  /**
   * The query/reply decision for one packet of a query slot (the hot path). Returns null when no
   * backend can take the packet (it is dropped).
   */
  decide(dpid: string, slot: number, srcIp: number, srcPort: number, isNewConnection: boolean, now: number): PinDecision | null {
    this.counters.packetIns++;
    const key = flowKey(srcIp, srcPort);
    const pins = this.switchPins(dpid);
    const pinned = pins.get(key);
    if (pinned !== undefined) {
      // A pin for this flow is installed or on its way: coalesce, just forward the packet.
      const target = this.target(pinned, dpid);
      if (target) return { backend: pinned, target, install: false };
      pins.delete(key);
    }
    const table = this.table;
    const id = decidePin({
      isNewConnection,
      bucket: table.bucket(slot),
      remembered: this.registry.get(key, now),
      canServe: (b) => {
        const be = this.backends.get(b);
        return be !== undefined && canServe(be);
      },
      owner: table.owner(slot),
    });
    if (id === null) return null;
    const target = this.target(id, dpid);
    if (!target) return null;
    pins.set(key, id);
    this.pinCounts.set(id, (this.pinCounts.get(id) ?? 0) + 1);
    this.counters.pinsInstalled++;
    this.registry.set(key, id, now);
    table.notePin(slot, id, now);
    return { backend: id, target, install: true };
  }

  /** A pin is gone from a switch (flow-removed, deleted, or missing from a dump). */
  pinGone(dpid: string, key: number, backend: number): void {
    const pins = this.pins.get(dpid);
    if (!pins || pins.get(key) !== backend) return;
    pins.delete(key);
    const n = (this.pinCounts.get(backend) ?? 1) - 1;
    if (n > 0) this.pinCounts.set(backend, n);
    else this.pinCounts.delete(backend);
    this.counters.pinsRemoved++;
  }

  /** Replace a switch's pins with what a flow dump says is there (plus pins added since it began). */
  replacePins(dpid: string, dumped: Map<number, number>, addedSince: Map<number, number>, now: number): void {
    for (const [k, id] of addedSince) dumped.set(k, id);
    this.pins.set(dpid, dumped);
    this.pinCounts.clear();
    for (const m of this.pins.values()) {
      for (const id of m.values()) this.pinCounts.set(id, (this.pinCounts.get(id) ?? 0) + 1);
    }
    for (const [k, id] of dumped) if (this.registry.get(k, now) === undefined) this.registry.set(k, id, now);
  }

  /** Forget every pin of a backend (after deleting them from the switches). */
  dropPinsOf(backend: number): void {
    for (const m of this.pins.values()) for (const [k, id] of m) if (id === backend) m.delete(k);
    this.pinCounts.delete(backend);
    this.registry.forgetBackend(backend);
  }

  pinsOf(backend: number): number {
    return this.pinCounts.get(backend) ?? 0;
  }

  addTraffic(backend: number, packets: number, bytes: number): void {
    const t = this.traffic.get(backend);
    if (t) {
      t.packets += packets;
      t.bytes += bytes;
    } else this.traffic.set(backend, { packets, bytes });
  }
}
