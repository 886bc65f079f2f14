// Type-length lists, the wire shape OpenFlow repeats. Action lists and instruction lists: entries
// of u16 type, u16 length (a multiple of 8, header included), the experimenter entry (type 0xffff,
// experimenter id, data) and, for a type or length we don't model, the entry kept raw. Property
// lists (1.4+ ports and buckets, 1.5 group properties, hello elements): u16 type, u16 length (at
// least 4, padding to 8 not counted), unmodelled ones kept raw with their padding. One reader
// serves each shape.
import { CodecError, type Reader, type Writer } from './buf.js';

/**
 * Reads `len` bytes of entries. `readOne` reads one entry's body (the reader just past type and
 * length; `start` is the entry's first byte); the next entry starts `length` bytes after `start`
 * whatever `readOne` consumed. A length that is short, not a multiple of 8 or past the list lies.
 */
export function readTlvList<T>(r: Reader, len: number, what: string, readOne: (r: Reader, type: number, length: number, start: number) => T): T[] {
  const sub = r.sub(len);
  const out: T[] = [];
  while (sub.remaining() > 0) {
    const start = sub.offset;
    const type = sub.u16();
    const length = sub.u16();
    if (length < 8 || (length & 7) !== 0) throw new CodecError('bad_length', `${what} type ${type} length ${length}`);
    if (length - 4 > sub.remaining()) throw new CodecError('bad_length', `${what} type ${type} length ${length} past its list`);
    const item = readOne(sub, type, length, start);
    sub.offset = start + length;
    out.push(item);
  }
  return out;
}

/**
 * Reads a property list to the reader's end. `known` reads a property it models (the reader just
 * past type and length) and says so; the next property starts after this one's padding whatever
 * it consumed. A property it does not model goes to `raw` as is, header and padding included
 * (padding cut short at the list's end), so it writes back byte-exact.
 */
export function readPropertyList(r: Reader, what: string, known: (r: Reader, type: number, length: number) => boolean, raw: (bytes: Buffer) => void): void {
  while (r.remaining() > 0) {
    const start = r.offset;
    const type = r.u16();
    const length = r.u16();
    if (length < 4) throw new CodecError('bad_length', `${what} length ${length}`);
    const next = Math.min(start + ((length + 7) & ~7), r.end);
    if (known(r, type, length)) {
      r.offset = next;
      continue;
    }
    r.offset = start;
    raw(r.bytes(next - start));
  }
}

/** An experimenter entry: its type (0xffff), length, experimenter id, then `data` as is. */
export function writeExperimenterTlv(w: Writer, type: number, experimenter: number, data: Buffer, what: string): void {
  const len = 8 + data.length;
  if ((len & 7) !== 0) throw new CodecError('bad_value', `experimenter ${what} length ${len} is not a multiple of 8`);
  w.u16(type); w.u16(len); w.u32(experimenter); w.bytes(data);
}

/** An entry kept raw (header included): written back byte-exact. */
export function writeRawTlv(w: Writer, raw: Buffer, what: string): void {
  if (raw.length < 8 || (raw.length & 7) !== 0) throw new CodecError('bad_value', `raw ${what} of ${raw.length} bytes`);
  w.bytes(raw);
}
