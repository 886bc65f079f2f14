// The slot table of one service and its migration state machine. Pure: time is passed in (ms), no
// timers, no I/O. The app turns the SlotChange results into bucket updates on the switches.
//
// Vocabulary: `owners[s]` is the backend whose forward bucket a slot has (or had, while it
// migrates: the migration's `from`). A migration is 'pending' (waiting for room under
// maxQuerySlots; its bucket still forwards to `from`) or 'query' (its bucket sends packets to the
// controller). A query migration ends when its window is over; then `to` becomes the owner.
//
// Decisions:
// - A slot with no backend at all (owner null, nothing migrating) is a 'drop' bucket, in both
//   tracking modes: there is nobody to send its packets to.
// - A slot whose owner can still serve but for which no backend takes new flows (every backend
//   draining or weight 0) migrates to null through the query window: existing flows are pinned to
//   the old owner, new connections get no backend; after the window the bucket drops.
// - tracking 'all': every slot with an owner is a query bucket all the time, so the bound on query
//   slots does not apply (the controller already sees every first packet); migrations still run
//   their windows, which is when the owner (the old-owner choice for unknown flows) switches.
// - `buckets` in a SlotChange lists the slots whose bucket *action* changed (forward to another
//   backend, forward ⇄ query ⇄ drop). A query bucket whose from/to changed keeps its action
//   (mark + controller), so a retarget is not listed there; bucket(slot) has the new from/to.

import { canServe, takesNewFlows, type BackendState, type MigrationWindows, type SlotMigration, type SlotTableSnapshot, type Tracking } from './model.js';
import { planOwners, targetCounts } from './allocation.js';

export interface BackendInfo { id: number; weight: number; state: BackendState }

export type Bucket =
  | { kind: 'forward'; backend: number }
  | { kind: 'query'; from: number | null; to: number | null }
  | { kind: 'drop' };

export interface SlotChange {
  /** Slots whose bucket action changed. */
  buckets: number[];
  /** Ownership completed (query window over, or moved at once). */
  moved: { slot: number; from: number | null; to: number | null }[];
  /** Slots that entered query state. */
  started: number[];
}

export interface SlotTableOptions {
  slots: number;
  windows: MigrationWindows;
  maxQuerySlots: number;
  tracking: Tracking;
}

/**
 * A stopping controller parks its query slots (`openflow13` profile): each forwards to its old owner
 * while that one can serve (its connections are there, and it still takes new ones until the
 * controller is back), else to the new owner, so nothing in the data path waits for a controller
 * that is gone.
 */
export function parkedBucket(b: Bucket, canServe: (id: number) => boolean): Bucket {
  if (b.kind !== 'query') return b;
  if (b.from !== null && canServe(b.from)) return { kind: 'forward', backend: b.from };
  if (b.to !== null && canServe(b.to)) return { kind: 'forward', backend: b.to };
  return { kind: 'drop' };
}

/** A bucket's action as the switch sees it: two buckets with the same key need no update. */
function actionKey(b: Bucket): string {
  switch (b.kind) {
    case 'forward': return `f${b.backend}`;
    case 'query': return 'q';
    case 'drop': return 'd';
  }
}

/** When a query migration's window is over, given its start and last pin to `from`. */
export function windowEnd(m: Pick<SlotMigration, 'startedAt' | 'lastFromPinAt'>, w: MigrationWindows): number {
  const quietEnd = Math.max(m.startedAt, m.lastFromPinAt) + w.quietMs;
  return Math.min(m.startedAt + w.maxMs, Math.max(m.startedAt + w.minMs, quietEnd));
}

export class SlotTable {
  readonly size: number;
  private readonly windows: MigrationWindows;
  private readonly maxQuerySlots: number;
  private readonly tracking: Tracking;
  private readonly owners: (number | null)[];
  private readonly migs = new Map<number, SlotMigration>();
  /** Pending migrations in the order they will start. */
  private pending: number[] = [];
  private queryCount = 0;

  constructor(opts: SlotTableOptions, snapshot?: SlotTableSnapshot) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError(`slots must be a positive integer: ${opts.slots}`);
    if (!(opts.maxQuerySlots >= 1)) throw new RangeError(`maxQuerySlots must be at least 1: ${opts.maxQuerySlots}`);
    this.size = opts.slots;
    this.windows = { ...opts.windows };
    this.maxQuerySlots = opts.maxQuerySlots;
    this.tracking = opts.tracking;
    this.owners = new Array<number | null>(opts.slots).fill(null);
    if (snapshot) this.restore(snapshot);
  }

  private restore(snap: SlotTableSnapshot): void {
    if (snap.owners.length !== this.size) throw new RangeError(`snapshot has ${snap.owners.length} slots, table has ${this.size}`);
    for (let s = 0; s < this.size; s++) this.owners[s] = snap.owners[s];
    const pend: SlotMigration[] = [];
    for (const m of snap.migrations) {
      if (!Number.isInteger(m.slot) || m.slot < 0 || m.slot >= this.size) throw new RangeError(`snapshot migration of slot ${m.slot} out of range`);
      if (this.migs.has(m.slot)) throw new RangeError(`snapshot has two migrations of slot ${m.slot}`);
      // The owner is the truth for `from`: they are written together, but never trust a mismatch.
      const copy: SlotMigration = { ...m, from: this.owners[m.slot] };
      if (copy.from === copy.to) continue;
      this.migs.set(m.slot, copy);
      if (copy.phase === 'query') this.queryCount++;
      else pend.push(copy);
    }
    // Stable: same-time entries keep the snapshot's order.
    pend.sort((a, b) => a.startedAt - b.startedAt);
    this.pending = pend.map((m) => m.slot);
    if (this.tracking === 'all') {
      // No bound in tracking 'all': whatever waited starts now, its window counted from when it was queued.
      for (const m of pend) m.phase = 'query';
      this.queryCount += pend.length;
      this.pending = [];
    }
  }

  owner(slot: number): number | null {
    return this.owners[slot] ?? null;
  }

  migration(slot: number): SlotMigration | undefined {
    const m = this.migs.get(slot);
    return m ? { ...m } : undefined;
  }

  /** Query migrations by slot, then pending ones in the order they will start. */
  migrations(): SlotMigration[] {
    const q = [...this.migs.values()].filter((m) => m.phase === 'query').sort((a, b) => a.slot - b.slot);
    return [...q, ...this.pending.map((s) => this.migs.get(s)!)].map((m) => ({ ...m }));
  }

  /** Number of slots whose migration is in query phase now. */
  get querySlots(): number {
    return this.queryCount;
  }

  bucket(slot: number): Bucket {
    const o = this.owners[slot];
    const m = this.migs.get(slot);
    if (this.tracking === 'all') {
      if (m) return { kind: 'query', from: o, to: m.phase === 'query' ? m.to : o };
      return o === null ? { kind: 'drop' } : { kind: 'query', from: o, to: o };
    }
    if (m && m.phase === 'query') return { kind: 'query', from: m.from, to: m.to };
    return o === null ? { kind: 'drop' } : { kind: 'forward', backend: o };
  }

  /** Slots a backend owns (including those leaving it), slots leaving it, slots coming to it. */
  countsFor(id: number): { owned: number; leaving: number; incoming: number } {
    let owned = 0, leaving = 0, incoming = 0;
    for (let s = 0; s < this.size; s++) if (this.owners[s] === id) owned++;
    for (const m of this.migs.values()) {
      if (m.from === id) leaving++;
      if (m.to === id) incoming++;
    }
    return { owned, leaving, incoming };
  }

  /**
   * Recompute the desired owners from the pool and start or queue migrations, merged with those in
   * flight (see the file comment). `activity[slot]`: recent packets of each bucket (group stats),
   * so the least active slots move first.
   */
  rebalance(backends: BackendInfo[], now: number, activity?: ArrayLike<number>, remembered = false): SlotChange {
    const before = this.actionKeys();
    const moved: SlotChange['moved'] = [];
    const serving = new Set<number>();
    const pool: { id: number; weight: number }[] = [];
    for (const b of backends) {
      if (canServe(b)) serving.add(b.id);
      pool.push({ id: b.id, weight: takesNewFlows(b) ? b.weight : 0 });
    }
    const targets = targetCounts(pool, this.size);

    // Plan from where each slot is heading (in-flight plans stay stable), preferring to hand a freed
    // slot back to its current owner (an undone change ends its migrations instead of moving more).
    const heading = this.owners.map((o, s) => { const m = this.migs.get(s); return m ? m.to : o; });
    const headCount = new Map<number, number>();
    for (const h of heading) if (h !== null) headCount.set(h, (headCount.get(h) ?? 0) + 1);
    const below = (id: number | null): boolean => id !== null && targets.has(id) && (headCount.get(id) ?? 0) < targets.get(id)!;
    const act = new Float64Array(this.size);
    for (let s = 0; s < this.size; s++) {
      const m = this.migs.get(s);
      // In-flight slots are the cheapest to give up (pending ones cost nothing), above all when
      // their current owner wants slots back; then the least active.
      if (m) act[s] = (m.phase === 'pending' ? -4 : -2) - (below(m.from) ? 1 : 0);
      else act[s] = activity ? Math.max(0, activity[s] ?? 0) : 0;
    }
    const desired = planOwners(heading, targets, act, this.owners);
    const queued: number[] = [];

    for (let s = 0; s < this.size; s++) {
      const o = this.owners[s];
      const d = desired[s];
      const m = this.migs.get(s);
      if (o === null || !serving.has(o) || (remembered && o !== d)) {
        // The owner can no longer serve: nothing to keep the old path for, move at once. Nor when
        // the switches remember every connection (`ovs` profile): its flows stay with it anyway.
        if (m) this.endMigration(s);
        if (o !== d) { this.owners[s] = d; moved.push({ slot: s, from: o, to: d }); }
      } else if (d === o) {
        if (m) this.endMigration(s);
      } else if (m) {
        m.to = d;
      } else {
        this.migs.set(s, { slot: s, from: o, to: d, startedAt: now, lastFromPinAt: now, phase: 'pending' });
        queued.push(s);
      }
    }
    // New migrations wait behind older ones; among themselves the least active start first.
    queued.sort((a, b) => act[a] - act[b] || a - b);
    for (const q of queued) this.pending.push(q);
    const started = this.promote(now);
    return { buckets: this.changedSince(before), moved, started };
  }

  /** A packet-in of `slot` was pinned to backend `id` at `now`. */
  notePin(slot: number, id: number, now: number): void {
    const m = this.migs.get(slot);
    if (m && m.phase === 'query' && m.from === id && now > m.lastFromPinAt) m.lastFromPinAt = now;
  }

  /** Finish query migrations whose window is over (all of them, pending ones too, when the switches
   * remember every connection); start pending ones within the bound. */
  tick(now: number, remembered = false): SlotChange {
    // Only finishing and starting slots can change: compare just those (tick runs often).
    const before = new Map<number, string>();
    const moved: SlotChange['moved'] = [];
    for (const m of [...this.migs.values()]) {
      if (!remembered && (m.phase !== 'query' || now < windowEnd(m, this.windows))) continue;
      before.set(m.slot, actionKey(this.bucket(m.slot)));
      this.endMigration(m.slot);
      this.owners[m.slot] = m.to;
      moved.push({ slot: m.slot, from: m.from, to: m.to });
    }
    moved.sort((a, b) => a.slot - b.slot);
    const started = this.promote(now, before);
    const buckets: number[] = [];
    for (const [slot, key] of before) if (actionKey(this.bucket(slot)) !== key) buckets.push(slot);
    buckets.sort((a, b) => a - b);
    return { buckets, moved, started };
  }

  /** When tick() next has work (for the app's timer); null when nothing is in flight. */
  nextDeadline(now: number): number | null {
    if (this.pending.length > 0 && this.hasRoom()) return now;
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.migs.values()) if (m.phase === 'query') next = Math.min(next, windowEnd(m, this.windows));
    return next === Number.POSITIVE_INFINITY ? null : Math.max(now, next);
  }

  /** Restarts the window of every slot in query state at `now`: nothing can have reached the
   * controller through a switch that is not there, so the window has not really run. */
  holdWindows(now: number): void {
    for (const m of this.migs.values()) {
      if (m.phase !== 'query') continue;
      m.startedAt = now;
      m.lastFromPinAt = now;
    }
  }

  snapshot(): SlotTableSnapshot {
    return { owners: this.owners.slice(), migrations: this.migrations() };
  }

  private hasRoom(): boolean {
    return this.tracking === 'all' || this.queryCount < this.maxQuerySlots;
  }

  private promote(now: number, before?: Map<number, string>): number[] {
    const started: number[] = [];
    while (this.pending.length > 0 && this.hasRoom()) {
      const s = this.pending.shift()!;
      const m = this.migs.get(s)!;
      before?.set(s, actionKey(this.bucket(s)));
      m.phase = 'query';
      m.startedAt = now;
      m.lastFromPinAt = now;
      this.queryCount++;
      started.push(s);
    }
    return started;
  }

  private endMigration(slot: number): void {
    const m = this.migs.get(slot);
    if (!m) return;
    this.migs.delete(slot);
    if (m.phase === 'query') this.queryCount--;
    else this.pending.splice(this.pending.indexOf(slot), 1);
  }

  private actionKeys(): string[] {
    const out = new Array<string>(this.size);
    for (let s = 0; s < this.size; s++) out[s] = actionKey(this.bucket(s));
    return out;
  }

  private changedSince(before: string[]): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.size; s++) if (actionKey(this.bucket(s)) !== before[s]) out.push(s);
    return out;
  }
}
