// The shapes of what the store keeps: services, backends, slot tables with their migrations in
// flight, the event log and the counters rows. They are declared here, not in the app, so that db/
// implements the app's storage interface (apps/lb/store.ts) without importing the app: the app's
// model (apps/lb/model.ts) is built on these records and re-exports them under its own names.
// Plain types and one frozen default only: nothing here runs the load balancer.

export type Proto = 'tcp' | 'udp';
export type ForwardingMode = 'nat' | 'dsr';
export type Tracking = 'migrations' | 'all';
export type BackendState = 'resolving' | 'active' | 'draining' | 'drained' | 'down' | 'removed';
export type HealthType = 'tcp' | 'udp' | 'http' | 'none';

export interface MigrationWindows {
  /** A query slot stays in query state at least this long. */
  minMs: number;
  /** ...and until no packet-in has pinned a flow to the old owner for this long. */
  quietMs: number;
  /** ...but never longer than this. */
  maxMs: number;
}

export interface HttpCheck {
  /** Request path, starting with '/'. */
  path: string;
  /** Inclusive range of status codes that mean "up". */
  status: { min: number; max: number };
}

/** How a service's backends are checked (validated by apps/lb/health.ts before it is stored). */
export interface HealthRecord {
  type: HealthType;
  /** One check per backend every intervalMs. */
  intervalMs: number;
  /** A check without an answer after timeoutMs failed (must be below intervalMs). */
  timeoutMs: number;
  /** Good checks in a row that bring a down backend back. */
  rise: number;
  /** Failed checks in a row that take an up backend down. */
  fall: number;
  http: HttpCheck;
  /** A backend that comes back grows from one slot to its full share over this long; 0 = at once. */
  slowStartMs: number;
}

export interface ServiceRecord {
  /** Small positive integer, unique, stable for the life of the service (cookies, group id). */
  id: number;
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
  health: HealthRecord;
  /** The virtual MAC the controller answers ARP for the VIP with. */
  vmac: string;
  createdAt: number;
}

export interface BackendRecord {
  /** Unique across all services, stable (cookies of pins carry it). */
  id: number;
  service: string;
  ip: string;
  /** nat mode: the backend's port; dsr mode: absent (the service port is used). */
  port?: number;
  /** 0 = no new flows. */
  weight: number;
  mac?: string;
  switchPort?: number;
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

/** A slot changing owner; `phase` says whether its bucket is a query bucket yet. */
export interface SlotMigrationRecord {
  slot: number;
  from: number | null;
  to: number | null;
  startedAt: number;
  /** Last time a packet-in pinned a flow of this slot to `from`. */
  lastFromPinAt: number;
  phase: 'query' | 'pending';
}

/** A service's slot table: owners by backend id, migrations in flight. */
export interface SlotTableRecord {
  owners: (number | null)[];
  migrations: SlotMigrationRecord[];
}

/** The event log's entries: every change the management surfaces can stream. */
export type EventRecord =
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
  | { type: 'service_health'; service: string; health: HealthRecord }
  | { type: 'error'; message: string; service?: string };

export interface StoredEventRecord { id: number; at: number; event: EventRecord }

/** A backend's traffic counters as kept (see apps/lb/traffic-ledger.ts, LedgerSnapshot). */
export interface BackendCountersRow {
  backendId: number;
  packets: number;
  bytes: number;
  opened: number;
  basePackets: number;
  baseBytes: number;
  baseOpened: number;
}

export interface ServiceCountersRow {
  serviceId: number;
  packetIns: number;
  pinsInstalled: number;
  pinsRemoved: number;
}

/**
 * The checks of a service stored before health checks existed (schema version 4 added the column;
 * its rows are NULL there) and the base that a stored health object's fields go over. Frozen here
 * as the store's reading of old rows; test/unit/db/records.test.ts keeps it equal to the app's
 * defaults (apps/lb/health.ts defaultHealth), so a change of defaults is a decision, not drift.
 */
export function unversionedHealth(proto: Proto): HealthRecord {
  return { type: proto, intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3, http: { path: '/', status: { min: 200, max: 399 } }, slowStartMs: 30_000 };
}
