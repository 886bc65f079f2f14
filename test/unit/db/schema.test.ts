import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, latestVersion, migrate, schemaVersion, type SchemaMigration } from '../../../db/schema.js';
import { serviceToRow } from '../../../db/rows.js';
import { Store, StoreError } from '../../../db/store.js';
import { backend, service, tempDir } from './fixtures.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function rawVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return schemaVersion(db);
  } finally {
    db.close();
  }
}

/** A later release's migration, as a test stands it in: a new column with a default, and a new table. */
const next: SchemaMigration = {
  version: latestVersion() + 1,
  name: 'test: backend notes',
  up: (db) => {
    db.exec(`ALTER TABLE backends ADD COLUMN note TEXT NOT NULL DEFAULT 'none';
             CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);`);
  },
};

describe('schema migrations', () => {
  it('creates the schema in an empty file, in WAL mode, and reopening keeps version and data', () => {
    const file = tmp.file();
    const store = Store.open(file);
    store.insertService(service(1, 'web'));
    store.insertBackend(backend(1, 'web'));
    // While open, WAL mode leaves its -wal and -shm files beside the database.
    expect(existsSync(`${file}-wal`)).toBe(true);
    expect(existsSync(`${file}-shm`)).toBe(true);
    store.close();

    const raw = new Database(file);
    expect(schemaVersion(raw)).toBe(latestVersion());
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal'); // persistent in the file
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['backends', 'counters', 'events', 'services', 'slot_tables']));
    raw.close();

    const again = Store.open(file);
    expect(again.getService('web')).toStrictEqual(service(1, 'web'));
    expect(again.listBackends()).toStrictEqual([backend(1, 'web')]);
    again.close();
    expect(rawVersion(file)).toBe(latestVersion());
  });

  it('upgrades a version-1 database through every later migration, keeping its data', () => {
    const file = tmp.file();
    // A database written by the first release, which knew only migration 1.
    const old = new Database(file);
    expect(migrate(old, file, MIGRATIONS.slice(0, 1))).toEqual([1]);
    // Columns added by later migrations (health, version 4) are not in a version-1 row.
    const { health: _health, ...svcRow } = serviceToRow(service(1, 'web'));
    old.prepare(`INSERT INTO services (${Object.keys(svcRow).join(', ')}) VALUES (${Object.keys(svcRow).map((k) => '@' + k).join(', ')})`).run(svcRow);
    old.prepare(`INSERT INTO backends (id, service, ip, port, weight, state, state_since, remove_when_drained)
                 VALUES (7, 'web', '10.2.0.7', 8080, 2, 'active', 123, 0)`).run();
    old.prepare("UPDATE counters SET value = 7 WHERE name = 'backend_id'").run();
    old.close();
    expect(rawVersion(file)).toBe(1);

    const s = Store.open(file);
    expect(s.getService('web')).toStrictEqual(service(1, 'web'));
    expect(s.listBackends()).toStrictEqual([
      { id: 7, service: 'web', ip: '10.2.0.7', port: 8080, weight: 2, state: 'active', stateSince: 123, removeWhenDrained: false },
    ]);
    expect(s.nextBackendId()).toBe(8);
    // Columns added by later migrations work on the upgraded file.
    s.updateBackend({ ...s.getBackend(7)!, locations: { '0000000000000001': 3 } });
    expect(s.getBackend(7)?.locations).toEqual({ '0000000000000001': 3 });
    s.close();
    expect(rawVersion(file)).toBe(latestVersion());
    expect(latestVersion()).toBeGreaterThan(1);
  });

  it('applies a later release\'s migration to a current file, once', () => {
    const file = tmp.file();
    const s1 = Store.open(file);
    s1.insertService(service(1, 'web'));
    s1.insertBackend(backend(1, 'web'));
    s1.close();

    const s2 = Store.open(file, { migrations: [...MIGRATIONS, next] });
    expect(s2.listBackends()).toStrictEqual([backend(1, 'web')]);
    s2.close();
    expect(rawVersion(file)).toBe(next.version);
    const raw = new Database(file);
    expect(raw.prepare('SELECT note FROM backends WHERE id = 1').pluck().get()).toBe('none');
    expect(raw.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(0);
    // Already current: nothing applied the second time.
    expect(migrate(raw, file, [...MIGRATIONS, next])).toEqual([]);
    raw.close();
  });

  it('rolls a failing migration back whole and leaves the file at the last good version', () => {
    const file = tmp.file();
    Store.open(file).close();
    const broken: SchemaMigration = {
      version: latestVersion() + 1,
      name: 'test: half done',
      up: (db) => {
        db.exec('CREATE TABLE half (x INTEGER)');
        db.exec('ALTER TABLE no_such_table ADD COLUMN y INTEGER');
      },
    };
    let err: unknown;
    try {
      Store.open(file, { migrations: [...MIGRATIONS, broken] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('schema');
    expect((err as StoreError).message).toMatch(new RegExp(`migration ${broken.version} \\(test: half done\\) failed: no such table`));
    expect(rawVersion(file)).toBe(latestVersion());
    const raw = new Database(file);
    expect(raw.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0);
    raw.close();
    Store.open(file).close(); // still usable by the code that knows it
  });

  it('refuses a database newer than the code, and leaves it untouched', () => {
    const file = tmp.file();
    Store.open(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${latestVersion() + 1}`);
    raw.close();
    let err: unknown;
    try {
      Store.open(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('schema');
    expect((err as StoreError).message).toContain(`schema version ${latestVersion() + 1} is newer than this build of holdfast knows (${latestVersion()})`);
    expect(rawVersion(file)).toBe(latestVersion() + 1);
  });

  it('rejects a migration list that is not numbered 1..N', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, ':memory:', [MIGRATIONS[0], { ...next, version: 3 }])).toThrow(/numbered 1\.\.N/);
    expect(schemaVersion(db)).toBe(0);
    db.close();
  });
});
