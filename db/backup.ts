// Online backup of a state file through SQLite's backup API: safe while a controller runs on the
// file (WAL: the copy is one consistent snapshot, taken page by page without stopping writers),
// written under a temporary name and renamed, so a backup file is never half-written.

import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { StoreError, sqliteCode } from './errors.js';
import { checkOpenedDatabase, firstLine, inspectDbFile, sqliteHint } from './file-check.js';
import { schemaVersion } from './schema.js';

export interface DbSummary {
  file: string;
  schemaVersion: number;
  services: number;
  backends: number;
  events: number;
  bytes: number;
}

/** Opens an existing Holdfast database without changing it (no migration, no pruning). */
function openExisting(file: string, role: string): Database.Database {
  const state = inspectDbFile(file);
  if (state === 'missing') throw new StoreError('not_found', `${role} ${file} does not exist: check --db`);
  if (state === 'empty') throw new StoreError('not_holdfast', `${role} ${file} is empty (0 bytes), not a Holdfast database`);
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw dbError(file, 'cannot open it', err);
  }
  try {
    checkOpenedDatabase(db, file, false);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function summarize(db: Database.Database, file: string): DbSummary {
  const count = (table: string): number => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return {
    file, schemaVersion: schemaVersion(db), services: count('services'), backends: count('backends'), events: count('events'),
    bytes: pages * pageSize,
  };
}

/** Checks a Holdfast database file and says what is in it (the `db check` verb). */
export function inspectDatabase(file: string): DbSummary {
  const db = openExisting(file, 'the state file');
  try {
    return summarize(db, file);
  } finally {
    db.close();
  }
}

/**
 * Copies `source` (one consistent snapshot, even while a controller writes to it) to `dest`,
 * then opens the copy as a Holdfast database and counts what it holds. Refuses to overwrite
 * `dest` unless `overwrite`.
 */
export async function backupDatabase(source: string, dest: string, overwrite = false): Promise<DbSummary> {
  if (existsSync(dest) && !overwrite) {
    throw new StoreError('conflict', `the backup file ${dest} already exists: choose another name, or pass --force to replace it`);
  }
  const partial = `${dest}.partial-${process.pid}`;
  const src = openExisting(source, 'the state file');
  try {
    await src.backup(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw dbError(source, `backing up to ${dest}`, err);
  } finally {
    src.close();
  }
  try {
    // One self-contained file: a copy in WAL mode would need its -wal/-shm companions to be read
    // on a read-only medium. The controller switches it back to WAL when it opens it.
    const copy = new Database(partial);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    renameSync(partial, dest);
  } catch (err) {
    rmSync(partial, { force: true });
    throw dbError(dest, 'finishing the backup', err);
  }
  // What an operator needs from a backup: that it opens as a Holdfast database, and what it holds.
  const check = openExisting(dest, 'the backup file');
  try {
    return summarize(check, dest);
  } finally {
    check.close();
  }
}

function dbError(file: string, what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const hint = sqliteHint(sqliteCode(err));
  return new StoreError('sqlite', `${file}: ${what}: ${firstLine(err)}${hint ? ` (${hint})` : ''}`, err);
}
