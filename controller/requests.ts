// Request/reply bookkeeping for one connection: xid allocation, timeouts, multipart assembly
// across OFPMPF_REPLY_MORE, and routing of OFPT_ERROR to the request it answers. No I/O here.
import type { MultipartReplyBody, OfMessage, OfMessageType } from '../openflow/types.js';
import { OfProtocolError, OfRequestError, OfTimeoutError } from './errors.js';

export const OFPMPF_REPLY_MORE = 1;

/** 32-bit xids, never 0 (0 is what many switches use for their own async messages). */
export class XidAllocator {
  private n: number;
  constructor(start = 1) {
    this.n = start >>> 0 || 1;
  }
  next(): number {
    const x = this.n;
    this.n = this.n >= 0xffffffff ? 1 : this.n + 1;
    return x;
  }
}

type Entry =
  | { kind: 'reply'; type: OfMessageType; resolve: (m: OfMessage) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }
  | { kind: 'multipart'; type: OfMessageType; parts: MultipartReplyBody[]; resolve: (p: MultipartReplyBody[]) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }
  /** No reply expected (e.g. a message inside a transaction): only an error would answer it. */
  | { kind: 'watch'; type: OfMessageType; onError: (e: OfRequestError) => void };

export class RequestTracker {
  private readonly pending = new Map<number, Entry>();

  get size(): number {
    return this.pending.size;
  }

  has(xid: number): boolean {
    return this.pending.has(xid);
  }

  /** Resolves with the first non-error message carrying `xid`; an OFPT_ERROR rejects it. */
  expectReply(xid: number, type: OfMessageType, timeoutMs: number): Promise<OfMessage> {
    return new Promise((resolve, reject) => {
      const entry: Entry = { kind: 'reply', type, resolve, reject };
      entry.timer = this.arm(xid, type, timeoutMs, reject);
      this.pending.set(xid, entry);
    });
  }

  /** Collects every multipart reply part carrying `xid` until one without the MORE flag. */
  expectMultipart(xid: number, type: OfMessageType, timeoutMs: number): Promise<MultipartReplyBody[]> {
    return new Promise((resolve, reject) => {
      const entry: Entry = { kind: 'multipart', type, parts: [], resolve, reject };
      entry.timer = this.arm(xid, type, timeoutMs, reject);
      this.pending.set(xid, entry);
    });
  }

  /** Route an error answering `xid` to `onError` until `release(xid)`. */
  watch(xid: number, type: OfMessageType, onError: (e: OfRequestError) => void): void {
    this.pending.set(xid, { kind: 'watch', type, onError });
  }

  release(xid: number): void {
    const e = this.pending.get(xid);
    if (e && e.kind !== 'watch' && e.timer) clearTimeout(e.timer);
    this.pending.delete(xid);
  }

  /** Offer an incoming message; true when it answered a tracked request. */
  handle(msg: OfMessage): boolean {
    const entry = this.pending.get(msg.xid);
    if (!entry) return false;
    if (msg.type === 'error') {
      this.release(msg.xid);
      const err = new OfRequestError(msg, entry.type);
      if (entry.kind === 'watch') entry.onError(err);
      else entry.reject(err);
      return true;
    }
    switch (entry.kind) {
      case 'watch':
        return false;
      case 'reply':
        this.release(msg.xid);
        entry.resolve(msg);
        return true;
      case 'multipart':
        if (msg.type !== 'multipart_reply') {
          this.release(msg.xid);
          entry.reject(new OfProtocolError(`expected multipart_reply for xid ${msg.xid}, got ${msg.type}`));
          return true;
        }
        entry.parts.push(msg.body);
        if ((msg.flags & OFPMPF_REPLY_MORE) === 0) {
          this.release(msg.xid);
          entry.resolve(entry.parts);
        }
        return true;
    }
  }

  /** Reject everything still pending (connection closed). */
  failAll(err: Error): void {
    const entries = [...this.pending.values()];
    for (const e of entries) if (e.kind !== 'watch' && e.timer) clearTimeout(e.timer);
    this.pending.clear();
    for (const e of entries) if (e.kind !== 'watch') e.reject(err);
  }

  private arm(xid: number, type: OfMessageType, timeoutMs: number, reject: (e: Error) => void): NodeJS.Timeout | undefined {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) return undefined;
    const t = setTimeout(() => {
      this.pending.delete(xid);
      reject(new OfTimeoutError(type, timeoutMs, xid));
    }, timeoutMs);
    t.unref();
    return t;
  }
}
