import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../controller/backoff.js';
import { negotiateVersion } from '../../../controller/hello.js';

describe('Backoff', () => {
  it('grows exponentially to the cap and restarts after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('keeps jittered delays within [base*(1-jitter), base]', () => {
    const lo = new Backoff({ initialMs: 1000, jitter: 0.5 }, () => 0);
    const hi = new Backoff({ initialMs: 1000, jitter: 0.5 }, () => 0.999999);
    expect(lo.next()).toBe(500);
    expect(hi.next()).toBe(1000);
  });
});

function hello(version: number, bitmapWords?: number[]): Buffer {
  const elemLen = bitmapWords ? 4 + 4 * bitmapWords.length : 0;
  const padded = (elemLen + 7) & ~7;
  const b = Buffer.alloc(8 + padded);
  b[0] = version;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(42, 4);
  if (bitmapWords) {
    b.writeUInt16BE(1, 8);
    b.writeUInt16BE(elemLen, 10);
    bitmapWords.forEach((w, i) => b.writeUInt32BE(w >>> 0, 12 + 4 * i));
  }
  return b;
}

describe('negotiateVersion', () => {
  it('picks the highest common version from a bitmap', () => {
    expect(negotiateVersion(hello(6, [(1 << 1) | (1 << 4) | (1 << 5) | (1 << 6)]))).toEqual({ ok: true, version: 6 });
    expect(negotiateVersion(hello(4, [(1 << 1) | (1 << 4)]))).toEqual({ ok: true, version: 4 });
    expect(negotiateVersion(hello(5, [(1 << 4) | (1 << 5)]))).toEqual({ ok: true, version: 5 });
  });

  it('without a bitmap, uses min(ours, the header version)', () => {
    expect(negotiateVersion(hello(4))).toEqual({ ok: true, version: 4 });
    expect(negotiateVersion(hello(7))).toEqual({ ok: true, version: 6 });
  });

  it('refuses a switch that only speaks older versions', () => {
    const r1 = negotiateVersion(hello(1));
    expect(r1.ok).toBe(false);
    const r2 = negotiateVersion(hello(3, [(1 << 1) | (1 << 2) | (1 << 3)]));
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.reason).toMatch(/1\.0.*1\.1.*1\.2.*needs.*1\.3/);
  });

  it('survives a lying element length', () => {
    const b = hello(6, [1 << 6]);
    b.writeUInt16BE(200, 10);
    expect(negotiateVersion(b)).toEqual({ ok: true, version: 6 });
  });
});
