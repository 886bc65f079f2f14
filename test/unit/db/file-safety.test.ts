// State file safety: a file that exists but is not a Holdfast database (empty, not SQLite, someone
// else's, truncated, damaged) is refused with a sentence naming it, and left as it was; a damaged
// JSON value in a row is reported by row and column, never printed.
import Database from 'better-sqlite3';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, StoreError } from '../../../db/store.js';
import { backend, service, tempDir } from './fixtures.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function refusal(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected a StoreError, nothing was thrown');
}

/** A real Holdfast database with some rows, closed (WAL checkpointed into the file). */
function populated(file: string, services = 40): void {
  const s = Store.open(file);
  for (let i = 1; i <= services; i++) {
    s.insertService(service(i, `svc${i}`));
    s.insertBackend(backend(i, `svc${i}`));
  }
  for (let i = 0; i < 500; i++) s.appendEvent({ type: 'error', message: `event ${i} ${'x'.repeat(100)}` });
  s.close();
}

describe('refusing files that are not a Holdfast database', () => {
  it('refuses a 0-byte file, names it and leaves it empty; initEmpty makes it a database', () => {
    const file = tmp.file('empty.db');
    writeFileSync(file, '');
    const e = refusal(() => Store.open(file));
    expect(e.kind).toBe('not_holdfast');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/empty \(0 bytes\).*--init-db/);
    expect(statSync(file).size).toBe(0);
    const s = Store.open(file, { initEmpty: true });
    s.insertService(service(1, 'web'));
    s.close();
    expect(Store.open(file).listServices().map((x) => x.name)).toEqual(['web']);
  });

  it('refuses an SQLite database with no tables unless told to initialise it', () => {
    const file = tmp.file('blank.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE t (x); DROP TABLE t;');
    raw.close();
    const e = refusal(() => Store.open(file));
    expect(e.kind).toBe('not_holdfast');
    expect(e.message).toMatch(/blank\.db is an SQLite database with nothing in it/);
    Store.open(file, { initEmpty: true }).close();
  });

  it('refuses someone else\'s SQLite database even with initEmpty, and does not touch it', () => {
    const file = tmp.file('other.db');
    const raw = new Database(file);
    raw.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('a');");
    raw.close();
    const before = readFileSync(file);
    for (const initEmpty of [false, true]) {
      const e = refusal(() => Store.open(file, { initEmpty }));
      expect(e.kind).toBe('not_holdfast');
      expect(e.message).toMatch(/other\.db is an SQLite database of something else \(tables: customers\)/);
    }
    expect(readFileSync(file).equals(before)).toBe(true); // not even switched to WAL
  });

  it('refuses a garbage file', () => {
    const file = tmp.file('garbage.db');
    writeFileSync(file, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 3) & 0xff)));
    const e = refusal(() => Store.open(file, { initEmpty: true }));
    expect(e.kind).toBe('not_holdfast');
    expect(e.message).toMatch(/garbage\.db is not a Holdfast database \(not an SQLite file; 8192 bytes\)/);
  });

  it('refuses a truncated database, cut at a page boundary or inside the header', () => {
    const file = tmp.file('cut.db');
    populated(file);
    const size = statSync(file).size;
    truncateSync(file, Math.floor(size / 2 / 4096) * 4096);
    const e = refusal(() => Store.open(file));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(/cut\.db is truncated \(\d+ bytes; its header says \d+\): restore it from a backup/);
    truncateSync(file, 50);
    expect(refusal(() => Store.open(file)).message).toMatch(/cut\.db is truncated \(50 bytes, less than an SQLite header\)/);
  });

  it('refuses a database with a damaged page, naming the file', () => {
    const file = tmp.file('bad-page.db');
    populated(file);
    const buf = readFileSync(file);
    // Scribble over the b-tree pages after the schema page: the header stays valid.
    for (let i = 4096 * 2; i < buf.length - 4096; i++) buf[i] = (i * 31) & 0xff;
    writeFileSync(file, buf);
    const e = refusal(() => Store.open(file));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(/bad-page\.db is damaged \(SQLite: .+\): restore it from a backup/);
  });
});

describe('damaged values in rows', () => {
  it('reports a service row whose JSON is binary garbage by file, row and column, without printing it', () => {
    const file = tmp.file();
    populated(file, 2);
    const raw = new Database(file);
    raw.prepare('UPDATE services SET switches = ? WHERE id = 2').run(Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0xfe]));
    raw.prepare("UPDATE backends SET locations = ? WHERE id = 1").run('{"0000000000000001": 3');
    raw.close();
    const s = Store.open(file);
    const e = refusal(() => s.listServices());
    expect(e.kind).toBe('corrupt');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/service 2: column switches holds 7 bytes of binary data, not JSON text/);
    expect(e.message).toMatch(/restore it from a backup/);
    expect(e.message).not.toMatch(/[\x00-\x1f\x7f-\xff]/);
    const b = refusal(() => s.listBackends());
    expect(b.message).toMatch(/backend 1: column locations is not valid JSON \(22 bytes\)/);
    expect(b.message).not.toContain('"0000000000000001"');
    s.close();
  });

  it('reports a damaged event by its id', () => {
    const file = tmp.file();
    populated(file, 1);
    const raw = new Database(file);
    raw.prepare('UPDATE events SET event = ? WHERE id = 7').run('\u0007\u0008not json');
    raw.close();
    const s = Store.open(file);
    expect(refusal(() => s.eventsSince(0, 10)).message).toMatch(/events?.*event 7: column event is not valid JSON \(10 bytes\)/);
    s.close();
  });
});
