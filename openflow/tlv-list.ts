// Action lists and instruction lists are the same wire shape: entries of u16 type, u16 length
// (a multiple of 8, header included), the experimenter entry (type 0xffff, experimenter id, data)
// and, for a type or length we don't model, the entry kept raw. One reader and writers serve both.
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
