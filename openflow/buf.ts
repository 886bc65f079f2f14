// Bounds-checked big-endian reader and growable writer used by every part of the codec.
// Reads past `end` throw CodecError('truncated'); decodeMessage turns that into a typed result.
import type { OfDecodeErrorKind } from './types.js';

export class CodecError extends Error {
  constructor(readonly kind: OfDecodeErrorKind, message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

function truncated(need: number, have: number): CodecError {
  return new CodecError('truncated', `need ${need} bytes, ${have} left`);
}

export class Reader {
  buf: Buffer;
  offset: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new CodecError('bad_length', `reader bounds ${offset}..${end} outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.end) throw truncated(n, this.end - at);
    this.offset = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1)];
  }

  u16(): number {
    const at = this.need(2);
    return (this.buf[at] << 8) | this.buf[at + 1];
  }

  u32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }

  u64(): bigint {
    return this.buf.readBigUInt64BE(this.need(8));
  }

  bytes(n: number): Buffer {
    if (n < 0) throw new CodecError('bad_length', `negative length ${n}`);
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }

  skip(n: number): void {
    if (n < 0) throw new CodecError('bad_length', `negative length ${n}`);
    this.need(n);
  }

  sub(n: number): Reader {
    if (n < 0) throw new CodecError('bad_length', `negative length ${n}`);
    const at = this.need(n);
    return new Reader(this.buf, at, at + n);
  }
}

function badInt(v: number, bits: number): CodecError {
  return new CodecError('bad_value', `${v} does not fit in an unsigned ${bits}-bit field`);
}

/** Growable big-endian writer. Integer writes throw CodecError('bad_value') for out-of-range values. */
export class Writer {
  private buf: Buffer;
  offset = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  private ensure(n: number): void {
    const need = this.offset + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  /** Continue writing into `buf` at `offset` (the writer still grows into a new buffer if needed). */
  attach(buf: Buffer, offset: number): void {
    this.buf = buf;
    this.offset = offset;
  }

  /** Start over, keeping the allocated buffer (for a scratch writer reused across calls). */
  reset(): void {
    this.offset = 0;
  }

  u8(v: number): void {
    if ((v & 0xff) !== v) throw badInt(v, 8);
    this.ensure(1);
    this.buf[this.offset++] = v & 0xff;
  }

  u16(v: number): void {
    if ((v & 0xffff) !== v) throw badInt(v, 16);
    this.ensure(2);
    const b = this.buf;
    const o = this.offset;
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
    this.offset = o + 2;
  }

  /** Accepts 0..2^32-1 and, as their two's complement, int32 values (e.g. ~0). */
  u32(v: number): void {
    if ((v >>> 0) !== v && (v | 0) !== v) throw badInt(v, 32);
    this.ensure(4);
    const b = this.buf;
    const o = this.offset;
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.offset = o + 4;
  }

  u64(v: bigint): void {
    // Cookies and metadata are mostly small: avoid BigInt arithmetic when the high word is 0.
    if (v === 0n || (v > 0n && v <= 0xffffffffn)) {
      this.u32(0);
      this.u32(Number(v));
      return;
    }
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.offset);
    this.offset += 8;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.offset);
    this.offset += b.length;
  }

  zeros(n: number): void {
    if (n <= 0) return;
    this.ensure(n);
    const b = this.buf;
    const o = this.offset;
    if (n <= 16) for (let i = 0; i < n; i++) b[o + i] = 0;
    else b.fill(0, o, o + n);
    this.offset = o + n;
  }

  /**
   * Reserves n bytes (contents undefined) and returns their offset in `buffer`, for callers that
   * fill bytes in place. The buffer may move on the next write, so use it at once.
   */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.offset;
    this.offset = at + n;
    return at;
  }

  /** The internal buffer (valid until the next write that grows it). */
  get buffer(): Buffer {
    return this.buf;
  }

  padTo8(start: number): void {
    const rem = (this.offset - start) & 7;
    if (rem !== 0) this.zeros(8 - rem);
  }

  patchU16(at: number, v: number): void {
    if (v > 0xffff || v < 0) throw new CodecError('too_large', `length ${v} does not fit in 16 bits`);
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  patchU8(at: number, v: number): void {
    if ((v & 0xff) !== v) throw badInt(v, 8);
    this.buf[at] = v;
  }

  /** Patch a 32-bit field written earlier (e.g. a length or count). */
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** The written bytes. A view of the internal buffer: copy it before reusing this writer. */
  finish(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
