// Text forms of MAC, IPv4 and IPv6 addresses for OXM values, read from and written to the wire
// without intermediate allocations on the hot path (packet-in decode, flow-mod encode).
import { CodecError, type Reader, type Writer } from './buf.js';

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(b: Buffer, at = 0): string {
  return `${HEX2[b[at]]}:${HEX2[b[at + 1]]}:${HEX2[b[at + 2]]}:${HEX2[b[at + 3]]}:${HEX2[b[at + 4]]}:${HEX2[b[at + 5]]}`;
}

export function formatIpv4(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(b: Buffer, at = 0): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[at + 2 * i] << 8) | b[at + 2 * i + 1];
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function bad(kind: string, s: unknown): CodecError {
  return new CodecError('bad_value', `not a valid ${kind}: ${String(s)}`);
}

/** Writes "aa:bb:cc:dd:ee:ff" as 6 bytes. */
export function writeMac(w: Writer, s: unknown): void {
  if (typeof s !== 'string' || s.length !== 17) throw bad('MAC address', s);
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexDigit(s.charCodeAt(p));
    const lo = hexDigit(s.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && s.charCodeAt(p + 2) !== 58)) throw bad('MAC address', s);
    w.u8((hi << 4) | lo);
  }
}

/** Parses a dotted quad to a 32-bit unsigned number, or -1 if it is not one. */
export function parseIpv4(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

export function writeIpv4(w: Writer, s: unknown): void {
  const v = typeof s === 'string' ? parseIpv4(s) : -1;
  if (v < 0) throw bad('IPv4 address', s);
  w.u32(v);
}

/** Parses IPv6 text (with "::" and an optional trailing dotted quad) into 8 groups, or null. */
export function parseIpv6(s: string): number[] | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowV4: boolean): number[] | null => {
    if (side === '') return [];
    const parts = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 < 0) return null;
        out.push(Math.floor(v4 / 65536), v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const g = parseSide(halves[0], true);
    return g && g.length === 8 ? g : null;
  }
  const head = parseSide(halves[0], false);
  const tail = parseSide(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

export function writeIpv6(w: Writer, s: unknown): void {
  const g = typeof s === 'string' ? parseIpv6(s) : null;
  if (!g) throw bad('IPv6 address', s);
  for (const x of g) w.u16(x);
}

export function readMac(r: Reader): string {
  const at = r.offset;
  r.skip(6);
  return formatMac(r.buf, at);
}

export function readIpv4(r: Reader): string {
  const at = r.offset;
  r.skip(4);
  return formatIpv4(r.buf, at);
}

export function readIpv6(r: Reader): string {
  const at = r.offset;
  r.skip(16);
  return formatIpv6(r.buf, at);
}
