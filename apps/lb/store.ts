// The load balancer's storage interface: what apps/lb, the counters and the CLI need of a store.
// It belongs to the app; db/ implements it without importing the app (structurally, on the record
// shapes of db/records.ts): db/store.ts (SQLite, the embedded default) and db/etcd-store.ts (etcd,
// for several controllers). tools/cli wires an implementation in. Every call is synchronous
// because the load balancer decides under one event-loop turn; a store whose truth is remote (etcd)
// serves from a cache and ships each committed transaction afterwards (`flush` waits for that).
import type { BackendCountersRow, ServiceCountersRow } from '../../db/records.js';
import type { Backend, LbEvent, Service, SlotTableSnapshot, StoredEvent } from './model.js';

export type { BackendCountersRow, ServiceCountersRow } from '../../db/records.js';

export interface LbStore {
  /** Where the state lives, for messages ("./holdfast.db", "etcd http://…/holdfast/"). */
  readonly file: string;
  readonly isOpen: boolean;
  /**
   * Runs `fn` as one atomic change: all its writes are kept together or not at all (rolled back
   * when `fn` throws). Nests (an inner failure rolls back only its own part). `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;

  insertService(s: Service): void;
  /** Updates the service with `s.id` (its name may change; backends and slot table follow). */
  updateService(s: Service): void;
  /** Deletes the service with its backends and slot table. False when there was none. */
  deleteService(name: string): boolean;
  getService(name: string): Service | undefined;
  /** All services, by id. */
  listServices(): Service[];
  nextServiceId(): number;

  insertBackend(b: Backend): void;
  updateBackend(b: Backend): void;
  deleteBackend(id: number): boolean;
  getBackend(id: number): Backend | undefined;
  /** Backends of one service, or of all services; by id. */
  listBackends(service?: string): Backend[];
  nextBackendId(): number;

  saveSlotTable(service: string, snap: SlotTableSnapshot, at?: number): void;
  loadSlotTable(service: string): SlotTableSnapshot | undefined;

  listSwitchProfiles(): { dpid: string; profile: string }[];
  /** `null` returns the switch to detection. */
  setSwitchProfile(dpid: string, profile: string | null): void;

  saveCounters(backends: readonly BackendCountersRow[], services: readonly ServiceCountersRow[], at?: number): void;
  loadBackendCounters(): BackendCountersRow[];
  loadServiceCounters(): ServiceCountersRow[];

  /** Appends an event; ids increase and are never reused, even after pruning. */
  appendEvent(event: LbEvent, at?: number): StoredEvent;
  eventsSince(afterId: number, limit?: number): StoredEvent[];
  latestEvents(limit: number): StoredEvent[];
  lastEventId(): number;
  pruneEvents(): number;

  /** Resolves when every change made so far is durable where the state lives (SQLite: at once). */
  flush(): Promise<void>;
  close(): Promise<void> | void;
}
