// Versioned schema migrations. The database's version lives in PRAGMA user_version (0 = empty
// file); each migration moves it up by exactly one, inside its own transaction, so a crash mid-way
// leaves the file at the last version that completed. Never edit a released migration: append one.

import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';

export interface SchemaMigration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

export const MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    name: 'services, backends, slot tables, counters, events',
    up: (db) => {
      db.exec(`
        CREATE TABLE services (
          id                INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 16777215),
          name              TEXT NOT NULL UNIQUE,
          vip               TEXT NOT NULL,
          proto             TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
          port              INTEGER NOT NULL,
          mode              TEXT NOT NULL CHECK (mode IN ('nat', 'dsr')),
          slots             INTEGER NOT NULL,
          switches          TEXT NOT NULL,            -- JSON array of datapath ids
          pin_idle_tcp_s    INTEGER NOT NULL,
          pin_idle_udp_s    INTEGER NOT NULL,
          mig_min_ms        INTEGER NOT NULL,
          mig_quiet_ms      INTEGER NOT NULL,
          mig_max_ms        INTEGER NOT NULL,
          drain_deadline_ms INTEGER NOT NULL,
          tracking          TEXT NOT NULL CHECK (tracking IN ('migrations', 'all')),
          max_query_slots   INTEGER NOT NULL,
          vmac              TEXT NOT NULL,
          created_at        INTEGER NOT NULL,
          UNIQUE (vip, proto, port)
        );

        CREATE TABLE backends (
          id                  INTEGER PRIMARY KEY CHECK (id > 0),
          service             TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE ON UPDATE CASCADE,
          ip                  TEXT NOT NULL,
          port                INTEGER,
          weight              INTEGER NOT NULL,
          mac                 TEXT,
          switch_port         INTEGER,
          state               TEXT NOT NULL CHECK (state IN ('resolving', 'active', 'draining', 'drained', 'down', 'removed')),
          state_since         INTEGER NOT NULL,
          remove_when_drained INTEGER NOT NULL CHECK (remove_when_drained IN (0, 1)),
          drain_started_at    INTEGER,
          resolved_mac        TEXT
        );
        CREATE INDEX backends_by_service ON backends(service);
        -- One live backend per ip[:port] within a service; a 'removed' one may linger beside its successor.
        CREATE UNIQUE INDEX backends_unique_addr ON backends(service, ip, ifnull(port, -1)) WHERE state <> 'removed';

        -- Owners as little-endian uint32 backend ids (0 = no owner); migrations in flight as JSON.
        CREATE TABLE slot_tables (
          service    TEXT PRIMARY KEY REFERENCES services(name) ON DELETE CASCADE ON UPDATE CASCADE,
          owners     BLOB NOT NULL,
          migrations TEXT NOT NULL,
          saved_at   INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- High-water marks of allocated ids, so an id is not handed out twice.
        CREATE TABLE counters (
          name  TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO counters (name, value) VALUES ('backend_id', 0), ('service_id', 0);

        -- AUTOINCREMENT: ids never go back, even after pruning, so "events since id" cursors stay valid.
        CREATE TABLE events (
          id    INTEGER PRIMARY KEY AUTOINCREMENT,
          at    INTEGER NOT NULL,
          type  TEXT NOT NULL,
          event TEXT NOT NULL                         -- JSON LbEvent
        );
      `);
    },
  },
  {
    version: 2,
    name: 'backend locations',
    up: (db) => {
      // JSON object datapath id → switch port; NULL when the backend has not been located.
      db.exec('ALTER TABLE backends ADD COLUMN locations TEXT');
    },
  },
  {
    version: 3,
    name: 'switch profiles forced by operators',
    up: (db) => {
      db.exec(`CREATE TABLE switch_profiles (
        dpid    TEXT PRIMARY KEY,
        profile TEXT NOT NULL CHECK (profile IN ('ovs', 'openflow13'))
      ) WITHOUT ROWID`);
    },
  },
  {
    version: 4,
    name: 'traffic and controller counters (survive restarts)',
    up: (db) => {
      // Per backend: the published totals and the part of them that was not a live entry at the
      // save (a restarted controller adds its own counts of live entries to that part; see
      // apps/lb/traffic-ledger.ts). Per service: the controller's counters.
      db.exec(`
        CREATE TABLE backend_counters (
          backend_id   INTEGER PRIMARY KEY REFERENCES backends(id) ON DELETE CASCADE,
          packets      INTEGER NOT NULL,
          bytes        INTEGER NOT NULL,
          opened       INTEGER NOT NULL,
          base_packets INTEGER NOT NULL,
          base_bytes   INTEGER NOT NULL,
          base_opened  INTEGER NOT NULL,
          saved_at     INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE service_counters (
          service_id     INTEGER PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
          packet_ins     INTEGER NOT NULL,
          pins_installed INTEGER NOT NULL,
          pins_removed   INTEGER NOT NULL,
          saved_at       INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 5,
    name: 'service health checks',
    up: (db) => {
      // JSON HealthSpec (apps/lb/health.ts); NULL = the defaults for the service's protocol.
      db.exec('ALTER TABLE services ADD COLUMN health TEXT');
    },
  },
];

/** The highest schema version a list of migrations reaches. */
export function latestVersion(migrations: readonly SchemaMigration[] = MIGRATIONS): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` up to the latest version of `migrations` (numbered 1..N, in order). Refuses a
 * database newer than the code. Foreign keys are off while migrating (table rebuilds need it) and
 * checked before each step commits. Returns the versions applied.
 */
export function migrate(db: Database, file: string, migrations: readonly SchemaMigration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`schema migration list is not numbered 1..N: entry ${i} has version ${m.version}`);
  });
  const latest = latestVersion(migrations);
  const current = schemaVersion(db);
  if (current > latest) {
    throw new StoreError(
      'schema',
      `${file}: database schema version ${current} is newer than this build of holdfast knows (${latest}); refusing to open it — run a newer holdfast`,
    );
  }
  if (current === latest) return [];

  const fkWasOn = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  const applied: number[] = [];
  try {
    for (const m of migrations.slice(current)) {
      db.transaction(() => {
        try {
          m.up(db);
        } catch (err) {
          throw new StoreError('schema', `${file}: schema migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, err);
        }
        const bad = db.pragma('foreign_key_check') as unknown[];
        if (bad.length > 0) {
          throw new StoreError('schema', `${file}: schema migration ${m.version} (${m.name}) left ${bad.length} foreign key violation(s)`);
        }
        db.pragma(`user_version = ${m.version}`);
      })();
      applied.push(m.version);
    }
  } finally {
    if (fkWasOn) db.pragma('foreign_keys = ON');
  }
  return applied;
}
