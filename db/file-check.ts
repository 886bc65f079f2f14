// Is this file a Holdfast database? Checked before the store touches it, so a wrong --db, a
// 0-byte file or a damaged copy is refused with a sentence saying what to do, instead of being
// silently turned into a new, empty database (every service gone) or failing later with a
// SQLite message that names nothing.

import type { Database } from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { StoreError } from './errors.js';

/** What the file looked like before anything opened it. */
export type FileState = 'missing' | 'empty' | 'sqlite';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;
/** Tables every Holdfast schema (version 1 on) has; their absence means "some other database". */
const HOLDFAST_TABLES = ['services', 'backends', 'slot_tables', 'counters', 'events'] as const;

export const RESTORE_HINT = 'restore it from a backup (see "holdfast db backup" in docs/operations.md)';
export const INIT_HINT = 'start with --init-db to make it a new, empty Holdfast database';

/**
 * Looks at the file's bytes only (nothing is opened through SQLite, nothing is written).
 * Throws StoreError 'not_holdfast' for a file that is not SQLite, 'corrupt' for a truncated one.
 * An empty file is reported, not refused: whether it may be initialised is the caller's choice.
 */
export function inspectDbFile(file: string): FileState {
  if (!existsSync(file)) return 'missing';
  const st = statSync(file);
  if (!st.isFile()) throw new StoreError('not_holdfast', `the state file ${file} is not a regular file: check --db`);
  if (st.size === 0) return 'empty';
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const k = Math.min(n, SQLITE_MAGIC.length);
  if (n < HEADER_BYTES && header.subarray(0, k).equals(SQLITE_MAGIC.subarray(0, k))) {
    throw new StoreError('corrupt', `the state file ${file} is truncated (${st.size} bytes, less than an SQLite header): ${RESTORE_HINT}`);
  }
  if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw new StoreError('not_holdfast', `the state file ${file} is not a Holdfast database (not an SQLite file; ${st.size} bytes): check --db, or ${RESTORE_HINT}`);
  }
  // A page size of 1 means 65536; anything not a power of two from 512 is a damaged header.
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new StoreError('corrupt', `the state file ${file} is damaged (its SQLite header is invalid): ${RESTORE_HINT}`);
  }
  // The in-header page count is trustworthy only when "version-valid-for" equals the change
  // counter. With a WAL file beside it, the main file may lag its header mid-checkpoint (the WAL
  // still holds the pages), so the size check is left to SQLite's own check then.
  const pages = header.readUInt32BE(28);
  const headerValid = header.readUInt32BE(92) === header.readUInt32BE(24);
  const walSize = existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0;
  if (headerValid && walSize === 0 && pages * pageSize > st.size) {
    throw new StoreError('corrupt', `the state file ${file} is truncated (${st.size} bytes; its header says ${pages * pageSize}): ${RESTORE_HINT}`);
  }
  return 'sqlite';
}

/**
 * After opening, before anything is written: SQLite's quick check, then "is this ours?".
 * `blankAllowed`: an SQLite database with no tables and version 0 may be initialised (it was just
 * created, or the operator said --init-db).
 */
export function checkOpenedDatabase(db: Database, file: string, blankAllowed: boolean): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
  } catch (err) {
    throw new StoreError('corrupt', `the state file ${file} is damaged (SQLite: ${firstLine(err)}): ${RESTORE_HINT}`, err);
  }
  if (problems.length !== 1 || problems[0] !== 'ok') {
    // The first finding is enough to decide; the "*** in database main ***" preamble says nothing.
    const first = problems.join('\n').split('\n').find((l) => l.trim() !== '' && !l.startsWith('***')) ?? 'no answer';
    throw new StoreError('corrupt', `the state file ${file} is damaged (SQLite: ${first.trim()}): ${RESTORE_HINT}`);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[]);
  if (version === 0 && tables.length === 0) {
    if (blankAllowed) return;
    throw new StoreError('not_holdfast', `the state file ${file} is an SQLite database with nothing in it, not a Holdfast database: ${INIT_HINT}`);
  }
  const missing = HOLDFAST_TABLES.filter((t) => !tables.includes(t));
  if (version === 0 || missing.length > 0) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw new StoreError(
      'not_holdfast',
      `the state file ${file} is an SQLite database of something else (tables: ${shown || 'none'}), not a Holdfast database: check --db`,
    );
  }
}

/** What an operator should do about a SQLite failure, by its result code. */
export function sqliteHint(code: string | undefined): string {
  if (!code) return '';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return `the file is damaged: stop holdfast and ${RESTORE_HINT}`;
  if (code === 'SQLITE_FULL') return 'the disk is full: free some space';
  if (code.startsWith('SQLITE_READONLY')) return 'the file cannot be written: check its permissions and the file system';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'another process holds it locked: is a second holdfast using it?';
  if (code.startsWith('SQLITE_IOERR')) return 'the disk reported an I/O error: check the disk';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'check the path and its permissions';
  if (code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) return 'check the file\'s permissions';
  return '';
}

/** SQLite messages are one line, but a caught value may not be an Error at all. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
