// The embedded SQLite store (better-sqlite3, synchronous, WAL): services, backends, slot tables
// with their migrations in flight, id counters, and the event log. One connection, statements
// prepared once. Every SQLite failure surfaces as a StoreError with a sentence an operator can read.

import Database from 'better-sqlite3';
import type {
  BackendCountersRow, BackendRecord as Backend, EventRecord as LbEvent, ServiceCountersRow, ServiceRecord as Service,
  SlotTableRecord as SlotTableSnapshot, StoredEventRecord as StoredEvent,
} from './records.js';
import { StoreError, sqliteCode } from './errors.js';
import { INIT_HINT, RESTORE_HINT, checkOpenedDatabase, firstLine, inspectDbFile, sqliteHint } from './file-check.js';
import { MIGRATIONS, migrate, type SchemaMigration } from './schema.js';
import {
  type BackendRow,
  type ServiceRow,
  backendFromRow,
  backendToRow,
  serviceFromRow,
  serviceToRow,
  parseJsonColumn,
  snapshotFromParts,
  snapshotParts,
} from './rows.js';

export { StoreError } from './errors.js';
export type { StoreErrorKind } from './errors.js';
export type { BackendCountersRow, ServiceCountersRow } from './records.js';

/** Service ids go into cookies and group ids: 24 bits. */
export const SERVICE_ID_MAX = 0xff_ffff;

export interface StoreOptions {
  /** The event log keeps at most this many events (checked every `pruneEvery` appends and at open). */
  maxEvents?: number;
  pruneEvery?: number;
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Schema migrations to apply: the built-in list, or (tests) the built-in list plus later ones. */
  migrations?: readonly SchemaMigration[];
  /**
   * Initialise a file that exists but is empty (0 bytes, or an SQLite database with no tables).
   * Off by default: an empty file where a database was expected usually means it was lost, and
   * starting on it would silently drop every service. A missing file is always created.
   */
  initEmpty?: boolean;
}

export const STORE_DEFAULTS = { maxEvents: 100_000, pruneEvery: 1_000, busyTimeoutMs: 5_000 } as const;

interface EventRow { id: number; at: number; event: string }

type Stmt = Database.Statement;

/** Implements the load balancer's LbStore (apps/lb/store.ts) structurally: db/ does not import the
 * app, and every place that hands a Store to the app (tools/cli, tests) checks the fit. */
export class Store {
  private readonly maxEvents: number;
  private readonly pruneEvery: number;
  private appendsSincePrune = 0;

  private readonly s: {
    insertService: Stmt; updateService: Stmt; deleteService: Stmt; getService: Stmt; listServices: Stmt;
    serviceIdExists: Stmt; smallestFreeServiceId: Stmt;
    insertBackend: Stmt; updateBackend: Stmt; deleteBackend: Stmt; getBackend: Stmt;
    listBackends: Stmt; listBackendsOf: Stmt;
    counter: Stmt; bumpCounter: Stmt; raiseCounter: Stmt;
    saveSlots: Stmt; loadSlots: Stmt;
    listProfiles: Stmt; setProfile: Stmt; clearProfile: Stmt;
    saveBackendCounters: Stmt; loadBackendCounters: Stmt; saveServiceCounters: Stmt; loadServiceCounters: Stmt;
    appendEvent: Stmt; restoreEvent: Stmt; eventsSince: Stmt; latestEvents: Stmt; lastEventId: Stmt; pruneEvents: Stmt;
  };

  private constructor(private readonly db: Database.Database, readonly file: string, opts: StoreOptions) {
    this.maxEvents = opts.maxEvents ?? STORE_DEFAULTS.maxEvents;
    this.pruneEvery = opts.pruneEvery ?? STORE_DEFAULTS.pruneEvery;
    if (!(Number.isInteger(this.maxEvents) && this.maxEvents >= 1)) throw new RangeError(`maxEvents must be a positive integer, got ${this.maxEvents}`);
    if (!(Number.isInteger(this.pruneEvery) && this.pruneEvery >= 1)) throw new RangeError(`pruneEvery must be a positive integer, got ${this.pruneEvery}`);

    const serviceCols =
      'id, name, vip, proto, port, mode, slots, switches, pin_idle_tcp_s, pin_idle_udp_s, mig_min_ms, mig_quiet_ms, ' +
      'mig_max_ms, drain_deadline_ms, tracking, max_query_slots, vmac, created_at, health';
    const backendCols =
      'id, service, ip, port, weight, mac, switch_port, state, state_since, remove_when_drained, drain_started_at, resolved_mac, locations';
    const params = (cols: string) => cols.split(', ').map((c) => `@${c}`).join(', ');
    const sets = (cols: string) => cols.split(', ').filter((c) => c !== 'id').map((c) => `${c} = @${c}`).join(', ');
    const p = (sql: string) => db.prepare(sql);

    this.s = {
      insertService: p(`INSERT INTO services (${serviceCols}) VALUES (${params(serviceCols)})`),
      updateService: p(`UPDATE services SET ${sets(serviceCols)} WHERE id = @id`),
      deleteService: p('DELETE FROM services WHERE name = ?'),
      getService: p(`SELECT ${serviceCols} FROM services WHERE name = ?`),
      listServices: p(`SELECT ${serviceCols} FROM services ORDER BY id`),
      serviceIdExists: p('SELECT 1 FROM services WHERE id = ?').pluck(),
      // Smallest positive id with no service: 1, or one past an id whose successor is free.
      smallestFreeServiceId: p(
        `SELECT 1 AS id WHERE NOT EXISTS (SELECT 1 FROM services WHERE id = 1)
         UNION ALL
         SELECT s.id + 1 FROM services s
           WHERE s.id + 1 <= ${SERVICE_ID_MAX} AND NOT EXISTS (SELECT 1 FROM services t WHERE t.id = s.id + 1)
         ORDER BY id LIMIT 1`,
      ).pluck(),

      insertBackend: p(`INSERT INTO backends (${backendCols}) VALUES (${params(backendCols)})`),
      updateBackend: p(`UPDATE backends SET ${sets(backendCols)} WHERE id = @id`),
      deleteBackend: p('DELETE FROM backends WHERE id = ?'),
      getBackend: p(`SELECT ${backendCols} FROM backends WHERE id = ?`),
      listBackends: p(`SELECT ${backendCols} FROM backends ORDER BY id`),
      listBackendsOf: p(`SELECT ${backendCols} FROM backends WHERE service = ? ORDER BY id`),

      counter: p('SELECT value FROM counters WHERE name = ?').pluck(),
      bumpCounter: p('UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value').pluck(),
      raiseCounter: p('UPDATE counters SET value = max(value, ?) WHERE name = ?'),

      saveSlots: p(
        `INSERT INTO slot_tables (service, owners, migrations, saved_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (service) DO UPDATE SET owners = excluded.owners, migrations = excluded.migrations, saved_at = excluded.saved_at`,
      ),
      loadSlots: p('SELECT owners, migrations FROM slot_tables WHERE service = ?'),

      listProfiles: p('SELECT dpid, profile FROM switch_profiles ORDER BY dpid'),
      setProfile: p('INSERT INTO switch_profiles (dpid, profile) VALUES (?, ?) ON CONFLICT (dpid) DO UPDATE SET profile = excluded.profile'),
      clearProfile: p('DELETE FROM switch_profiles WHERE dpid = ?'),

      saveBackendCounters: p(
        `INSERT INTO backend_counters (backend_id, packets, bytes, opened, base_packets, base_bytes, base_opened, saved_at)
         VALUES (@backendId, @packets, @bytes, @opened, @basePackets, @baseBytes, @baseOpened, @savedAt)
         ON CONFLICT (backend_id) DO UPDATE SET packets = excluded.packets, bytes = excluded.bytes, opened = excluded.opened,
           base_packets = excluded.base_packets, base_bytes = excluded.base_bytes, base_opened = excluded.base_opened,
           saved_at = excluded.saved_at`,
      ),
      loadBackendCounters: p(
        `SELECT backend_id AS backendId, packets, bytes, opened, base_packets AS basePackets, base_bytes AS baseBytes,
           base_opened AS baseOpened FROM backend_counters`,
      ),
      saveServiceCounters: p(
        `INSERT INTO service_counters (service_id, packet_ins, pins_installed, pins_removed, saved_at)
         VALUES (@serviceId, @packetIns, @pinsInstalled, @pinsRemoved, @savedAt)
         ON CONFLICT (service_id) DO UPDATE SET packet_ins = excluded.packet_ins, pins_installed = excluded.pins_installed,
           pins_removed = excluded.pins_removed, saved_at = excluded.saved_at`,
      ),
      loadServiceCounters: p(
        'SELECT service_id AS serviceId, packet_ins AS packetIns, pins_installed AS pinsInstalled, pins_removed AS pinsRemoved FROM service_counters',
      ),

      appendEvent: p('INSERT INTO events (at, type, event) VALUES (?, ?, ?)'),
      restoreEvent: p('INSERT INTO events (id, at, type, event) VALUES (?, ?, ?, ?)'),
      eventsSince: p('SELECT id, at, event FROM events WHERE id > ? ORDER BY id LIMIT ?'),
      latestEvents: p('SELECT id, at, event FROM events ORDER BY id DESC LIMIT ?'),
      lastEventId: p('SELECT ifnull(max(id), 0) FROM events').pluck(),
      pruneEvents: p('DELETE FROM events WHERE id <= ?'),
    };
  }

  /**
   * Opens (or creates) the database at `file` (':memory:' for a private in-memory one), sets WAL,
   * synchronous=NORMAL, foreign keys and a busy timeout, and brings its schema up to date.
   * Throws StoreError: kind 'schema' for a file newer than this code, 'sqlite' for an unusable file.
   */
  static open(file: string, opts: StoreOptions = {}): Store {
    const onDisk = file !== ':memory:' && file !== '';
    // Before SQLite touches it: opening would already set WAL mode in the header of a file we refuse.
    const state = onDisk ? inspectDbFile(file) : 'missing';
    if (state === 'empty' && opts.initEmpty !== true) {
      throw new StoreError('not_holdfast', `the state file ${file} is empty (0 bytes), not a Holdfast database: ${INIT_HINT}, or ${RESTORE_HINT}`);
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (err) {
      throw fileError(file, 'cannot open it', err);
    }
    try {
      if (onDisk) checkOpenedDatabase(db, file, state !== 'sqlite' || opts.initEmpty === true);
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && mode !== 'memory') throw new StoreError('sqlite', `${file}: cannot use WAL journal mode (got ${String(mode)})`);
      db.pragma('synchronous = NORMAL');
      migrate(db, file, opts.migrations ?? MIGRATIONS);
      db.pragma('foreign_keys = ON');
      const store = new Store(db, file, opts);
      store.pruneEvents();
      return store;
    } catch (err) {
      db.close();
      if (err instanceof StoreError || err instanceof RangeError) throw err;
      throw fileError(file, 'cannot use it', err);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Every write is on disk (WAL) when its call returns. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  // --- for a cache of another store (db/etcd-store.ts): restore ids and events as they were ---

  /** The id counters (the highest service and backend ids ever handed out). */
  idCounters(): { serviceId: number; backendId: number } {
    return this.run('read the id counters', () => ({
      serviceId: this.s.counter.get('service_id') as number, backendId: this.s.counter.get('backend_id') as number,
    }));
  }

  /** Raises the id counters to at least these values. */
  raiseIdCounters(c: { serviceId: number; backendId: number }): void {
    this.run('restore the id counters', () => {
      this.s.raiseCounter.run(c.serviceId, 'service_id');
      this.s.raiseCounter.run(c.backendId, 'backend_id');
    });
  }

  /** Inserts an event with its original id (the next appended one continues after it). */
  restoreEvent(e: StoredEvent): void {
    this.run(`restore event ${e.id}`, () => this.s.restoreEvent.run(e.id, e.at, e.event.type, JSON.stringify(e.event)));
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /**
   * Runs `fn` in one transaction: all its writes commit together or not at all (it rolls back
   * when `fn` throws). Nests (inner calls become savepoints). `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(() => {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('Store.transaction: fn must be synchronous (it returned a Promise)');
      return result;
    })();
  }

  // --- services ---

  insertService(s: Service): void {
    this.run(`add service "${s.name}"`, () =>
      this.db.transaction(() => {
        this.s.insertService.run(serviceToRow(s));
        this.s.raiseCounter.run(s.id, 'service_id');
      })(),
    );
  }

  /** Updates the service with `s.id` (its name may change; backends and slot table follow). */
  updateService(s: Service): void {
    const r = this.run(`update service "${s.name}"`, () => this.s.updateService.run(serviceToRow(s)));
    if (r.changes === 0) throw new StoreError('not_found', `update service "${s.name}": no service with id ${s.id}`);
  }

  /** Deletes the service with its backends and slot table. False when there was none. */
  deleteService(name: string): boolean {
    return this.run(`delete service "${name}"`, () => this.s.deleteService.run(name)).changes > 0;
  }

  getService(name: string): Service | undefined {
    return this.run(`read service "${name}"`, () => {
      const r = this.s.getService.get(name) as ServiceRow | undefined;
      return r && serviceFromRow(r);
    });
  }

  /** All services, by id. */
  listServices(): Service[] {
    return this.run('read the services', () => (this.s.listServices.all() as ServiceRow[]).map(serviceFromRow));
  }

  /**
   * Reserves a service id: one past the highest ever handed out or inserted, so a deleted
   * service's id (and the cookies of its stale pins) is not reused until the 24-bit space wraps;
   * after that, the smallest unused id.
   */
  nextServiceId(): number {
    return this.run('allocate a service id', () =>
      this.db.transaction(() => {
        let id = (this.s.counter.get('service_id') as number) + 1;
        if (id > SERVICE_ID_MAX || this.s.serviceIdExists.get(id) !== undefined) {
          const free = this.s.smallestFreeServiceId.get() as number | undefined;
          if (free === undefined) throw new StoreError('conflict', `no free service id: all ${SERVICE_ID_MAX} are in use`);
          id = free;
        }
        this.s.raiseCounter.run(id, 'service_id');
        return id;
      })(),
    );
  }

  // --- backends ---

  insertBackend(b: Backend): void {
    this.run(`add backend ${describeBackend(b)}`, () =>
      this.db.transaction(() => {
        this.s.insertBackend.run(backendToRow(b));
        this.s.raiseCounter.run(b.id, 'backend_id');
      })(),
    );
  }

  updateBackend(b: Backend): void {
    const r = this.run(`update backend ${describeBackend(b)}`, () => this.s.updateBackend.run(backendToRow(b)));
    if (r.changes === 0) throw new StoreError('not_found', `update backend ${describeBackend(b)}: no backend with id ${b.id}`);
  }

  /** False when there was no such backend. */
  deleteBackend(id: number): boolean {
    return this.run(`delete backend ${id}`, () => this.s.deleteBackend.run(id)).changes > 0;
  }

  getBackend(id: number): Backend | undefined {
    return this.run(`read backend ${id}`, () => {
      const r = this.s.getBackend.get(id) as BackendRow | undefined;
      return r && backendFromRow(r);
    });
  }

  /** Backends of one service, or of all services; by id. */
  listBackends(service?: string): Backend[] {
    return this.run(service === undefined ? 'read the backends' : `read the backends of service "${service}"`, () => {
      const rows = (service === undefined ? this.s.listBackends.all() : this.s.listBackendsOf.all(service)) as BackendRow[];
      return rows.map(backendFromRow);
    });
  }

  /** Reserves a backend id: monotonic, never reused (pin cookies carry it). */
  nextBackendId(): number {
    return this.run('allocate a backend id', () => this.s.bumpCounter.get('backend_id') as number);
  }

  // --- slot tables ---

  /** Replaces the service's slot table (owners and migrations in flight) in one row write. */
  saveSlotTable(service: string, snap: SlotTableSnapshot, at: number = Date.now()): void {
    const { owners, migrations } = snapshotParts(service, snap);
    this.run(`save slot table of service "${service}"`, () => this.s.saveSlots.run(service, owners, migrations, at));
  }

  loadSlotTable(service: string): SlotTableSnapshot | undefined {
    return this.run(`read the slot table of service "${service}"`, () => {
      const r = this.s.loadSlots.get(service) as { owners: Buffer; migrations: string } | undefined;
      return r && snapshotFromParts(service, r.owners, r.migrations);
    });
  }

  // --- events ---

  /** Appends an event; ids increase and are never reused, even after pruning. */
  // --- switch profiles forced by operators (dpid → profile) ---

  listSwitchProfiles(): { dpid: string; profile: string }[] {
    return this.run('list switch profiles', () => this.s.listProfiles.all() as { dpid: string; profile: string }[]);
  }

  /** `null` returns the switch to detection. */
  setSwitchProfile(dpid: string, profile: string | null): void {
    this.run(`set the profile of switch ${dpid}`, () => {
      if (profile === null) this.s.clearProfile.run(dpid);
      else this.s.setProfile.run(dpid, profile);
    });
  }

  // --- counters kept across restarts (schema 4) ---

  /** Writes every backend's and service's counters in one transaction (rows of gone ones are
   * removed with them by the foreign keys). */
  saveCounters(backends: readonly BackendCountersRow[], services: readonly ServiceCountersRow[], at: number = Date.now()): void {
    this.run('save the traffic counters', () =>
      this.db.transaction(() => {
        for (const b of backends) this.s.saveBackendCounters.run({ ...b, savedAt: at });
        for (const s of services) this.s.saveServiceCounters.run({ ...s, savedAt: at });
      })(),
    );
  }

  loadBackendCounters(): BackendCountersRow[] {
    return this.run('read the traffic counters', () => this.s.loadBackendCounters.all() as BackendCountersRow[]);
  }

  loadServiceCounters(): ServiceCountersRow[] {
    return this.run('read the service counters', () => this.s.loadServiceCounters.all() as ServiceCountersRow[]);
  }

  appendEvent(event: LbEvent, at: number = Date.now()): StoredEvent {
    const r = this.run(`record event ${event.type}`, () => this.s.appendEvent.run(at, event.type, JSON.stringify(event)));
    if (++this.appendsSincePrune >= this.pruneEvery) this.pruneEvents();
    return { id: Number(r.lastInsertRowid), at, event };
  }

  /** Events with id > afterId, oldest first, at most `limit` (page on with the last id). */
  eventsSince(afterId: number, limit = 500): StoredEvent[] {
    return this.run('read the event log', () => (this.s.eventsSince.all(afterId, limit) as EventRow[]).map(eventFromRow));
  }

  /** The newest `limit` events, oldest first. */
  latestEvents(limit: number): StoredEvent[] {
    return this.run('read the event log', () => (this.s.latestEvents.all(limit) as EventRow[]).reverse().map(eventFromRow));
  }

  /** Id of the newest event ever appended that is still kept (0 when the log is empty). */
  lastEventId(): number {
    return this.run('read the event log', () => this.s.lastEventId.get() as number);
  }

  /** Drops the oldest events beyond `maxEvents`. Cheap: a range delete on the primary key. */
  pruneEvents(): number {
    this.appendsSincePrune = 0;
    const last = this.lastEventId();
    if (last <= this.maxEvents) return 0;
    return this.run('prune the event log', () => this.s.pruneEvents.run(last - this.maxEvents)).changes;
  }

  /** Runs one SQLite operation, turning its failures into StoreErrors that name what was attempted. */
  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toStoreError(this.file, what, err);
    }
  }
}

function describeBackend(b: Pick<Backend, 'id' | 'service' | 'ip' | 'port'>): string {
  return `${b.port === undefined ? b.ip : `${b.ip}:${b.port}`} (id ${b.id}) of service "${b.service}"`;
}

function eventFromRow(r: EventRow): StoredEvent {
  return { id: r.id, at: r.at, event: parseJsonColumn<LbEvent>(r.event, `event ${r.id}`, 'event') };
}

/** What each constraint means to an operator. */
const CONSTRAINT_MEANING: Record<string, string> = {
  'services.name': 'a service with this name already exists',
  'services.id': 'a service with this id already exists',
  'services.vip, services.proto, services.port': 'another service already uses this VIP, protocol and port',
  'backends.id': 'a backend with this id already exists',
  "index 'backends_unique_addr'": 'the service already has a backend with this address',
};

function toStoreError(file: string, what: string, err: unknown): StoreError {
  if (err instanceof StoreError) {
    // Damage found while reading a row: say which file, and what to do about it.
    if (err.kind === 'corrupt' && !err.message.includes(file)) {
      return new StoreError('corrupt', `${file}: ${what}: ${err.message}: the file is damaged; ${RESTORE_HINT}`, err);
    }
    return err;
  }
  const code = sqliteCode(err) ?? '';
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const cols = msg.replace(/^UNIQUE constraint failed: /, '');
    return new StoreError('conflict', `${what}: ${CONSTRAINT_MEANING[cols] ?? msg}`, err);
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new StoreError('not_found', `${what}: no such service`, err);
  if (code.startsWith('SQLITE_CONSTRAINT') || err instanceof TypeError || err instanceof RangeError) {
    return new StoreError('invalid', `${what}: ${msg}`, err);
  }
  return fileError(file, what, err);
}

/** A failure of the file itself (not of the request): names the file and says what to do. */
function fileError(file: string, what: string, err: unknown): StoreError {
  const code = sqliteCode(err);
  const hint = sqliteHint(code);
  const kind = code?.startsWith('SQLITE_CORRUPT') ? 'corrupt' : code === 'SQLITE_NOTADB' ? 'not_holdfast' : 'sqlite';
  return new StoreError(kind, `${file}: ${what}: ${firstLine(err)}${hint ? ` (${hint})` : ''}`, err);
}
