// Cuts a TCP byte stream into whole OpenFlow messages.
// Every message starts with an 8-byte header (version u8, type u8, length u16, xid u32); the
// length counts the header. Whole messages inside a chunk are returned as views (subarray) of
// that chunk, so a pusher must not reuse or mutate a chunk after pushing it. Only a message
// split across chunks is copied, once, when its last byte arrives.
import type { OfDecodeError } from './types.js';

export type FrameEvent = { ok: true; frame: Buffer } | { ok: false; error: OfDecodeError };

export const OFP_HEADER_LEN = 8;
/** The largest length a u16 header field can state. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

export interface OfFramerOptions {
  /**
   * Bound on the bytes held for one incomplete message, and so on the size of any message
   * accepted (a header announcing more is refused at once, wherever the stream was cut).
   * Default 1 MiB.
   */
  maxBuffered?: number;
}

export class OfFramer {
  private readonly maxBuffered: number;
  /** Pieces of the incomplete message at the head of the stream, oldest first. */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private _failed = false;

  constructor(opts: OfFramerOptions = {}) {
    const max = opts.maxBuffered ?? 1 << 20;
    if (!Number.isInteger(max) || max < OFP_HEADER_LEN) {
      throw new RangeError(`maxBuffered must be an integer >= ${OFP_HEADER_LEN}, got ${max}`);
    }
    this.maxBuffered = max;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.partsLen;
  }

  /** After an error the stream cannot be resynced; every later push returns []. */
  get failed(): boolean {
    return this._failed;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this._failed || chunk.length === 0) return [];
    const out: FrameEvent[] = [];
    let data = chunk;
    if (this.partsLen > 0) {
      // Finish the held message first; join only once enough bytes are here for it.
      const total = this.partsLen + chunk.length;
      const need = this.partsLen >= OFP_HEADER_LEN ? this.heldLength() : OFP_HEADER_LEN;
      if (total < need) return this.hold(chunk, out);
      this.parts.push(chunk);
      data = Buffer.concat(this.parts, total);
      this.parts = [];
      this.partsLen = 0;
    }
    let off = 0;
    const end = data.length;
    while (end - off >= OFP_HEADER_LEN) {
      const len = data.readUInt16BE(off + 2);
      const err = this.checkLength(data, off, len);
      if (err) {
        this._failed = true;
        out.push({ ok: false, error: err });
        return out;
      }
      if (end - off < len) break;
      out.push({ ok: true, frame: data.subarray(off, off + len) });
      off += len;
    }
    if (off < end) return this.hold(data.subarray(off), out);
    return out;
  }

  /** Length field of the held message; only called when at least a header is held. */
  private heldLength(): number {
    const first = this.parts[0];
    if (first.length >= 4) return first.readUInt16BE(2);
    const head = Buffer.concat(this.parts, this.partsLen).subarray(0, 4);
    return head.readUInt16BE(2);
  }

  /**
   * Keeps the start of an incomplete message. No bound check is needed here: a held piece is
   * shorter than its message, and checkLength refused any message longer than maxBuffered.
   */
  private hold(piece: Buffer, out: FrameEvent[]): FrameEvent[] {
    this.parts.push(piece);
    this.partsLen += piece.length;
    return out;
  }

  private checkLength(data: Buffer, off: number, len: number): OfDecodeError | null {
    if (len < OFP_HEADER_LEN) {
      return withHeader(data, off, { kind: 'bad_length', message: `header length ${len} is under ${OFP_HEADER_LEN}` });
    }
    if (len > OFP_MAX_MESSAGE_LEN || len > this.maxBuffered) {
      return withHeader(data, off, {
        kind: 'too_large',
        message: `message length ${len} is over the limit of ${Math.min(OFP_MAX_MESSAGE_LEN, this.maxBuffered)}`,
      });
    }
    return null;
  }
}

/** Adds version/msgType/xid from whatever part of the header at `off` is present. */
function withHeader(data: Buffer, off: number, e: { kind: OfDecodeError['kind']; message: string }): OfDecodeError {
  const err: OfDecodeError = { kind: e.kind, message: e.message };
  const have = data.length - off;
  if (have >= 1) err.version = data[off];
  if (have >= 2) err.msgType = data[off + 1];
  if (have >= 8) err.xid = data.readUInt32BE(off + 4);
  return err;
}
