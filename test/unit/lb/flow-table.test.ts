import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../../apps/lb/flow-table.js';
import { prng } from './prng.js';

describe('FlowTable', () => {
  it('stores, overwrites, deletes and grows', () => {
    const t = new FlowTable(4);
    t.set(0x0a000001, 443, 7);
    t.set(0xffffffff, 65535, 0);
    t.set(-1, 0, 3); // a signed address is the same as its unsigned form
    expect(t.get(0x0a000001, 443)).toBe(7);
    expect(t.get(0xffffffff, 65535)).toBe(0);
    expect(t.get(0xffffffff, 0)).toBe(3);
    expect(t.get(0x0a000001, 444)).toBe(-1);
    t.set(0x0a000001, 443, 9);
    expect(t.size).toBe(3);
    expect(t.delete(0x0a000001, 443)).toBe(true);
    expect(t.delete(0x0a000001, 443)).toBe(false);
    for (let i = 0; i < 5000; i++) t.set(i * 7919, i & 0xffff, i % 13);
    expect(t.size).toBe(5002);
    for (let i = 0; i < 5000; i++) expect(t.get(i * 7919, i & 0xffff)).toBe(i % 13);
    expect(t.deleteValue(0)).toBe(386);
    expect(t.get(0xffffffff, 65535)).toBe(-1);
  });

  it('agrees with a Map on random operations, including deletes inside probe runs', () => {
    const rnd = prng(5);
    const t = new FlowTable(8);
    const model = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      // Few distinct keys in a small space: long probe runs and many collisions.
      const ip = rnd.int(0, 40) * 0x01000000;
      const port = rnd.int(0, 20);
      const k = `${ip}:${port}`;
      const op = rnd.next();
      if (op < 0.45) {
        const v = rnd.int(0, 100);
        t.set(ip, port, v);
        model.set(k, v);
      } else if (op < 0.75) {
        expect(t.delete(ip, port)).toBe(model.delete(k));
      } else {
        expect(t.get(ip, port)).toBe(model.get(k) ?? -1);
      }
      expect(t.size).toBe(model.size);
    }
    let n = 0;
    t.forEach((ip, port, v) => {
      n++;
      expect(model.get(`${ip}:${port}`)).toBe(v);
    });
    expect(n).toBe(model.size);
  });
});
