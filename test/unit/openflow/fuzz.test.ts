// Robustness: thousands of random and mutated messages from a fixed seed. decodeMessage must
// return either a value or a typed error with a known kind — never throw, never hang — and a
// value it returns must encode again and decode to the same value.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../openflow/messages.js';
import type { OfDecodeErrorKind, OfMessage } from '../../../openflow/types.js';
import { sampleMessages } from '../../fixtures/openflow/messages.js';
import { mulberry32 as prng } from '../../helpers/prng.js';

const KINDS: ReadonlySet<OfDecodeErrorKind> = new Set(['truncated', 'bad_length', 'unsupported_version', 'bad_value', 'too_large']);


interface Failure { what: string; hex: string; error: string }

/** Decodes and checks the contract; returns a failure description or null. */
function check(what: string, buf: Buffer): Failure | null {
  let res: ReturnType<typeof decodeMessage>;
  try {
    res = decodeMessage(buf);
  } catch (e) {
    return { what: `${what}: decodeMessage threw`, hex: buf.toString('hex'), error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  if (!res.ok) {
    if (!KINDS.has(res.error.kind) || typeof res.error.message !== 'string') {
      return { what: `${what}: unknown error kind`, hex: buf.toString('hex'), error: JSON.stringify(res.error) };
    }
    return null;
  }
  // A decoded value re-encodes, and the re-encoding decodes to the same value.
  let again: Buffer;
  try {
    again = Buffer.from(encodeMessage(res.value));
  } catch (e) {
    return { what: `${what}: encodeMessage threw on a decoded value`, hex: buf.toString('hex'), error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  let res2: ReturnType<typeof decodeMessage>;
  try {
    res2 = decodeMessage(again);
  } catch (e) {
    return { what: `${what}: decodeMessage threw on re-encoded bytes`, hex: again.toString('hex'), error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  if (!res2.ok) return { what: `${what}: re-encoded bytes do not decode`, hex: buf.toString('hex'), error: JSON.stringify(res2.error) };
  if (!sameValue(res.value, res2.value)) {
    return { what: `${what}: decode∘encode changed the value`, hex: buf.toString('hex'), error: `re-encoded ${again.toString('hex')}` };
  }
  return null;
}

function sameValue(a: OfMessage, b: OfMessage): boolean {
  try {
    expect(b).toEqual(a);
    return true;
  } catch {
    return false;
  }
}

function seeds(): Buffer[] {
  return sampleMessages().map((s) => Buffer.from(encodeMessage(s.msg)));
}

function report(failures: Failure[]): string {
  return failures.slice(0, 5).map((f) => `${f.what}\n  input ${f.hex}\n  ${f.error.split('\n').slice(0, 6).join('\n  ')}`).join('\n');
}

describe('decodeMessage robustness (seeded fuzz)', () => {
  const corpus = seeds();
  const rnd = prng(0x5eed_0f13);
  const int = (n: number): number => Math.floor(rnd() * n);
  const started = Date.now();

  it('accepts every seed message', () => {
    const failures = corpus.map((b, i) => check(`seed ${i}`, b)).filter((f): f is Failure => f !== null);
    expect(failures, report(failures)).toEqual([]);
  });

  it('survives every truncation of every seed, with and without a fixed-up header length', () => {
    const failures: Failure[] = [];
    for (const seed of corpus) {
      for (let n = 0; n < seed.length; n++) {
        const cut = Buffer.from(seed.subarray(0, n));
        const f1 = check(`truncated to ${n}`, cut);
        if (f1) failures.push(f1);
        if (n >= 4) {
          cut.writeUInt16BE(n, 2); // header claims exactly what is there: inner structures are short
          const f2 = check(`truncated to ${n} with length fixed`, cut);
          if (f2) failures.push(f2);
        }
      }
    }
    expect(failures, report(failures)).toEqual([]);
  });

  it('survives bit flips and byte overwrites', () => {
    const failures: Failure[] = [];
    let decoded = 0;
    for (let i = 0; i < 6000; i++) {
      const buf = Buffer.from(corpus[int(corpus.length)]);
      const edits = 1 + int(4);
      for (let e = 0; e < edits; e++) {
        const at = int(buf.length);
        if (rnd() < 0.5) buf[at] ^= 1 << int(8);
        else buf[at] = int(256);
      }
      const f = check(`mutation ${i}`, buf);
      if (f) failures.push(f);
      if (decodeMessage(buf).ok) decoded++;
    }
    expect(failures, report(failures)).toEqual([]);
    // The mutations reach both paths: many still decode (bodies read deep), many are rejected.
    expect(decoded).toBeGreaterThan(600);
    expect(decoded).toBeLessThan(5700);
  });

  it('survives lying length fields (header and inner u16 lengths)', () => {
    const failures: Failure[] = [];
    const lies = [0, 1, 4, 7, 8, 9, 15, 16, 0x7fff, 0xfff8, 0xffff];
    for (let i = 0; i < 6000; i++) {
      const buf = Buffer.from(corpus[int(corpus.length)]);
      // Any even offset may hold a length (TLVs, records, match, actions): lie at one of them.
      const at = rnd() < 0.3 ? 2 : 2 * int(buf.length >> 1);
      if (at + 2 > buf.length) continue;
      const lie = rnd() < 0.5 ? lies[int(lies.length)] : (buf.readUInt16BE(at) + int(17) - 8) & 0xffff;
      buf.writeUInt16BE(lie, at);
      const f = check(`length ${lie} at ${at} (mutation ${i})`, buf);
      if (f) failures.push(f);
    }
    expect(failures, report(failures)).toEqual([]);
  });

  it('survives random bodies behind valid headers for every message type', () => {
    const failures: Failure[] = [];
    for (let i = 0; i < 6000; i++) {
      const len = 8 + int(i % 4 === 0 ? 400 : 64);
      const buf = Buffer.alloc(len);
      for (let j = 8; j < len; j++) buf[j] = int(256);
      buf[0] = 4 + int(3);
      buf[1] = int(36);
      buf.writeUInt16BE(len, 2);
      buf.writeUInt32BE(i, 4);
      // Multipart: pick a known stats type so the body readers are exercised, not just raw.
      if ((buf[1] === 18 || buf[1] === 19) && len >= 12) buf.writeUInt16BE(int(3) === 0 ? int(0x20) : int(14), 8);
      const f = check(`random type ${buf[1]} (case ${i})`, buf);
      if (f) failures.push(f);
    }
    expect(failures, report(failures)).toEqual([]);
  });

  it('survives random bytes, empty input and oversized buffers', () => {
    const failures: Failure[] = [];
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.alloc(int(80));
      for (let j = 0; j < buf.length; j++) buf[j] = int(256);
      const f = check(`random bytes ${i}`, buf);
      if (f) failures.push(f);
    }
    for (const seed of corpus.slice(0, 10)) {
      const f = check('trailing bytes past header length', Buffer.concat([seed, Buffer.alloc(16, 0xee)]));
      if (f) failures.push(f);
    }
    expect(failures, report(failures)).toEqual([]);
    const empty = decodeMessage(Buffer.alloc(0));
    expect(empty.ok).toBe(false);
    if (!empty.ok) expect(empty.error.kind).toBe('truncated');
  });

  it('stays fast (no pathological inputs)', () => {
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
