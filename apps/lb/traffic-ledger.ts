// Complete, monotonic traffic counters per backend: what went through the service's group buckets,
// plus every exact connection entry (pin or learned flow) the switches held for the backend, ended
// or live. No I/O: the app feeds it group-stats deltas, aggregate counts and flow-removed messages.
//
// Why it is shaped like this: an aggregate request gives the packets and bytes of the entries that
// are live *now*; a flow-removed message gives the final counts of one entry that just ended. Per
// entry accounting across the two is impossible (the aggregate does not say which entries it
// summed), so a backend's total is
//
//     bucket traffic + Σ per switch (bytes of entries ended before the last count + that count)
//
// taken at the moment of each count. Between two counts an ended entry is in the running ended sum
// but still in the last count: adding both would count it twice, so the running sum only becomes
// visible at the next count. A count whose window (request sent → reply handled) saw a flow-removed
// for the same backend and switch is ambiguous (did the reply include that entry or not?) and is
// dropped: the next one settles it. The published total never goes down (`max` with the last one).

export interface Counts {
  packets: number;
  bytes: number;
}

export interface BackendTotals extends Counts {
  /** Exact connection entries created for the backend: ended ones plus the live ones at the last count. */
  opened: number;
}

/** What the store keeps per backend, so totals survive a restart (see restore()). */
export interface LedgerSnapshot {
  /** The published totals. */
  totals: BackendTotals;
  /** The part of them that is not a live entry: a new run adds its own counts of live entries to it. */
  base: BackendTotals;
}

export interface AggregateCount {
  flows: number;
  packets: bigint;
  bytes: bigint;
}

interface PerSwitch {
  /** Running sums of ended entries (flow-removed), and how many arrived (the count's ticket). */
  ended: BackendTotals;
  endedSeq: number;
  /** The last unambiguous count: the ended sums at that moment, and the live entries it reported. */
  atCountEnded: BackendTotals;
  atCountLive: BackendTotals;
}

interface Entry {
  /** Bucket traffic, counts folded in from switches gone for good, and a previous run's base. */
  base: BackendTotals;
  switches: Map<string, PerSwitch>;
  published: BackendTotals;
}

const zero = (): BackendTotals => ({ packets: 0, bytes: 0, opened: 0 });

function add(a: BackendTotals, b: BackendTotals): void {
  a.packets += b.packets;
  a.bytes += b.bytes;
  a.opened += b.opened;
}

export class TrafficLedger {
  private readonly entries = new Map<number, Entry>();

  private entry(backend: number): Entry {
    let e = this.entries.get(backend);
    if (!e) this.entries.set(backend, (e = { base: zero(), switches: new Map(), published: zero() }));
    return e;
  }

  private perSwitch(e: Entry, dpid: string): PerSwitch {
    let s = e.switches.get(dpid);
    if (!s) e.switches.set(dpid, (s = { ended: zero(), endedSeq: 0, atCountEnded: zero(), atCountLive: zero() }));
    return s;
  }

  /** Packets that took one of the backend's forward buckets (a group-stats delta). */
  bucketTraffic(backend: number, packets: number, bytes: number): void {
    if (packets < 0 || bytes < 0) return;
    const e = this.entry(backend);
    e.base.packets += packets;
    e.base.bytes += bytes;
    this.publish(e);
  }

  /** A flow-removed message for one of the backend's entries on a switch, with its final counts. */
  flowEnded(dpid: string, backend: number, packets: bigint, bytes: bigint): void {
    const s = this.perSwitch(this.entry(backend), dpid);
    s.ended.packets += Number(packets);
    s.ended.bytes += Number(bytes);
    s.ended.opened += 1;
    s.endedSeq++;
  }

  /** Call just before asking a switch for the backend's aggregate; pass the ticket to countDone. */
  countStarted(dpid: string, backend: number): number {
    return this.perSwitch(this.entry(backend), dpid).endedSeq;
  }

  /** The aggregate answer. False when a flow-removed raced it (the count is dropped, see above). */
  countDone(dpid: string, backend: number, ticket: number, agg: AggregateCount): boolean {
    const e = this.entries.get(backend);
    const s = e?.switches.get(dpid);
    if (!e || !s || s.endedSeq !== ticket) return false;
    s.atCountEnded = { ...s.ended };
    s.atCountLive = { packets: Number(agg.packets), bytes: Number(agg.bytes), opened: agg.flows };
    this.publish(e);
    return true;
  }

  private publish(e: Entry): void {
    const sum = { ...e.base };
    for (const s of e.switches.values()) {
      add(sum, s.atCountEnded);
      add(sum, s.atCountLive);
    }
    const p = e.published;
    p.packets = Math.max(p.packets, sum.packets);
    p.bytes = Math.max(p.bytes, sum.bytes);
    p.opened = Math.max(p.opened, sum.opened);
  }

  totals(backend: number): BackendTotals {
    const e = this.entries.get(backend);
    return e ? { ...e.published } : zero();
  }

  /** For the store: the published totals and the part of them a new run must not count again. */
  snapshot(backend: number): LedgerSnapshot {
    const e = this.entries.get(backend);
    if (!e) return { totals: zero(), base: zero() };
    const base = { ...e.base };
    for (const s of e.switches.values()) add(base, s.atCountEnded);
    return { totals: { ...e.published }, base };
  }

  /** A restarted controller: the switches still hold the live entries, and will report them. */
  restore(backend: number, snap: LedgerSnapshot): void {
    const e = this.entry(backend);
    add(e.base, snap.base);
    const p = e.published;
    p.packets = Math.max(p.packets, snap.totals.packets);
    p.bytes = Math.max(p.bytes, snap.totals.bytes);
    p.opened = Math.max(p.opened, snap.totals.opened);
  }

  forgetBackend(backend: number): void {
    this.entries.delete(backend);
  }

  /** A switch gone for good: what it counted stays in the totals; it will report nothing more. */
  forgetSwitch(dpid: string): void {
    for (const e of this.entries.values()) {
      const s = e.switches.get(dpid);
      if (!s) continue;
      e.switches.delete(dpid);
      // Entries that ended since the last count were probably in it: take the larger, not both.
      e.base.packets += Math.max(s.ended.packets, s.atCountEnded.packets + s.atCountLive.packets);
      e.base.bytes += Math.max(s.ended.bytes, s.atCountEnded.bytes + s.atCountLive.bytes);
      e.base.opened += Math.max(s.ended.opened, s.atCountEnded.opened + s.atCountLive.opened);
      this.publish(e);
    }
  }
}
