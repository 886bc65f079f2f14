// Version negotiation (OpenFlow 1.3.x §6.3.1). Works on the raw HELLO bytes, because a switch that
// only speaks an older version sends a HELLO the 1.3+ codec cannot decode, and we still owe it a
// HELLO_FAILED error.
import type { WireVersion } from '../openflow/types.js';

export const SUPPORTED_VERSIONS: readonly WireVersion[] = [4, 5, 6];
const OFPHET_VERSIONBITMAP = 1;

/** Versions a HELLO offers: its bitmap when it has one, else "every version up to the header's". */
export function helloOffer(frame: Buffer): { headerVersion: number; bitmap: Set<number> | null } {
  const headerVersion = frame[0];
  let off = 8;
  const end = Math.min(frame.length, frame.readUInt16BE(2));
  while (off + 4 <= end) {
    const type = frame.readUInt16BE(off);
    const len = frame.readUInt16BE(off + 2);
    if (len < 4 || off + len > end) break;
    if (type === OFPHET_VERSIONBITMAP) {
      const bitmap = new Set<number>();
      for (let w = 0; (w + 1) * 4 <= len - 4; w++) {
        const word = frame.readUInt32BE(off + 4 + w * 4);
        for (let b = 0; b < 32; b++) if (word & (1 << b)) bitmap.add(w * 32 + b);
      }
      return { headerVersion, bitmap };
    }
    off += (len + 7) & ~7;
  }
  return { headerVersion, bitmap: null };
}

export type Negotiation = { ok: true; version: WireVersion } | { ok: false; reason: string };

export function negotiateVersion(frame: Buffer, ours: readonly WireVersion[] = SUPPORTED_VERSIONS): Negotiation {
  if (frame.length < 8) return { ok: false, reason: 'hello shorter than a header' };
  const { headerVersion, bitmap } = helloOffer(frame);
  const describe = (vs: Iterable<number>) => [...vs].map(versionName).join(', ');
  if (bitmap) {
    const common = ours.filter((v) => bitmap.has(v));
    if (common.length === 0) {
      return { ok: false, reason: `switch offers ${describe(bitmap)}; controller needs one of ${describe(ours)}` };
    }
    return { ok: true, version: Math.max(...common) as WireVersion };
  }
  const candidate = Math.min(headerVersion, Math.max(...ours));
  if (!ours.includes(candidate as WireVersion)) {
    return { ok: false, reason: `switch speaks up to ${versionName(headerVersion)}; controller needs one of ${describe(ours)}` };
  }
  return { ok: true, version: candidate as WireVersion };
}

export function versionName(v: number): string {
  const names: Record<number, string> = { 1: '1.0', 2: '1.1', 3: '1.2', 4: '1.3', 5: '1.4', 6: '1.5' };
  return `OpenFlow ${names[v] ?? `wire ${v}`}`;
}

/**
 * An OFPT_ERROR built by hand, for errors we must send before (or without) a negotiated version:
 * HELLO_FAILED to an older switch, BAD_REQUEST for frames the codec rejects.
 */
export function encodeRawError(version: number, xid: number, errType: number, code: number, data: Buffer): Buffer {
  const body = data.subarray(0, 64);
  const buf = Buffer.alloc(12 + body.length);
  buf[0] = version;
  buf[1] = 1; // OFPT_ERROR
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(xid >>> 0, 4);
  buf.writeUInt16BE(errType, 8);
  buf.writeUInt16BE(code, 10);
  body.copy(buf, 12);
  return buf;
}

export const OFPET_HELLO_FAILED = 0;
export const OFPHFC_INCOMPATIBLE = 0;
export const OFPET_BAD_REQUEST = 1;
export const OFPBRC_BAD_VERSION = 0;
export const OFPBRC_BAD_TYPE = 1;
export const OFPBRC_BAD_LEN = 6;
