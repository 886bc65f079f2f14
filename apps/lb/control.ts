// The load balancer's control surface: what the management API (HTTP/WebSocket) calls.
// Every method validates its input and throws LbError with a clear one-line message on bad input,
// changing nothing.

import type { SwitchProfile } from '../../controller/capabilities.js';
import type { Backend, BackendSpec, Service, ServiceSpec, StoredEvent, LbEvent } from './model.js';
import type { HealthInput, HealthType } from './health.js';

// LbError lives in errors.ts (health.ts and validation.ts throw it without importing the control surface).
export { LbError, type LbErrorCode } from './errors.js';

/** Service settings `updateService` may change. */
export type ServiceSettings = Partial<Pick<ServiceSpec, 'switches' | 'tracking' | 'maxQuerySlots' | 'pinIdleTimeout' | 'migration' | 'drainDeadlineMs'>> & {
  /** Only the fields given change; the rest keep the service's current check. */
  health?: HealthInput;
};

export interface TrafficCounters {
  packets: number;
  bytes: number;
}

export interface BackendView extends Backend {
  key: string;
  /** Slots this backend owns now (forward buckets), and slots migrating to it. */
  slots: number;
  slotsIncoming: number;
  /** Pins the controller knows of for this backend (all switches). */
  pins: number;
  /** Live connections the switches hold an exact entry for (learned by the switch in the `ovs`
   * profile, pinned by the controller in `openflow13`), summed over switches, from the last count. */
  connections: number;
  /** Bytes/packets forwarded to this backend, cumulative and complete: its forward buckets plus
   * every exact connection entry (pin or learned) for it, ended or live (apps/lb/traffic-ledger.ts).
   * Kept across restarts. */
  traffic: TrafficCounters;
  /** Exact connection entries the switches created for it: ended ones (flow-removed) plus the live
   * ones at the last count. Cumulative, kept across restarts. */
  connectionsOpened: number;
  health: HealthView;
}

export interface SlotMigrationView {
  slot: number;
  from: string | null;
  to: string | null;
  since: number;
  /** 'query': packets of the slot reach the controller; 'pending': waiting for a query slot. */
  phase: 'query' | 'pending';
}

export interface ServiceView extends Service {
  backends: BackendView[];
  /** Backend key owning each slot (null: no backend). */
  slotOwners: (string | null)[];
  /** Slots whose bucket sends packets to the controller right now. */
  querySlots: number[];
  migrations: SlotMigrationView[];
  counters: { packetIns: number; pinsInstalled: number; pinsRemoved: number };
  /** Switches (dpid) that refused this service's flows or group, with their error. */
  failedOn: Record<string, string>;
}

export interface SwitchView {
  dpid: string;
  version: number;
  address: string;
  connectedAt: number;
  ports: { portNo: number; name: string; up: boolean }[];
  queueDepth: number;
  /** How the controller drives the switch, and whether an operator forced it. */
  profile: SwitchProfile;
  profileForced: boolean;
}

/** A switch profile an operator forced, or `auto` (detected from the switch's description). */
export type ProfileSetting = SwitchProfile | 'auto';

export interface StatusView {
  startedAt: number;
  switches: SwitchView[];
  services: { name: string; vip: string; port: number; proto: string; mode: string; backends: number; activeBackends: number; migrating: number; pins: number; connections: number }[];
  counters: { packetIns: number; pinsInstalled: number; pinsRemoved: number; migrationsActive: number; slotsMoved: number };
  /** Where tcp/udp health probes come from. */
  monitor: MonitorView;
}

export type ServiceInput = Pick<ServiceSpec, 'name' | 'vip' | 'port'> & Partial<Omit<ServiceSpec, 'name' | 'vip' | 'port' | 'health'>> & {
  health?: HealthInput;
};

/** What `service set` may change on a live service. */

/** A backend's health as the surfaces show it. */
export interface HealthView {
  /** How it is checked: the service's check, or 'arp' when a tcp/udp check has no monitor address. */
  check: HealthType | 'arp';
  /** up: may take flows; down: failed its checks (or its port went down). */
  status: 'up' | 'down';
  /** The last check's outcome ('syn-ack', 'no answer within 1000 ms', 'http 500 (expected 200-399)', ...). */
  lastResult: string | null;
  lastOk: boolean | null;
  lastCheckAt: number | null;
  /** When the health status last changed. */
  lastChange: number;
  /** Round-trip time of the last answered probe. */
  rttMs: number | null;
  /** Good / failed checks in a row. */
  good: number;
  bad: number;
  /** While a backend that came back grows its share: since when, and when it reaches full weight. */
  slowStart?: { since: number; until: number };
  /** Why the checks are not what the service asks for (e.g. no monitor address). */
  note?: string;
}

export interface MonitorView {
  ip: string | null;
  mac: string;
  /** Set when tcp/udp checks cannot run through the switches. */
  note?: string;
}

export interface LbControl {
  listServices(): ServiceView[];
  getService(name: string): ServiceView;
  addService(input: ServiceInput): ServiceView;
  /** Changes a live service's settings (health checks); nothing changes on bad input. */
  /** Removes the service, its flows, group and pins from every switch. */
  removeService(name: string): void;
  /** Changes settings of a live service that do not touch its group's buckets or hash (switches,
   * tracking, max query slots, pin idle timeouts, migration windows, drain deadline, health check). */
  updateService(name: string, settings: ServiceSettings): ServiceView;

  listBackends(service: string): BackendView[];
  addBackend(service: string, spec: BackendSpec): BackendView;
  drainBackend(service: string, key: string): BackendView;
  enableBackend(service: string, key: string): BackendView;
  setWeight(service: string, key: string, weight: number): BackendView;
  /** Graceful by default (drain, then delete); `now` moves slots at once and deletes pins. */
  removeBackend(service: string, key: string, opts?: { now?: boolean }): BackendView;

  /** Forces a switch's profile (it need not be connected yet), or returns it to detection. */
  setSwitchProfile(dpid: string, profile: ProfileSetting): { dpid: string; profile: ProfileSetting };

  status(): StatusView;
  eventsSince(afterId: number, limit?: number): StoredEvent[];
  /** Live events; returns the unsubscribe function. */
  subscribe(listener: (e: StoredEvent) => void): () => void;
}

export type { LbEvent };
