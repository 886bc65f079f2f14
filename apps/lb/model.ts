// The load balancer's domain model: services, backends, slots, and the events they produce.
// Shared by the app (apps/lb) and the management surfaces. The shapes the store keeps are declared
// by the store (db/records.ts, so db/ never imports the app); this module names them for the app
// and adds what only the app means by them (defaults, keys, which states serve).

import type {
  BackendRecord, EventRecord, ForwardingMode, Proto, ServiceRecord, SlotMigrationRecord, SlotTableRecord, StoredEventRecord, Tracking,
} from '../../db/records.js';
import { defaultHealth } from './health.js';

export type { BackendState, ForwardingMode, MigrationWindows, Proto, Tracking } from '../../db/records.js';

/** What defines a service (an operator's choice); the store adds its id, virtual MAC and birth. */
export type ServiceSpec = Omit<ServiceRecord, 'id' | 'vmac' | 'createdAt'>;

export type Service = ServiceRecord;

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

/** What an operator gives for a backend; the store's record adds its id, service and state. */
export type BackendSpec = Pick<BackendRecord, 'ip' | 'port' | 'weight' | 'mac' | 'switchPort'>;

export type Backend = BackendRecord;

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
export type LbEvent = EventRecord;

export type StoredEvent = StoredEventRecord;

/** A slot changing owner; `phase` says whether its bucket is a query bucket yet. */
export type SlotMigration = SlotMigrationRecord;

/** What the store keeps of a service's slot table: owners by backend id, migrations in flight. */
export type SlotTableSnapshot = SlotTableRecord;
