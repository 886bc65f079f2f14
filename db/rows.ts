// Mapping between the stored records (records.ts) and table rows. Every field of a service and a
// backend has a column: the key lists below fail to compile when the model gains a field the store
// does not keep, so nothing is silently dropped on a round trip.

import {
  unversionedHealth,
  type BackendRecord as Backend, type BackendState, type ForwardingMode, type HealthRecord as HealthSpec, type Proto,
  type ServiceRecord as Service, type SlotMigrationRecord as SlotMigration, type SlotTableRecord as SlotTableSnapshot, type Tracking,
} from './records.js';
import { StoreError } from './errors.js';

type Covers<T, K extends readonly (keyof T)[]> = [Exclude<keyof T, K[number]>] extends [never] ? true : false;
type AssertTrue<T extends true> = T;
const SERVICE_FIELDS = [
  'id', 'name', 'vip', 'proto', 'port', 'mode', 'slots', 'switches', 'pinIdleTimeout', 'migration',
  'drainDeadlineMs', 'tracking', 'maxQuerySlots', 'vmac', 'createdAt', 'health',
] as const satisfies readonly (keyof Service)[];
const BACKEND_FIELDS = [
  'id', 'service', 'ip', 'port', 'weight', 'mac', 'switchPort', 'state', 'stateSince', 'removeWhenDrained',
  'drainStartedAt', 'resolvedMac', 'locations',
] as const satisfies readonly (keyof Backend)[];
export type ModelFieldsCovered = AssertTrue<Covers<Service, typeof SERVICE_FIELDS> | Covers<Backend, typeof BACKEND_FIELDS>>;

export interface ServiceRow {
  id: number;
  name: string;
  vip: string;
  proto: Proto;
  port: number;
  mode: ForwardingMode;
  slots: number;
  switches: string;
  pin_idle_tcp_s: number;
  pin_idle_udp_s: number;
  mig_min_ms: number;
  mig_quiet_ms: number;
  mig_max_ms: number;
  drain_deadline_ms: number;
  tracking: Tracking;
  max_query_slots: number;
  vmac: string;
  created_at: number;
  /** JSON HealthSpec; NULL (a service written before health checks): the protocol's defaults. */
  health: string | null;
}

export function serviceToRow(s: Service): ServiceRow {
  return {
    id: s.id,
    name: s.name,
    vip: s.vip,
    proto: s.proto,
    port: s.port,
    mode: s.mode,
    slots: s.slots,
    switches: JSON.stringify(s.switches),
    pin_idle_tcp_s: s.pinIdleTimeout.tcp,
    pin_idle_udp_s: s.pinIdleTimeout.udp,
    mig_min_ms: s.migration.minMs,
    mig_quiet_ms: s.migration.quietMs,
    mig_max_ms: s.migration.maxMs,
    drain_deadline_ms: s.drainDeadlineMs,
    tracking: s.tracking,
    max_query_slots: s.maxQuerySlots,
    vmac: s.vmac,
    created_at: s.createdAt,
    health: JSON.stringify(s.health),
  };
}

export function serviceFromRow(r: ServiceRow): Service {
  return {
    id: r.id,
    name: r.name,
    vip: r.vip,
    proto: r.proto,
    port: r.port,
    mode: r.mode,
    slots: r.slots,
    switches: parseJsonColumn<string[]>(r.switches, `service ${r.id}`, 'switches'),
    pinIdleTimeout: { tcp: r.pin_idle_tcp_s, udp: r.pin_idle_udp_s },
    migration: { minMs: r.mig_min_ms, quietMs: r.mig_quiet_ms, maxMs: r.mig_max_ms },
    drainDeadlineMs: r.drain_deadline_ms,
    tracking: r.tracking,
    maxQuerySlots: r.max_query_slots,
    vmac: r.vmac,
    createdAt: r.created_at,
    health: healthFromColumn(r),
  };
}

export interface BackendRow {
  id: number;
  service: string;
  ip: string;
  port: number | null;
  weight: number;
  mac: string | null;
  switch_port: number | null;
  state: BackendState;
  state_since: number;
  remove_when_drained: 0 | 1;
  drain_started_at: number | null;
  resolved_mac: string | null;
  locations: string | null;
}

export function backendToRow(b: Backend): BackendRow {
  return {
    id: b.id,
    service: b.service,
    ip: b.ip,
    port: b.port ?? null,
    weight: b.weight,
    mac: b.mac ?? null,
    switch_port: b.switchPort ?? null,
    state: b.state,
    state_since: b.stateSince,
    remove_when_drained: b.removeWhenDrained ? 1 : 0,
    drain_started_at: b.drainStartedAt ?? null,
    resolved_mac: b.resolvedMac ?? null,
    locations: b.locations === undefined ? null : JSON.stringify(b.locations),
  };
}

/** Optional fields stored as NULL come back absent (not `undefined`), as the app wrote them. */
export function backendFromRow(r: BackendRow): Backend {
  const b: Backend = {
    id: r.id,
    service: r.service,
    ip: r.ip,
    weight: r.weight,
    state: r.state,
    stateSince: r.state_since,
    removeWhenDrained: r.remove_when_drained === 1,
  };
  if (r.port !== null) b.port = r.port;
  if (r.mac !== null) b.mac = r.mac;
  if (r.switch_port !== null) b.switchPort = r.switch_port;
  if (r.drain_started_at !== null) b.drainStartedAt = r.drain_started_at;
  if (r.resolved_mac !== null) b.resolvedMac = r.resolved_mac;
  if (r.locations !== null) b.locations = parseJsonColumn<Record<string, number>>(r.locations, `backend ${r.id}`, 'locations');
  return b;
}

const OWNER_MAX = 0xffff_ffff;

/** Slot owners as little-endian uint32 backend ids, 0 for "no owner": 4 bytes a slot. */
export function encodeOwners(service: string, owners: readonly (number | null)[]): Buffer {
  const buf = Buffer.allocUnsafe(owners.length * 4);
  for (let i = 0; i < owners.length; i++) {
    const o = owners[i];
    if (o === null) {
      buf.writeUInt32LE(0, i * 4);
    } else if (Number.isInteger(o) && o >= 1 && o <= OWNER_MAX) {
      buf.writeUInt32LE(o, i * 4);
    } else {
      throw new StoreError('invalid', `slot table of service "${service}": slot ${i} has owner ${String(o)}, not a backend id`);
    }
  }
  return buf;
}

export function decodeOwners(service: string, blob: Buffer): (number | null)[] {
  if (blob.length % 4 !== 0) {
    throw new StoreError('corrupt', `slot table of service "${service}" is corrupt: owners blob of ${blob.length} bytes`);
  }
  const owners = new Array<number | null>(blob.length / 4);
  for (let i = 0; i < owners.length; i++) {
    const o = blob.readUInt32LE(i * 4);
    owners[i] = o === 0 ? null : o;
  }
  return owners;
}

export function snapshotParts(service: string, snap: SlotTableSnapshot): { owners: Buffer; migrations: string } {
  return { owners: encodeOwners(service, snap.owners), migrations: JSON.stringify(snap.migrations) };
}

export function snapshotFromParts(service: string, owners: Buffer, migrations: string): SlotTableSnapshot {
  return { owners: decodeOwners(service, owners), migrations: parseJsonColumn<SlotMigration[]>(migrations, `slot table of service "${service}"`, 'migrations') };
}

/**
 * JSON.parse for a column: a damaged value becomes a StoreError that says which row and column,
 * never the value itself (it may be binary garbage that would wreck a terminal or a log line).
 */
export function parseJsonColumn<T>(text: unknown, row: string, column: string): T {
  if (typeof text !== 'string') {
    const what = Buffer.isBuffer(text) ? `${text.length} bytes of binary data` : text === null ? 'NULL' : `a ${typeof text}`;
    throw new StoreError('corrupt', `${row}: column ${column} holds ${what}, not JSON text`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new StoreError('corrupt', `${row}: column ${column} is not valid JSON (${Buffer.byteLength(text)} bytes)`);
  }
}

/** The health column: NULL → the checks of a service from before health checks; JSON → its fields
 * over those (the controller validated them when they were set). */
function healthFromColumn(r: ServiceRow): HealthSpec {
  const base = unversionedHealth(r.proto);
  if (r.health === null || r.health === undefined) return base;
  const raw = parseJsonColumn<Partial<HealthSpec> | null>(r.health, `service ${r.id}`, 'health');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StoreError('corrupt', `service ${r.id}: column health is not a JSON object`);
  return { ...base, ...raw, http: { ...base.http, ...(raw.http ?? {}) } };
}
