import { describe, expect, it } from 'vitest';
import { SlotTable, type BackendInfo, type SlotChange } from '../../../apps/lb/slot-table.js';
import { targetCounts } from '../../../apps/lb/allocation.js';
import type { BackendState, MigrationWindows, Tracking } from '../../../apps/lb/model.js';
import { prng } from './prng.js';

const W: MigrationWindows = { minMs: 2_000, quietMs: 1_000, maxMs: 30_000 };

function table(slots: number, opts: Partial<{ maxQuerySlots: number; tracking: Tracking; windows: MigrationWindows }> = {}): SlotTable {
  return new SlotTable({ slots, windows: opts.windows ?? W, maxQuerySlots: opts.maxQuerySlots ?? 64, tracking: opts.tracking ?? 'migrations' });
}

const be = (id: number, weight = 1, state: BackendState = 'active'): BackendInfo => ({ id, weight, state });

function owners(t: SlotTable): (number | null)[] {
  return Array.from({ length: t.size }, (_, s) => t.owner(s));
}

function count(t: SlotTable, id: number): number {
  return owners(t).filter((o) => o === id).length;
}

function querySlots(t: SlotTable): number[] {
  return Array.from({ length: t.size }, (_, s) => s).filter((s) => t.bucket(s).kind === 'query');
}

/** Structural invariants that must hold after every operation. */
function check(t: SlotTable, max: number, tracking: Tracking = 'migrations'): void {
  const migs = t.migrations();
  const bad = migs.filter((m) => m.from !== t.owner(m.slot) || m.from === m.to);
  expect(bad).toEqual([]);
  const q = migs.filter((m) => m.phase === 'query').length;
  if (tracking === 'migrations') {
    expect(q).toBeLessThanOrEqual(max);
    expect(querySlots(t)).toEqual(migs.filter((m) => m.phase === 'query').map((m) => m.slot).sort((a, b) => a - b));
  }
  expect(new Set(migs.map((m) => m.slot)).size).toBe(migs.length);
}

/** Tick at each deadline until nothing is in flight; returns the time reached and all changes. */
function drive(t: SlotTable, now: number, max = 64, onTick?: (c: SlotChange, now: number) => void): number {
  for (let i = 0; i < 100_000; i++) {
    const d = t.nextDeadline(now);
    if (d === null) return now;
    if (d < now) throw new Error(`deadline ${d} before now ${now}`);
    now = d;
    const c = observed(t, () => t.tick(now));
    check(t, max);
    onTick?.(c, now);
  }
  throw new Error('did not settle');
}

const actionOf = (t: SlotTable, s: number): string => { const b = t.bucket(s); return b.kind === 'forward' ? `f${b.backend}` : b.kind; };

/** Runs one operation and checks its SlotChange against the buckets seen before and after. */
function observed(t: SlotTable, op: () => SlotChange): SlotChange {
  const before = Array.from({ length: t.size }, (_, s) => actionOf(t, s));
  const ownersBefore = owners(t);
  const c = op();
  const changed = before.map((k, s) => (k !== actionOf(t, s) ? s : -1)).filter((s) => s >= 0);
  expect([...c.buckets].sort((a, b) => a - b)).toEqual(changed);
  const ownerChanged = ownersBefore.map((o, s) => (o !== t.owner(s) ? s : -1)).filter((s) => s >= 0);
  expect(c.moved.map((m) => m.slot).sort((a, b) => a - b)).toEqual(ownerChanged);
  expect(c.moved.filter((m) => m.from !== ownersBefore[m.slot] || m.to !== t.owner(m.slot))).toEqual([]);
  expect(c.started.filter((sl) => t.migration(sl)?.phase !== 'query')).toEqual([]);
  return c;
}

function settled(pool: BackendInfo[], slots: number): Map<number, number> {
  return targetCounts(pool.map((b) => ({ id: b.id, weight: b.state === 'active' ? b.weight : 0 })), slots);
}

describe('SlotTable: first fill and no backends', () => {
  it('starts with every bucket dropping', () => {
    const t = table(8);
    expect(Array.from({ length: 8 }, (_, s) => t.bucket(s))).toEqual(new Array(8).fill({ kind: 'drop' }));
    expect(t.nextDeadline(0)).toBeNull();
  });
  it('fills an empty table at once, without query windows', () => {
    const t = table(8);
    const c = t.rebalance([be(1), be(2)], 0);
    expect(c.buckets).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(c.moved).toHaveLength(8);
    expect(c.moved.every((m) => m.from === null)).toBe(true);
    expect(c.started).toEqual([]);
    expect(count(t, 1)).toBe(4);
    expect(t.bucket(0)).toEqual({ kind: 'forward', backend: 1 });
    expect(t.migrations()).toEqual([]);
  });
  it('ignores backends that are resolving, and treats an empty pool as drop', () => {
    const t = table(8);
    const c = t.rebalance([be(1, 1, 'resolving')], 0);
    expect(c.buckets).toEqual([]);
    expect(owners(t).every((o) => o === null)).toBe(true);
    t.rebalance([be(1, 1, 'active')], 10);
    expect(count(t, 1)).toBe(8);
  });
});

describe('SlotTable: adding a backend', () => {
  it('moves slots to it from those above target, through a query window', () => {
    const t = table(16);
    t.rebalance([be(1), be(2)], 0);
    const activity = Array.from({ length: 16 }, (_, s) => (s * 7) % 16);
    const c = t.rebalance([be(1), be(2), be(3)], 1000, activity);
    // 16/3: 6,5,5 → backend 1 gives 2 slots, backend 2 gives 3.
    expect(c.moved).toEqual([]);
    expect(c.started).toHaveLength(5);
    expect([...c.buckets].sort((a, b) => a - b)).toEqual([...c.started].sort((a, b) => a - b));
    for (const s of c.started) {
      const b = t.bucket(s);
      expect(b.kind).toBe('query');
      if (b.kind === 'query') { expect(b.to).toBe(3); expect([1, 2]).toContain(b.from); }
      expect(t.migration(s)).toMatchObject({ phase: 'query', startedAt: 1000, to: 3 });
    }
    // Least active of each giver chosen.
    const gaveBy1 = c.started.filter((s) => t.owner(s) === 1);
    const kept1 = Array.from({ length: 16 }, (_, s) => s).filter((s) => t.owner(s) === 1 && !c.started.includes(s));
    expect(Math.max(...gaveBy1.map((s) => activity[s]))).toBeLessThanOrEqual(Math.min(...kept1.map((s) => activity[s])));
    expect(t.countsFor(3)).toEqual({ owned: 0, leaving: 0, incoming: 5 });
    expect(t.countsFor(1)).toEqual({ owned: 8, leaving: 2, incoming: 0 });
    // Before the minimum window: nothing.
    expect(t.nextDeadline(1000)).toBe(3000);
    expect(t.tick(2999)).toEqual({ buckets: [], moved: [], started: [] });
    const done = t.tick(3000);
    expect(done.moved).toHaveLength(5);
    expect(done.moved.every((m) => m.to === 3)).toBe(true);
    expect(done.buckets.sort((a, b) => a - b)).toEqual([...c.started].sort((a, b) => a - b));
    for (const s of c.started) expect(t.bucket(s)).toEqual({ kind: 'forward', backend: 3 });
    expect([count(t, 1), count(t, 2), count(t, 3)]).toEqual([6, 5, 5]);
    expect(t.countsFor(3)).toEqual({ owned: 5, leaving: 0, incoming: 0 });
    expect(t.nextDeadline(3000)).toBeNull();
  });

  it('waits for a quiet period after the last pin to the old owner, capped by the maximum', () => {
    const t = table(2);
    t.rebalance([be(1)], 0);
    const c = t.rebalance([be(1), be(2)], 0);
    expect(c.started).toHaveLength(1);
    const s = c.started[0];
    t.notePin(s, 1, 1500); // pin to the old owner: quiet until 2500
    t.notePin(s, 2, 1900); // pin to the new owner: no effect on quiet
    expect(t.migration(s)!.lastFromPinAt).toBe(1500);
    expect(t.nextDeadline(1600)).toBe(2500);
    expect(t.tick(2000).moved).toEqual([]);
    expect(t.tick(2499).moved).toEqual([]);
    expect(t.tick(2500).moved.map((m) => m.slot)).toEqual(c.started);
    // A slot with a pin every second to the old owner ends at the maximum window.
    const u = table(8);
    u.rebalance([be(1)], 0);
    const c2 = u.rebalance([be(1), be(2)], 0);
    let now = 0;
    for (; now < 40_000; now += 500) {
      for (const sl of c2.started) u.notePin(sl, 1, now);
      const r = u.tick(now);
      if (r.moved.length > 0) break;
    }
    expect(now).toBe(30_000);
  });

  it('adds a backend at a weight: moves only its share, each slot once', () => {
    const t = table(256);
    const pool = [be(1), be(2), be(3)];
    t.rebalance(pool, 0);
    const before = owners(t);
    const pool2 = [...pool, be(4, 2)];
    const c = t.rebalance(pool2, 10);
    expect(c.started).toHaveLength(64); // the bound
    let movedCount = 0;
    drive(t, 10, 64, (ch) => { movedCount += ch.moved.length; });
    const target = settled(pool2, 256);
    expect(count(t, 4)).toBe(target.get(4));
    expect(count(t, 4)).toBe(103); // 102.4 plus the largest remainder
    expect(movedCount).toBe(103);
    expect(owners(t).filter((o, s) => o !== before[s])).toHaveLength(103);
  });
});

describe('SlotTable: drain, remove, down, weight', () => {
  it('drain migrates every slot of the backend away through the query window', () => {
    const t = table(16);
    t.rebalance([be(1), be(2)], 0);
    const c = t.rebalance([be(1, 1, 'draining'), be(2)], 100);
    expect(c.moved).toEqual([]);
    expect(c.started).toHaveLength(8);
    for (const s of c.started) expect(t.bucket(s)).toEqual({ kind: 'query', from: 1, to: 2 });
    expect(t.countsFor(1)).toEqual({ owned: 8, leaving: 8, incoming: 0 });
    drive(t, 100);
    expect(count(t, 2)).toBe(16);
    expect(t.countsFor(1)).toEqual({ owned: 0, leaving: 0, incoming: 0 });
  });

  it('an active backend with weight 0 also gives its slots away gracefully', () => {
    const t = table(8);
    t.rebalance([be(1), be(2)], 0);
    const c = t.rebalance([be(1, 0), be(2)], 1);
    expect(c.started).toHaveLength(4);
    expect(c.moved).toEqual([]);
  });

  for (const how of ['missing', 'removed', 'down', 'drained'] as const) {
    it(`a backend ${how} moves its slots at once`, () => {
      const t = table(16);
      t.rebalance([be(1), be(2), be(3)], 0);
      const had = Array.from({ length: 16 }, (_, s) => s).filter((s) => t.owner(s) === 3);
      const pool = how === 'missing' ? [be(1), be(2)] : [be(1), be(2), be(3, 1, how)];
      const c = t.rebalance(pool, 5);
      expect(c.started).toEqual([]);
      expect(c.moved.map((m) => m.slot)).toEqual(had);
      expect(c.moved.every((m) => m.from === 3 && (m.to === 1 || m.to === 2))).toBe(true);
      expect(c.buckets).toEqual(had);
      expect(t.migrations()).toEqual([]);
      expect([count(t, 1), count(t, 2)]).toEqual([8, 8]);
      expect(t.nextDeadline(5)).toBeNull();
    });
  }

  it('a backend going down mid-migration: its leaving slots move at once, its incoming ones retarget', () => {
    const t = table(16);
    t.rebalance([be(1), be(2)], 0);
    t.rebalance([be(1), be(2), be(3)], 10); // 2 from 1, 3 from 2 → 3 (in query)
    const toThree = t.migrations().map((m) => m.slot);
    const c = t.rebalance([be(1, 1, 'down'), be(2), be(3)], 20);
    // Every slot of 1 moves at once, including those that were leaving for 3.
    expect(c.moved.every((m) => m.from === 1)).toBe(true);
    expect(c.moved).toHaveLength(8);
    expect(count(t, 1)).toBe(0);
    check(t, 64);
    drive(t, 20);
    expect([count(t, 2), count(t, 3)]).toEqual([8, 8]);
    expect(toThree.length).toBe(5);
  });

  it('weight change moves slots towards the heavier backend', () => {
    const t = table(16);
    t.rebalance([be(1), be(2)], 0);
    const c = t.rebalance([be(1, 3), be(2)], 10);
    expect(c.started).toHaveLength(4);
    for (const s of c.started) expect(t.bucket(s)).toEqual({ kind: 'query', from: 2, to: 1 });
    drive(t, 10);
    expect([count(t, 1), count(t, 2)]).toEqual([12, 4]);
  });
});

describe('SlotTable: changes merged with migrations in flight', () => {
  it('add B then remove B: the migrations end, nothing moves', () => {
    for (const removal of ['missing', 'removed', 'draining'] as const) {
      const t = table(16);
      t.rebalance([be(1), be(2)], 0);
      const base = owners(t);
      const c1 = t.rebalance([be(1), be(2), be(3)], 10);
      expect(c1.started.length).toBe(5);
      const c2 = t.rebalance(removal === 'missing' ? [be(1), be(2)] : [be(1), be(2), be(3, 1, removal)], 20);
      expect(c2.moved).toEqual([]);
      expect(c2.buckets.sort((a, b) => a - b)).toEqual(c1.started.sort((a, b) => a - b));
      expect(t.migrations()).toEqual([]);
      expect(owners(t)).toEqual(base);
      for (const s of c1.started) expect(t.bucket(s)).toEqual({ kind: 'forward', backend: base[s] });
    }
  });

  it('add B then add C: in-flight slots are retargeted, never lost, each moves once', () => {
    const t = table(16, { maxQuerySlots: 3 });
    t.rebalance([be(1), be(2)], 0);
    const base = owners(t);
    t.rebalance([be(1), be(2), be(3)], 10);
    expect(t.migrations().filter((m) => m.phase === 'query')).toHaveLength(3);
    expect(t.migrations().filter((m) => m.phase === 'pending')).toHaveLength(2);
    const c = t.rebalance([be(1), be(2), be(3), be(4)], 20);
    check(t, 3);
    // 16/4 = 4 each: 8 slots must move in all; 5 were already heading to 3, one of them retargeted to 4.
    const migs = t.migrations();
    expect(migs).toHaveLength(8);
    expect(migs.filter((m) => m.to === 3)).toHaveLength(4);
    expect(migs.filter((m) => m.to === 4)).toHaveLength(4);
    expect(c.moved).toEqual([]);
    let moved = 0;
    drive(t, 20, 3, (ch) => { moved += ch.moved.length; });
    expect(moved).toBe(8);
    expect([1, 2, 3, 4].map((id) => count(t, id))).toEqual([4, 4, 4, 4]);
    expect(owners(t).filter((o, s) => o !== base[s])).toHaveLength(8);
  });

  it('drain A then enable A: every migration ends where it started', () => {
    const t = table(16, { maxQuerySlots: 4 });
    t.rebalance([be(1), be(2), be(3)], 0);
    const base = owners(t);
    const c1 = t.rebalance([be(1, 1, 'draining'), be(2), be(3)], 10);
    expect(c1.started).toHaveLength(4);
    const c2 = t.rebalance([be(1), be(2), be(3)], 500);
    expect(c2.moved).toEqual([]);
    expect(c2.buckets.sort((a, b) => a - b)).toEqual(c1.started.sort((a, b) => a - b));
    expect(t.migrations()).toEqual([]);
    expect(owners(t)).toEqual(base);
  });

  it('drain A, part of it completes, then enable A: only the missing share comes back', () => {
    const t = table(16, { maxQuerySlots: 2 });
    t.rebalance([be(1), be(2)], 0);
    t.rebalance([be(1, 1, 'draining'), be(2)], 0);
    t.tick(2000); // 2 slots moved to 2, 2 more started
    expect(count(t, 1)).toBe(6);
    t.rebalance([be(1), be(2)], 2100);
    // A owns 6 and needs 8: the 6 in flight end, 2 slots come back from 2.
    const migs = t.migrations();
    expect(migs).toHaveLength(2);
    expect(migs.every((m) => m.from === 2 && m.to === 1)).toBe(true);
    drive(t, 2100, 2);
    expect([count(t, 1), count(t, 2)]).toEqual([8, 8]);
  });

  it('a retargeted query slot keeps its window and its bucket action', () => {
    const t = table(4);
    t.rebalance([be(1)], 0);
    const c1 = t.rebalance([be(1), be(2)], 0);
    const s = c1.started[0];
    const c2 = t.rebalance([be(1), be(3)], 1500);
    expect(t.migration(s)).toMatchObject({ from: 1, to: 3, startedAt: 0, phase: 'query' });
    expect(c2.buckets).toEqual([]);
    expect(t.bucket(s)).toEqual({ kind: 'query', from: 1, to: 3 });
    expect(t.tick(2000).moved.filter((m) => m.slot === s)).toEqual([{ slot: s, from: 1, to: 3 }]);
  });
});

describe('SlotTable: the bound on query slots', () => {
  it('256 slots, pool 1 → 5 backends, bound 16: never more than 16 query slots, all moved', () => {
    const t = table(256, { maxQuerySlots: 16 });
    t.rebalance([be(1)], 0);
    const pool = [1, 2, 3, 4, 5].map((id) => be(id));
    const c = t.rebalance(pool, 100);
    expect(c.started).toHaveLength(16);
    expect(querySlots(t)).toHaveLength(16);
    expect(t.migrations()).toHaveLength(204); // 256 - 52
    let maxSeen = 0, moved = 0, ticks = 0;
    const end = drive(t, 100, 16, (ch) => {
      ticks++;
      moved += ch.moved.length;
      maxSeen = Math.max(maxSeen, querySlots(t).length);
      // Every slot that finished was a query slot; every started one becomes a query slot now.
      for (const s of ch.started) expect(t.bucket(s).kind).toBe('query');
    });
    expect(maxSeen).toBe(16);
    expect(moved).toBe(204);
    expect(ticks).toBe(Math.ceil(204 / 16));
    expect(end).toBe(100 + ticks * 2000);
    expect([1, 2, 3, 4, 5].map((id) => count(t, id)).sort()).toEqual([51, 51, 51, 51, 52]);
  });

  it('a slot whose owner fails skips the queue', () => {
    const t = table(64, { maxQuerySlots: 4 });
    t.rebalance([be(1)], 0);
    t.rebalance([be(1), be(2)], 0);
    expect(t.migrations().filter((m) => m.phase === 'pending').length).toBe(28);
    const c = t.rebalance([be(1, 1, 'down'), be(2)], 10);
    expect(c.moved).toHaveLength(64);
    expect(t.migrations()).toEqual([]);
    expect(count(t, 2)).toBe(64);
  });
});

describe('SlotTable: no backend to take new flows', () => {
  it('draining the last backend migrates to nobody through the window, then drops', () => {
    const t = table(8);
    t.rebalance([be(1)], 0);
    const c = t.rebalance([be(1, 1, 'draining')], 0);
    expect(c.started).toHaveLength(8);
    expect(t.bucket(0)).toEqual({ kind: 'query', from: 1, to: null });
    drive(t, 0);
    expect(t.bucket(0)).toEqual({ kind: 'drop' });
    // And a new backend then fills it at once.
    const c2 = t.rebalance([be(1, 1, 'draining'), be(2)], 5000);
    expect(c2.moved).toHaveLength(8);
    expect(t.bucket(0)).toEqual({ kind: 'forward', backend: 2 });
  });
  it('removing the last backend drops at once', () => {
    const t = table(8);
    t.rebalance([be(1)], 0);
    const c = t.rebalance([], 0);
    expect(c.moved).toHaveLength(8);
    expect(c.buckets).toHaveLength(8);
    expect(t.bucket(3)).toEqual({ kind: 'drop' });
  });
});

describe('SlotTable: tracking all', () => {
  it('every slot is a query bucket; migrations keep their windows; no bound', () => {
    const t = table(16, { tracking: 'all', maxQuerySlots: 2 });
    expect(t.bucket(0)).toEqual({ kind: 'drop' });
    const c0 = t.rebalance([be(1)], 0);
    expect(c0.buckets).toHaveLength(16);
    expect(t.bucket(0)).toEqual({ kind: 'query', from: 1, to: 1 });
    const c = t.rebalance([be(1), be(2)], 100);
    expect(c.started).toHaveLength(8); // bound ignored: no extra load
    expect(c.buckets).toEqual([]); // still query buckets
    for (const s of c.started) expect(t.bucket(s)).toEqual({ kind: 'query', from: 1, to: 2 });
    check(t, 2, 'all');
    const done = t.tick(2100);
    expect(done.moved).toHaveLength(8);
    expect(done.buckets).toEqual([]);
    for (const s of c.started) expect(t.bucket(s)).toEqual({ kind: 'query', from: 2, to: 2 });
    const c2 = t.rebalance([], 3000);
    expect(c2.buckets).toHaveLength(16);
    expect(t.bucket(0)).toEqual({ kind: 'drop' });
  });
});

describe('SlotTable: snapshot', () => {
  it('restores owners and migrations and resumes them', () => {
    const t = table(64, { maxQuerySlots: 8 });
    t.rebalance([be(1), be(2)], 0);
    t.rebalance([be(1), be(2), be(3)], 1000);
    t.tick(3000); // 8 done, 8 started at 3000
    const q = t.migrations().filter((m) => m.phase === 'query');
    t.notePin(q[0].slot, q[0].from!, 4500);
    const snap = JSON.parse(JSON.stringify(t.snapshot()));
    const u = new SlotTable({ slots: 64, windows: W, maxQuerySlots: 8, tracking: 'migrations' }, snap);
    expect(owners(u)).toEqual(owners(t));
    expect(u.migrations()).toEqual(t.migrations());
    for (let s = 0; s < 64; s++) expect(u.bucket(s)).toEqual(t.bucket(s));
    expect(u.nextDeadline(4600)).toBe(t.nextDeadline(4600));
    // Both continue identically.
    const a: SlotChange[] = [], b: SlotChange[] = [];
    drive(t, 4600, 8, (c) => a.push(c));
    drive(u, 4600, 8, (c) => b.push(c));
    expect(b).toEqual(a);
    expect(owners(u)).toEqual(owners(t));
    expect(count(u, 3)).toBe(21);
  });

  it('restores a snapshot whose migrations were stored in slot order', () => {
    const t = table(16, { maxQuerySlots: 1 });
    t.rebalance([be(1)], 0);
    const act = Array.from({ length: 16 }, (_, s) => 16 - s);
    t.rebalance([be(1), be(2)], 0, act);
    const order = t.migrations().map((m) => m.slot);
    // Backend 1 gives its 8 least active slots (8..15), the least active first.
    expect(order).toEqual([15, 14, 13, 12, 11, 10, 9, 8]);
    const snap = t.snapshot();
    snap.migrations.sort((x, y) => x.slot - y.slot);
    const u = new SlotTable({ slots: 16, windows: W, maxQuerySlots: 1, tracking: 'migrations' }, snap);
    // Same startedAt: the store's order is kept; the query slot stays the query slot.
    expect(u.migrations()[0]).toEqual(t.migrations()[0]);
  });

  it('rejects a snapshot of another size', () => {
    expect(() => new SlotTable({ slots: 8, windows: W, maxQuerySlots: 2, tracking: 'migrations' }, { owners: [1, 2], migrations: [] })).toThrow(RangeError);
  });
});

describe('SlotTable: random changes (property)', () => {
  it('keeps its invariants and settles on the targets of the last pool', () => {
    const r = prng(7);
    for (let run = 0; run < 50; run++) {
      const slots = r.pick([8, 16, 64, 256]);
      const max = slots === 256 ? r.pick([16, 64]) : r.pick([1, 4, 16]);
      const t = table(slots, { maxQuerySlots: max });
      const ids = Array.from({ length: r.int(1, 12) }, (_, i) => i + 1);
      let pool: BackendInfo[] = [];
      let now = 0;
      for (let step = 0; step < 25; step++) {
        now += r.int(0, 3000);
        const id = r.pick(ids);
        const existing = pool.find((b) => b.id === id);
        const states: BackendState[] = ['active', 'active', 'draining', 'down', 'removed', 'drained'];
        if (!existing) pool = [...pool, be(id, r.int(0, 5))];
        else if (r.next() < 0.2) pool = pool.filter((b) => b.id !== id);
        else pool = pool.map((b) => (b.id === id ? { ...b, state: r.pick(states), weight: r.next() < 0.3 ? r.int(0, 5) : b.weight } : b));
        const activity = Array.from({ length: slots }, () => r.int(0, 100));
        const c = observed(t, () => t.rebalance(pool, now, activity));
        check(t, max);
        const serving = new Set(pool.filter((b) => b.state === 'active' || b.state === 'draining').map((b) => b.id));
        for (const m of c.moved) expect(m.to === null || serving.has(m.to)).toBe(true);
        // Every owner can serve right after a rebalance.
        for (const o of owners(t)) if (o !== null) expect(serving.has(o)).toBe(true);
        if (r.next() < 0.5) { observed(t, () => t.tick(now)); check(t, max); }
        for (const m of t.migrations()) if (m.phase === 'query' && r.next() < 0.3) t.notePin(m.slot, m.from!, now);
      }
      now = drive(t, now, max);
      const target = settled(pool, slots);
      for (let s = 0; s < slots; s++) {
        const o = t.owner(s);
        if (target.size === 0) expect(o === null || pool.some((b) => b.id === o)).toBe(true);
        else expect(o !== null && target.get(o)! > 0).toBe(true);
      }
      for (const [id, n] of target) expect(count(t, id)).toBe(n);
      // Settled: a rebalance with the same pool changes nothing.
      const again = t.rebalance(pool, now + 1);
      expect(again).toEqual({ buckets: [], moved: [], started: [] });
    }
  });
});
