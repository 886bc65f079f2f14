import { describe, expect, it } from 'vitest';
import { FlowRegistry } from '../../../apps/lb/flow-registry.js';
import { prng } from './prng.js';

describe('FlowRegistry', () => {
  it('remembers, deletes and forgets backends', () => {
    const r = new FlowRegistry({ ttlMs: 1000 });
    r.set(1, 0, 10, 0); r.set(2, 0, 20, 0); r.set(3, 0, 10, 0);
    expect(r.get(1, 0, 1)).toBe(10);
    expect(r.get(4, 0, 1)).toBeUndefined();
    expect(r.size).toBe(3);
    r.set(1, 0, 11, 2);
    expect(r.get(1, 0, 2)).toBe(11);
    expect(r.size).toBe(3);
    r.delete(2, 0);
    expect(r.get(2, 0, 3)).toBeUndefined();
    r.forgetBackend(10);
    expect(r.get(3, 0, 3)).toBeUndefined();
    expect(r.get(1, 0, 3)).toBe(11);
    expect(r.size).toBe(1);
  });

  it('keeps an entry at least ttl and at most 1.5 ttl after its last use', () => {
    const ttl = 1000;
    for (let setAt = 0; setAt < 1500; setAt += 37) {
      const r = new FlowRegistry({ ttlMs: ttl });
      r.get(999, 0, 0); // the clock's origin
      r.set(1, 0, 5, setAt);
      // Probe without refreshing: a fresh registry per probe time.
      let lastSeen = setAt;
      for (let t = setAt; t < setAt + 2000; t += 10) {
        const probe = new FlowRegistry({ ttlMs: ttl });
        probe.get(999, 0, 0);
        probe.set(1, 0, 5, setAt);
        if (probe.get(1, 0, t) !== undefined) lastSeen = t; else break;
      }
      expect(lastSeen - setAt).toBeGreaterThanOrEqual(ttl - 10);
      expect(lastSeen - setAt).toBeLessThan(1.5 * ttl);
      expect(r.get(1, 0, setAt + ttl - 1)).toBe(5);
    }
  });

  it('a hit refreshes the entry', () => {
    const r = new FlowRegistry({ ttlMs: 1000 });
    r.set(1, 0, 5, 0);
    for (let t = 0; t <= 10_000; t += 400) expect(r.get(1, 0, t)).toBe(5);
    expect(r.get(1, 0, 10_000 + 1500)).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('a long silence forgets everything', () => {
    const r = new FlowRegistry({ ttlMs: 1000 });
    for (let i = 0; i < 100; i++) r.set(i, 0, i % 7, i);
    expect(r.size).toBe(100);
    expect(r.get(5, 0, 1_000_000)).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('holds the entry bound by dropping the oldest first', () => {
    const r = new FlowRegistry({ ttlMs: 60_000, maxEntries: 1000 });
    for (let i = 0; i < 10_000; i++) {
      r.set(i, 0, 1, i);
      expect(r.size).toBeLessThanOrEqual(1000);
    }
    expect(r.get(9_999, 0, 10_000)).toBe(1);
    expect(r.get(0, 0, 10_000)).toBeUndefined();
  });

  it('agrees with a reference model on random operations', () => {
    const rnd = prng(11);
    const ttl = 500;
    const r = new FlowRegistry({ ttlMs: ttl });
    const model = new Map<number, { b: number; at: number }>();
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += rnd.int(0, 5);
      const k = rnd.int(0, 300);
      const op = rnd.next();
      const m = model.get(k);
      if (op < 0.5) {
        const got = r.get(k, 0, now);
        if (m && now - m.at < ttl) expect(got).toBe(m.b);
        if (!m || now - m.at >= 1.5 * ttl) expect(got).toBeUndefined();
        if (got !== undefined) model.set(k, { b: got, at: now });
        else model.delete(k);
      } else if (op < 0.95) {
        const b = rnd.int(1, 5);
        r.set(k, 0, b, now);
        model.set(k, { b, at: now });
      } else {
        r.delete(k, 0);
        model.delete(k);
      }
    }
  });
});
