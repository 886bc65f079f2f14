// The load balancer's domain model: services, backends, slots, and the events they produce.
// Shared by the app (apps/lb), the store (db/), and the management surfaces.

import { defaultHealth, type HealthSpec } from './health.js';

export type Proto = 'tcp' | 'udp';
export type ForwardingMode = 'nat' | 'dsr';
export type Tracking = 'migrations' | 'all';

export interface MigrationWindows {
  /** A query slot stays in query state at least this long. */
  minMs: number;
  /** ...and until no packet-in has pinned a flow to the old owner for this long. */
  quietMs: number;
  /** ...but never longer than this. */
  maxMs: number;
}

export interface ServiceSpec {
  name: string;
  vip: string;
  proto: Proto;
  port: number;
  mode: ForwardingMode;
  /** Number of buckets of the select group; fixed for the life of the service. */
  slots: number;
  /** Datapath ids (16 hex digits) the service is installed on; empty = all switches. */
  switches: string[];
  /** Pin idle timeouts in seconds, per protocol. */
  pinIdleTimeout: { tcp: number; udp: number };
  migration: MigrationWindows;
  /** A drain gives up waiting for the backend's pins after this long. */
  drainDeadlineMs: number;
  tracking: Tracking;
  /** At most this many slots of the service are query slots at once (migrations). */
  maxQuerySlots: number;
  /** How its backends are checked (apps/lb/health.ts). */
  health: HealthSpec;
}

export interface Service extends ServiceSpec {
  /** Small positive integer, unique, stable for the life of the service (cookies, group id). */
  id: number;
  /** The virtual MAC the controller answers ARP for the VIP with. */
  vmac: string;
  createdAt: number;
}

export const SERVICE_DEFAULTS = {
  proto: 'tcp' as Proto,
  mode: 'nat' as ForwardingMode,
  slots: 256,
  switches: [] as string[],
  pinIdleTimeout: { tcp: 300, udp: 30 },
  migration: { minMs: 2_000, quietMs: 1_000, maxMs: 30_000 },
  drainDeadlineMs: 15 * 60_000,
  tracking: 'migrations' as Tracking,
  maxQuerySlots: 64,
  /** For a tcp service; a udp service's default check is udp (defaultHealth('udp')). */
  health: defaultHealth('tcp'),
} satisfies Omit<ServiceSpec, 'name' | 'vip' | 'port'>;

export const SLOTS_MIN = 1;
export const SLOTS_MAX = 4096;
export const WEIGHT_MAX = 1000;

export type BackendState = 'resolving' | 'active' | 'draining' | 'drained' | 'down' | 'removed';

export interface BackendSpec {
  ip: string;
  /** nat mode: the backend's port; dsr mode: absent (the service port is used). */
  port?: number;
  /** 0 = no new flows. */
  weight: number;
  mac?: string;
  switchPort?: number;
}

export interface Backend extends BackendSpec {
  /** Unique across all services, stable (cookies of pins carry it). */
  id: number;
  service: string;
  state: BackendState;
  stateSince: number;
  /** After the drain completes, delete the backend (graceful remove). */
  removeWhenDrained: boolean;
  /** When a drain started (for the drain deadline). */
  drainStartedAt?: number;
  /** The MAC the backend answered ARP with (or the one given). */
  resolvedMac?: string;
  /** Where the controller learned the backend lives: datapath id → switch port. */
  locations?: Record<string, number>;
}

/** "ip" or "ip:port": how operators name a backend within a service. */
export function backendKey(b: { ip: string; port?: number }): string {
  return b.port === undefined ? b.ip : `${b.ip}:${b.port}`;
}

/** A backend's share of new flows counts only in these states. */
export function takesNewFlows(b: Pick<Backend, 'state' | 'weight'>): boolean {
  return b.state === 'active' && b.weight > 0;
}

/** A backend can still serve flows it already has (pins, old-owner decisions). */
export function canServe(b: Pick<Backend, 'state'>): boolean {
  return b.state === 'active' || b.state === 'draining';
}

/** Events: every change the management surfaces can stream. */
export type LbEvent =
  | { type: 'service_added'; service: string }
  | { type: 'service_removed'; service: string }
  | { type: 'backend_added'; service: string; backend: string }
  | { type: 'backend_state'; service: string; backend: string; from: BackendState; to: BackendState; reason?: string }
  | { type: 'backend_weight'; service: string; backend: string; from: number; to: number }
  | { type: 'backend_resolved'; service: string; backend: string; mac: string; dpid: string; port: number }
  | { type: 'migration_started'; service: string; slots: number[]; reason: string }
  | { type: 'slot_moved'; service: string; slot: number; from: string | null; to: string | null }
  | { type: 'migration_done'; service: string }
  | { type: 'switch_up'; dpid: string; version: number }
  | { type: 'switch_down'; dpid: string }
  | { type: 'switch_profile'; dpid: string; profile: string }
  /** A backend's health checks changed its health (up/down); `reason` says what was seen. */
  | { type: 'backend_health'; service: string; backend: string; health: 'up' | 'down'; reason: string; check: string }
  /** A backend that came back grows its share of slots: `slots` now, `target` at full weight. */
  | { type: 'backend_slow_start'; service: string; backend: string; slots: number; target: number; done: boolean }
  | { type: 'service_health'; service: string; health: HealthSpec }
  | { type: 'error'; message: string; service?: string };

export interface StoredEvent { id: number; at: number; event: LbEvent }

/** A slot changing owner; `phase` says whether its bucket is a query bucket yet. */
export interface SlotMigration {
  slot: number;
  from: number | null;
  to: number | null;
  startedAt: number;
  /** Last time a packet-in pinned a flow of this slot to `from`. */
  lastFromPinAt: number;
  phase: 'query' | 'pending';
}

/** What the store keeps of a service's slot table: owners by backend id, migrations in flight. */
export interface SlotTableSnapshot {
  owners: (number | null)[];
  migrations: SlotMigration[];
}
