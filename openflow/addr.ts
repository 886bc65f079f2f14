// Reader/Writer adapters for address text forms in OXM values and port structs. The text⇄bytes
// logic itself lives in packet/addr.ts; this only adds bounds checks and typed codec errors.
import { CodecError, type Reader, type Writer } from './buf.js';
import { bufferToIpv6, bufferToMac, parseIpv4, parseIpv6, writeMac as putMac } from './packet/addr.js';

export function formatMac(b: Buffer, at = 0): string {
  return bufferToMac(b, at);
}

export function formatIpv4(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function formatIpv6(b: Buffer, at = 0): string {
  return bufferToIpv6(b, at);
}

function bad(kind: string, s: unknown): CodecError {
  return new CodecError('bad_value', `not a valid ${kind}: ${JSON.stringify(s)}`);
}

/** Writes "aa:bb:cc:dd:ee:ff" as 6 bytes; CodecError('bad_value') when malformed. */
export function writeMac(w: Writer, s: unknown): void {
  const at = w.reserve(6);
  if (typeof s !== 'string' || !putMac(w.buffer, at, s)) throw bad('MAC address', s);
}

export function writeIpv4(w: Writer, s: unknown): void {
  const v = typeof s === 'string' ? parseIpv4(s) : null;
  if (v === null) throw bad('IPv4 address', s);
  w.u32(v);
}

export function writeIpv6(w: Writer, s: unknown): void {
  const b = typeof s === 'string' ? parseIpv6(s) : null;
  if (b === null) throw bad('IPv6 address', s);
  w.bytes(b);
}

export function readMac(r: Reader): string {
  const at = r.offset;
  r.skip(6);
  return bufferToMac(r.buf, at);
}

export function readIpv4(r: Reader): string {
  const at = r.offset;
  r.skip(4);
  return formatIpv4(r.buf, at);
}

export function readIpv6(r: Reader): string {
  const at = r.offset;
  r.skip(16);
  return bufferToIpv6(r.buf, at);
}
