// One service's live state in the controller: its slot table, backends and where they are, the
// pins installed on each switch, the registry of recent flows, and counters. No I/O here: the app
// (app.ts) feeds it events and turns its answers into OpenFlow messages.

import { FlowRegistry } from './flow-registry.js';
import { slowStartFraction, slowStartWeights } from './health.js';
import { FlowTable } from './flow-table.js';
import { backendKey, canServe, takesNewFlows, type Backend, type Service } from './model.js';
import { decidePin } from './pin-decision.js';
import type { BackendTarget } from './pipeline.js';
import type { PacketOutTemplate, PinTemplate } from './pin-template.js';
import { SlotTable, type BackendInfo, type SlotChange } from './slot-table.js';
import { TrafficLedger } from './traffic-ledger.js';

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

/** A backend as reached from one switch, with the hot path's pre-encoded messages (built lazily
 * by the app for the switch's wire version). */
export interface TargetEntry {
  target: BackendTarget;
  version?: number;
  pin?: PinTemplate;
  out?: PacketOutTemplate;
}

export interface ConnectionCount {
  flows: number;
  packets: bigint;
  bytes: bigint;
  /** When the count was requested (clock ms). */
  at: number;
}

export interface PinDecision {
  backend: number;
  entry: TargetEntry;
  /** True when a pin for this flow must be installed (false: one is installed or on its way). */
  install: boolean;
}

export class ServiceState {
  readonly backends = new Map<number, Backend>();
  readonly byKey = new Map<string, Backend>();
  readonly locations = new Map<number, BackendLocation>();
  /** dpid → (client ip, port) → backend id: pins installed (or being installed) on each switch. */
  readonly pins = new Map<string, FlowTable>();
  readonly pinCounts = new Map<number, number>();
  readonly registry: FlowRegistry;
  /** Per-slot activity (packets per second, smoothed) from group statistics. */
  readonly activity: Float64Array;
  /** Cumulative traffic per backend id: buckets, ended and live connection entries. */
  readonly ledger = new TrafficLedger();
  readonly counters = { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0 };
  /** dpid → backend id → the switch's exact entries for the backend (learned or pinned) at the last
   * count, when that count was asked for, and its packet and byte totals (for traffic deltas). */
  readonly connections = new Map<string, Map<number, ConnectionCount>>();
  /** Backend id → when a draining backend was first seen with no slot left (drain completion
   * trusts only connection counts asked for after that). */
  readonly slotsGoneAt = new Map<number, number>();
  /** dpid → why the switch refused this service's flows or group (cleared when it takes them). */
  readonly failedOn = new Map<string, string>();
  /** Backend id → when it came back up: its share grows over service.health.slowStartMs. */
  readonly slowStart = new Map<number, number>();
  table: SlotTable;
  /** dpid → backend id → target entry; cleared whenever a backend or its location changes. */
  private readonly targets = new Map<string, Map<number, TargetEntry | null>>();

  constructor(public service: Service, table: SlotTable) {
    this.table = table;
    this.activity = new Float64Array(service.slots);
    // Remember flows for at least as long as their pins could live.
    const ttlMs = Math.max(60, service.pinIdleTimeout.tcp, service.pinIdleTimeout.udp) * 2000;
    this.registry = new FlowRegistry({ ttlMs, maxEntries: 2_000_000 });
  }

  /** A backend's address, MAC or port changed: rebuild targets and templates on next use. */
  invalidateTargets(): void {
    this.targets.clear();
  }

  addBackend(b: Backend, now: number): void {
    this.invalidateTargets();
    this.backends.set(b.id, b);
    this.byKey.set(backendKey(b), b);
    if (b.mac !== undefined && b.switchPort !== undefined) {
      this.locations.set(b.id, { mac: b.mac, ports: new Map(), static: true, lastSeen: now, misses: 0 });
    }
  }

  deleteBackend(b: Backend): void {
    this.invalidateTargets();
    this.backends.delete(b.id);
    this.byKey.delete(backendKey(b));
    this.locations.delete(b.id);
    this.pinCounts.delete(b.id);
    this.ledger.forgetBackend(b.id);
    this.slotsGoneAt.delete(b.id);
    this.slowStart.delete(b.id);
    for (const m of this.connections.values()) m.delete(b.id);
    this.registry.forgetBackend(b.id);
    for (const m of this.pins.values()) m.deleteValue(b.id);
  }

  /** The pool as the slot table sees it at `now`: a slow-starting backend counts with part of its
   * weight (apps/lb/health.ts slowStartWeights). */
  backendInfos(now?: number): BackendInfo[] {
    const infos = [...this.backends.values()].map((b) => ({ id: b.id, weight: b.weight, state: b.state }));
    if (now === undefined || this.slowStart.size === 0) return infos;
    // Only backends that take new flows count (the slot table gives the others no share anyway).
    const pool = infos.map((b) => (takesNewFlows(b) ? b : { ...b, weight: 0 }));
    return slowStartWeights(pool, this.slowStartFractions(now), this.service.slots);
  }

  /** Fraction of its weight each slow-starting active backend gets at `now` (stepped). */
  slowStartFractions(now: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, since] of this.slowStart) {
      const b = this.backends.get(id);
      if (!b || b.state !== 'active') continue;
      const f = slowStartFraction(since, this.service.health.slowStartMs, now);
      if (f < 1) out.set(id, f);
    }
    return out;
  }

  /** `remembered`: every switch of the service remembers connections, so slots move at once. */
  rebalance(now: number, remembered = false): SlotChange {
    return this.table.rebalance(this.backendInfos(now), now, this.activity, remembered);
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

  /** The cached target entry of a backend on a switch (hot path: no allocation once warm). */
  entry(id: number, dpid: string): TargetEntry | null {
    let m = this.targets.get(dpid);
    if (!m) this.targets.set(dpid, (m = new Map()));
    let e = m.get(id);
    if (e === undefined) {
      const target = this.target(id, dpid);
      e = target ? { target } : null;
      m.set(id, e);
    }
    return e;
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

  private switchPins(dpid: string): FlowTable {
    let m = this.pins.get(dpid);
    if (!m) this.pins.set(dpid, (m = new FlowTable()));
    return m;
  }

  /** Whether a backend can still serve flows it has (the pin decision asks per packet). */
  private readonly canServeId = (id: number): boolean => {
    const be = this.backends.get(id);
    return be !== undefined && canServe(be);
  };

  /**
   * The query/reply decision for one packet of a query slot (the hot path). Returns null when no
   * backend can take the packet (it is dropped).
   */
  decide(dpid: string, slot: number, srcIp: number, srcPort: number, isNewConnection: boolean, now: number): PinDecision | null {
    this.counters.packetIns++;
    const pins = this.switchPins(dpid);
    const pinned = pins.get(srcIp, srcPort);
    if (pinned >= 0) {
      // A pin for this flow is installed or on its way: coalesce, just forward the packet.
      const entry = this.entry(pinned, dpid);
      if (entry) return { backend: pinned, entry, install: false };
      pins.delete(srcIp, srcPort);
    }
    const table = this.table;
    const id = decidePin({
      isNewConnection,
      bucket: table.bucket(slot),
      // A new connection never goes back to a remembered backend: skip the lookup.
      remembered: isNewConnection ? undefined : this.registry.get(srcIp, srcPort, now),
      canServe: this.canServeId,
      owner: table.owner(slot),
    });
    if (id === null) return null;
    const entry = this.entry(id, dpid);
    if (!entry) return null;
    pins.set(srcIp, srcPort, id);
    this.pinCounts.set(id, (this.pinCounts.get(id) ?? 0) + 1);
    this.counters.pinsInstalled++;
    this.registry.set(srcIp, srcPort, id, now);
    table.notePin(slot, id, now);
    return { backend: id, entry, install: true };
  }

  /** A pin is gone from a switch (flow-removed, deleted, or missing from a dump). */
  pinGone(dpid: string, srcIp: number, srcPort: number, backend: number): void {
    const pins = this.pins.get(dpid);
    if (!pins || pins.get(srcIp, srcPort) !== backend) return;
    pins.delete(srcIp, srcPort);
    const n = (this.pinCounts.get(backend) ?? 1) - 1;
    if (n > 0) this.pinCounts.set(backend, n);
    else this.pinCounts.delete(backend);
    this.counters.pinsRemoved++;
  }

  /** Replace a switch's pins with what a flow dump says is there (plus pins added since it began). */
  replacePins(dpid: string, dumped: FlowTable, addedSince: FlowTable, now: number): void {
    addedSince.forEach((ip, port, id) => dumped.set(ip, port, id));
    this.pins.set(dpid, dumped);
    this.pinCounts.clear();
    for (const m of this.pins.values()) {
      m.forEach((_ip, _port, id) => this.pinCounts.set(id, (this.pinCounts.get(id) ?? 0) + 1));
    }
    dumped.forEach((ip, port, id) => {
      if (this.registry.get(ip, port, now) === undefined) this.registry.set(ip, port, id, now);
    });
  }

  /** A switch is gone for good: its pins, counts and cached targets go too. */
  forgetSwitch(dpid: string): void {
    this.targets.delete(dpid);
    this.connections.delete(dpid);
    this.ledger.forgetSwitch(dpid);
    if (!this.pins.delete(dpid)) return;
    this.pinCounts.clear();
    for (const m of this.pins.values()) m.forEach((_ip, _port, id) => this.pinCounts.set(id, (this.pinCounts.get(id) ?? 0) + 1));
  }

  /** Forget every pin of a backend (after deleting them from the switches). */
  dropPinsOf(backend: number): void {
    for (const m of this.pins.values()) m.deleteValue(backend);
    this.pinCounts.delete(backend);
    this.registry.forgetBackend(backend);
  }

  /** Live connections of a backend summed over `dpids`; null if some switch has not counted them
   * since `since`, or if there is no switch to count them (a controller that just started knows
   * nothing yet: its switches have not connected). */
  connectionsOf(backend: number, dpids?: readonly string[], since = 0): number | null {
    if (dpids && dpids.length === 0) return null;
    let n = 0;
    for (const [dpid, m] of this.connections) {
      if (dpids && !dpids.includes(dpid)) continue;
      const c = m.get(backend);
      if (c) n += c.flows;
    }
    if (dpids) {
      for (const dpid of dpids) {
        const c = this.connections.get(dpid)?.get(backend);
        if (!c || c.at < since) return null;
      }
    }
    return n;
  }

  pinsOf(backend: number): number {
    return this.pinCounts.get(backend) ?? 0;
  }
}
