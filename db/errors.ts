// One error type for everything the store refuses, with a kind callers can branch on.

export type StoreErrorKind =
  /** A unique constraint: the name, VIP or backend address is already taken. */
  | 'conflict'
  /** The row to update, or the service a row belongs to, does not exist. */
  | 'not_found'
  /** A value the schema cannot hold (bad owner id, check constraint). */
  | 'invalid'
  /** The file's schema cannot be used: newer than the code, or a migration failed. */
  | 'schema'
  /** The file exists but is not a Holdfast database (empty, not SQLite, someone else's tables). */
  | 'not_holdfast'
  /** The file is damaged: truncated, failing SQLite's check, or a row whose value cannot be read. */
  | 'corrupt'
  /** Anything else SQLite reported (I/O, disk full, locked). */
  | 'sqlite';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** better-sqlite3's SqliteError carries an extended result code such as SQLITE_CONSTRAINT_UNIQUE. */
export function sqliteCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
