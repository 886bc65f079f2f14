import { describe, expect, it } from 'vitest';
import { planOwners, targetCounts, type WeightedBackend } from '../../../apps/lb/allocation.js';
import { prng } from './prng.js';

function counts(owners: (number | null)[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const o of owners) if (o !== null) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
}

/** The fewest moves any plan can make: every surplus slot plus every orphaned slot. */
function minMoves(owners: (number | null)[], targets: Map<number, number>): number {
  const c = counts(owners);
  let moves = 0;
  for (const [id, n] of c) moves += targets.has(id) ? Math.max(0, n - targets.get(id)!) : n;
  if (targets.size > 0) moves += owners.filter((o) => o === null).length;
  return moves;
}

function randomPool(r: ReturnType<typeof prng>, maxBackends: number, idBase = 1): WeightedBackend[] {
  const n = r.int(1, maxBackends);
  const ids = new Set<number>();
  while (ids.size < n) ids.add(idBase + r.int(0, 200));
  return [...ids].map((id) => ({ id, weight: r.next() < 0.1 ? 0 : r.pick([1, 1, 1, 2, 3, 5, 10, 100, 1000, r.int(1, 1000)]) }));
}

describe('targetCounts', () => {
  it('splits evenly and breaks ties towards the lower id', () => {
    expect([...targetCounts([{ id: 7, weight: 1 }, { id: 3, weight: 1 }, { id: 5, weight: 1 }], 8)]).toEqual([[7, 2], [3, 3], [5, 3]]);
  });
  it('follows the largest remainder', () => {
    // ideal shares 10*1/6=1.67, 10*2/6=3.33, 10*3/6=5 → 2, 3, 5
    const t = targetCounts([{ id: 1, weight: 1 }, { id: 2, weight: 2 }, { id: 3, weight: 3 }], 10);
    expect(t.get(1)).toBe(2); expect(t.get(2)).toBe(3); expect(t.get(3)).toBe(5);
  });
  it('gives weight 0 nothing and an empty map with no weight at all', () => {
    const t = targetCounts([{ id: 1, weight: 0 }, { id: 2, weight: 4 }], 16);
    expect(t.get(1)).toBe(0); expect(t.get(2)).toBe(16);
    expect(targetCounts([], 16).size).toBe(0);
    expect(targetCounts([{ id: 1, weight: 0 }], 16).size).toBe(0);
  });
  it('handles more backends than slots', () => {
    const pool = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, weight: 1 }));
    const t = targetCounts(pool, 8);
    expect([...t.values()].reduce((a, b) => a + b, 0)).toBe(8);
    expect([...t].filter(([, n]) => n === 1).map(([id]) => id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('property: sums to the slot count, each within one slot of its ideal share', () => {
    const r = prng(1);
    for (let iter = 0; iter < 500; iter++) {
      const slots = r.pick([1, 2, 8, 16, 64, 100, 256, 1000, 4096]);
      const pool = randomPool(r, 50);
      const t = targetCounts(pool, slots);
      const total = pool.reduce((a, b) => a + b.weight, 0);
      if (total === 0) { expect(t.size).toBe(0); continue; }
      expect([...t.values()].reduce((a, b) => a + b, 0)).toBe(slots);
      expect(pool.filter((b) => !(Math.abs(t.get(b.id)! - (slots * b.weight) / total) < 1) || (b.weight === 0 && t.get(b.id) !== 0))).toEqual([]);
      // Determinism, independent of input order.
      const again = targetCounts([...pool].reverse(), slots);
      expect([...t].filter(([id, n]) => again.get(id) !== n)).toEqual([]);
    }
  });
});

describe('planOwners', () => {
  it('fills an empty table round-robin', () => {
    const next = planOwners(new Array(8).fill(null), targetCounts([{ id: 1, weight: 1 }, { id: 2, weight: 1 }], 8));
    expect(next).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
  });
  it('moves only what must move when a backend is added, least active first', () => {
    const owners = [1, 1, 1, 1, 2, 2, 2, 2];
    const activity = [5, 0, 9, 3, 7, 7, 1, 8];
    const t = targetCounts([{ id: 1, weight: 1 }, { id: 2, weight: 1 }, { id: 3, weight: 2 }], 8);
    const next = planOwners(owners, t, activity);
    // backend 1 gives slots 1 (0) and 3 (3); backend 2 gives slots 6 (1) and 4 (7, tie with 5 → lower index)
    expect(next).toEqual([1, 3, 1, 3, 3, 2, 3, 2]);
  });
  it('reassigns slots of departed backends and keeps the rest', () => {
    const next = planOwners([1, 2, 3, 1, 2, 3, 1, 2], targetCounts([{ id: 1, weight: 1 }, { id: 2, weight: 1 }], 8));
    expect(next.filter((o, i) => o !== [1, 2, 3, 1, 2, 3, 1, 2][i]).length).toBe(2);
    expect(counts(next)).toEqual(new Map([[1, 4], [2, 4]]));
  });
  it('gives everything up when there is no target', () => {
    expect(planOwners([1, 2, null], new Map())).toEqual([null, null, null]);
  });
  it('hands a freed slot to its preferred taker', () => {
    // 3 leaves; its slots 2 and 5 came from 2 and 1 respectively.
    const next = planOwners([1, 2, 3, 1, 2, 3], targetCounts([{ id: 1, weight: 1 }, { id: 2, weight: 1 }], 6), undefined, [null, null, 2, null, null, 1]);
    expect(next).toEqual([1, 2, 2, 1, 2, 1]);
  });

  it('property: within one slot of ideal, exactly the minimum moves, least active first, deterministic', () => {
    const r = prng(42);
    let checked = 0;
    for (let run = 0; run < 120; run++) {
      const slots = r.pick([8, 16, 8, 16, 32, 64, 256, 1000]);
      let owners: (number | null)[] = new Array(slots).fill(null);
      let pool = randomPool(r, 50);
      for (let step = 0; step < 8; step++) {
        const activity = Array.from({ length: slots }, () => r.int(0, 20));
        const targets = targetCounts(pool, slots);
        const next = planOwners(owners, targets, activity);
        checked++;
        expect(next).toHaveLength(slots);
        const total = pool.reduce((a, b) => a + b.weight, 0);
        const c = counts(next);
        if (total === 0) expect(next.every((o) => o === null)).toBe(true);
        if (total > 0) expect(pool.filter((b) => Math.abs((c.get(b.id) ?? 0) - (slots * b.weight) / total) >= 1)).toEqual([]);
        expect([...c.keys()].filter((id) => !targets.has(id))).toEqual([]);
        const moved = next.filter((o, i) => o !== owners[i]).length;
        expect(moved).toBe(minMoves(owners, targets));
        // Takers only gain, givers only lose; each giver gives its least active slots: the most
        // active slot it gave comes before the least active it kept, in (activity, slot) order.
        const before = counts(owners);
        const gained = new Set<number>(), lost = new Set<number>();
        const gaveMax = new Map<number, number>(), keptMin = new Map<number, number>();
        for (let i = 0; i < slots; i++) {
          const o = owners[i], n = next[i];
          const key = activity[i] * 100_000 + i;
          if (o !== n) {
            if (n !== null) gained.add(n);
            if (o !== null) { lost.add(o); gaveMax.set(o, Math.max(gaveMax.get(o) ?? -1, key)); }
          } else if (o !== null) keptMin.set(o, Math.min(keptMin.get(o) ?? Infinity, key));
        }
        const wrong: number[] = [];
        for (const [id, t] of targets) {
          const b = before.get(id) ?? 0, a = c.get(id) ?? 0;
          if (b > t && (a !== t || gained.has(id))) wrong.push(id);
          if (b <= t && lost.has(id)) wrong.push(id);
          if (lost.has(id) && keptMin.has(id) && !(gaveMax.get(id)! < keptMin.get(id)!)) wrong.push(id);
        }
        expect(wrong).toEqual([]);
        expect(planOwners(owners, targets, activity)).toEqual(next);
        owners = next;
        // A random pool change: add, remove, reweight, or zero.
        const kind = r.int(0, 3);
        if (kind === 0) pool = [...pool, ...randomPool(r, 5, 300 + step * 300).filter((b) => !pool.some((p) => p.id === b.id))].slice(0, 50);
        else if (kind === 1) pool = pool.filter(() => r.next() < 0.7);
        else if (kind === 2) pool = pool.map((b) => (r.next() < 0.3 ? { ...b, weight: r.int(0, 10) } : b));
        else pool = pool.map((b) => (r.next() < 0.2 ? { ...b, weight: 0 } : b));
        if (pool.length === 0) pool = randomPool(r, 3, 5000);
      }
    }
    expect(checked).toBe(960);
  });
});
