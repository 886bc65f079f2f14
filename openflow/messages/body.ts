// Small helpers the message families share: end-of-body checks and enum tables (index = wire code).
import { CodecError, type Reader } from '../buf.js';
import type { MessageBase, WireVersion } from '../types.js';

/** The body must end here: trailing bytes mean a length that lies. */
export function done(r: Reader, what: string): void {
  if (r.remaining() !== 0) throw new CodecError('bad_length', `${r.remaining()} unexpected bytes after ${what}`);
}

/** The read and write of a message that is its header alone (a request that only asks, a
 * barrier): spread into its declaration, `...headerOnly('barrier_request')`. */
export function headerOnly<T extends string>(type: T) {
  const what = type.replaceAll('_', ' ');
  return {
    read(r: Reader, version: WireVersion, xid: number): MessageBase & { type: T } {
      done(r, what);
      return { type, version, xid };
    },
    write(): void {},
  };
}

/** The rest of the body, as is. */
export function rest(r: Reader): Buffer {
  return r.bytes(r.remaining());
}

/** Name of a closed enum's wire code; an unknown code cannot be represented. */
export function fromTable<T>(table: readonly (T | undefined)[], code: number, what: string): T {
  const v = table[code];
  if (v === undefined) throw new CodecError('bad_value', `unknown ${what} ${code}`);
  return v;
}

export function toTable<T>(table: readonly (T | undefined)[], v: T, what: string): number {
  const i = table.indexOf(v);
  if (i < 0) throw new CodecError('bad_value', `unknown ${what} ${String(v)}`);
  return i;
}

/** Reason enums that are open: a name, or the raw number for codes without one. */
export function reasonOf<T>(table: readonly T[], code: number): T | number {
  return code < table.length ? table[code] : code;
}

export function reasonCode<T>(table: readonly T[], v: T | number, what: string): number {
  return typeof v === 'number' ? v : toTable(table, v, what);
}
