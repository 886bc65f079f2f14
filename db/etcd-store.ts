// The load balancer's state in etcd, for several controllers (issue 13). The load balancer calls
// its store synchronously, so this store serves every read from a cache loaded from etcd at open:
// an in-memory SQLite Store, which also enforces exactly the same constraints and gives the same
// errors as the embedded default (a second hand-written rule set would drift from it).
//
// Writes go to the cache first, then to etcd: each outermost transaction is collected as the set
// of keys it touched and becomes (part of) one etcd txn, so one API change lands in etcd whole or
// not at all. Transactions are shipped in order, one etcd txn at a time (consecutive ones merged
// while small); `flush()` resolves when everything so far is in etcd. With a fence (the leader's
// election key and its create revision) every txn is guarded by it: a controller that lost its
// leadership cannot write anything, however late its writes arrive.
import { Etcd3, type IOperation } from 'etcd3';
import type {
  BackendCountersRow, BackendRecord as Backend, EventRecord as LbEvent, ServiceCountersRow, ServiceRecord as Service,
  SlotTableRecord as SlotTableSnapshot, StoredEventRecord as StoredEvent,
} from './records.js';
import { STORE_DEFAULTS, Store, StoreError } from './store.js';

export interface EtcdFence {
  /** The full key of the leader's election entry, and its create revision while it is leader. */
  key: string;
  createRevision: string;
}

export interface EtcdStoreOptions {
  /** Keys live under this prefix (default "/holdfast/"). */
  prefix?: string;
  fence?: EtcdFence;
  maxEvents?: number;
  pruneEvery?: number;
  /** A write refused by the fence: this controller is no longer the leader and must stop. */
  onFenced?: (why: string) => void;
  /** etcd failed a write while shipping (told once per run of failures; retried until it succeeds). */
  onWriteError?: (err: Error) => void;
  /** etcd took a write again after failures that began `afterMs` ago. */
  onWriteResumed?: (afterMs: number) => void;
}

/** etcd refuses txns with more operations than --max-txn-ops (default 128): merge below that. */
const MERGE_OPS = 100;
const EVENT_ID_DIGITS = 16;

interface Batch {
  ops: Map<string, string | null>;
  /** Delete events with ids up to this one. */
  pruneTo?: number;
}

const pad = (n: number): string => String(n).padStart(EVENT_ID_DIGITS, '0');

/** Implements apps/lb/store.ts LbStore structurally, as Store does. */
export class EtcdStore {
  readonly file: string;
  private readonly prefix: string;
  private readonly maxEvents: number;
  private readonly pruneEvery: number;
  private appendsSincePrune = 0;
  /** Keys the current outermost transaction touched, each with how to read its value now. */
  private readonly dirty = new Map<string, () => string | null>();
  private pruneTo: number | undefined;
  private depth = 0;
  private readonly queue: Batch[] = [];
  private pumping = false;
  private waiters: (() => void)[] = [];
  private fenced: string | undefined;
  /** Since when (ms) shipping has failed, and why: cleared by the next txn etcd takes. */
  private failing: { since: number; why: string } | undefined;

  private constructor(private readonly client: Etcd3, private readonly cache: Store, private readonly o: EtcdStoreOptions) {
    this.prefix = o.prefix ?? '/holdfast/';
    this.maxEvents = o.maxEvents ?? STORE_DEFAULTS.maxEvents;
    this.pruneEvery = o.pruneEvery ?? STORE_DEFAULTS.pruneEvery;
    this.file = `etcd ${this.prefix}`;
  }

  /** Loads everything under the prefix into a fresh cache. */
  static async open(client: Etcd3, o: EtcdStoreOptions = {}): Promise<EtcdStore> {
    // The cache never prunes by itself: pruning is decided here so that etcd sees it too.
    const cache = Store.open(':memory:', { maxEvents: o.maxEvents ?? STORE_DEFAULTS.maxEvents, pruneEvery: Number.MAX_SAFE_INTEGER });
    const store = new EtcdStore(client, cache, o);
    try {
      await store.load();
    } catch (err) {
      cache.close();
      throw err instanceof StoreError ? err : new StoreError('sqlite', `etcd: cannot read the state under ${store.prefix}: ${(err as Error).message}`, err);
    }
    return store;
  }

  private async load(): Promise<void> {
    const all = await this.client.getAll().prefix(this.prefix).strings();
    const at = (sub: string): [string, string][] =>
      Object.entries(all).filter(([k]) => k.startsWith(this.prefix + sub)).map(([k, v]) => [k.slice(this.prefix.length + sub.length), v]);
    const parse = <T>(key: string, v: string): T => {
      try {
        return JSON.parse(v) as T;
      } catch {
        throw new StoreError('corrupt', `etcd: the key ${this.prefix}${key} is not valid JSON (${v.length} bytes)`);
      }
    };
    const services = at('svc/').map(([k, v]) => parse<Service>(`svc/${k}`, v)).sort((a, b) => a.id - b.id);
    this.cache.transaction(() => {
      for (const s of services) this.cache.insertService(s);
      for (const b of at('be/').map(([k, v]) => parse<Backend>(`be/${k}`, v)).sort((a, b) => a.id - b.id)) this.cache.insertBackend(b);
      for (const [id, v] of at('slots/')) {
        const s = services.find((x) => String(x.id) === id);
        if (s) this.cache.saveSlotTable(s.name, parse<SlotTableSnapshot>(`slots/${id}`, v));
      }
      for (const [dpid, profile] of at('profile/')) this.cache.setSwitchProfile(dpid, profile);
      const counters = all[`${this.prefix}counters`];
      if (counters !== undefined) {
        const c = parse<{ backends: BackendCountersRow[]; services: ServiceCountersRow[] }>('counters', counters);
        const backendIds = new Set(this.cache.listBackends().map((b) => b.id));
        const serviceIds = new Set(services.map((s) => s.id));
        this.cache.saveCounters(c.backends.filter((r) => backendIds.has(r.backendId)), c.services.filter((r) => serviceIds.has(r.serviceId)));
      }
      for (const [id, v] of at('ev/').sort(([a], [b]) => (a < b ? -1 : 1))) {
        const e = parse<{ at: number; event: LbEvent }>(`ev/${id}`, v);
        this.cache.restoreEvent({ id: Number(id), at: e.at, event: e.event });
      }
      const ids = all[`${this.prefix}ids`];
      if (ids !== undefined) this.cache.raiseIdCounters(parse<{ serviceId: number; backendId: number }>('ids', ids));
    });
    this.pruneEvents();
  }

  get isOpen(): boolean {
    return this.cache.isOpen;
  }

  /** Why this store stopped writing (its fence was refused), if it did. */
  get fencedReason(): string | undefined {
    return this.fenced;
  }

  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return this.cache.transaction(fn);
    this.depth++;
    try {
      const result = this.cache.transaction(fn);
      this.ship();
      return result;
    } catch (err) {
      this.dirty.clear();
      this.pruneTo = undefined;
      throw err;
    } finally {
      this.depth--;
    }
  }

  // --- keys and how to read their value from the cache (null: the key is deleted) ---

  private markService(id: number): void {
    this.dirty.set(`svc/${id}`, () => {
      const s = this.cache.listServices().find((x) => x.id === id);
      return s ? JSON.stringify(s) : null;
    });
    this.dirty.set(`slots/${id}`, () => {
      const s = this.cache.listServices().find((x) => x.id === id);
      const snap = s && this.cache.loadSlotTable(s.name);
      return snap ? JSON.stringify(snap) : null;
    });
  }

  private markBackend(id: number): void {
    this.dirty.set(`be/${id}`, () => {
      const b = this.cache.getBackend(id);
      return b ? JSON.stringify(b) : null;
    });
  }

  private markIds(): void {
    this.dirty.set('ids', () => JSON.stringify(this.cache.idCounters()));
  }

  private markCounters(): void {
    this.dirty.set('counters', () => JSON.stringify({ backends: this.cache.loadBackendCounters(), services: this.cache.loadServiceCounters() }));
  }

  // --- services ---

  insertService(s: Service): void {
    this.transaction(() => {
      this.cache.insertService(s);
      this.markService(s.id);
      this.markIds();
    });
  }

  updateService(s: Service): void {
    this.transaction(() => {
      this.cache.updateService(s);
      this.markService(s.id);
      // A rename: its backends name it, so they change too.
      for (const b of this.cache.listBackends(s.name)) this.markBackend(b.id);
    });
  }

  deleteService(name: string): boolean {
    return this.transaction(() => {
      const s = this.cache.getService(name);
      if (!s) return false;
      const backends = this.cache.listBackends(name);
      const deleted = this.cache.deleteService(name);
      this.markService(s.id);
      for (const b of backends) this.markBackend(b.id);
      this.markCounters();
      return deleted;
    });
  }

  getService(name: string): Service | undefined {
    return this.cache.getService(name);
  }

  listServices(): Service[] {
    return this.cache.listServices();
  }

  nextServiceId(): number {
    return this.transaction(() => {
      const id = this.cache.nextServiceId();
      this.markIds();
      return id;
    });
  }

  // --- backends ---

  insertBackend(b: Backend): void {
    this.transaction(() => {
      this.cache.insertBackend(b);
      this.markBackend(b.id);
      this.markIds();
    });
  }

  updateBackend(b: Backend): void {
    this.transaction(() => {
      this.cache.updateBackend(b);
      this.markBackend(b.id);
    });
  }

  deleteBackend(id: number): boolean {
    return this.transaction(() => {
      const deleted = this.cache.deleteBackend(id);
      this.markBackend(id);
      if (deleted) this.markCounters();
      return deleted;
    });
  }

  getBackend(id: number): Backend | undefined {
    return this.cache.getBackend(id);
  }

  listBackends(service?: string): Backend[] {
    return this.cache.listBackends(service);
  }

  nextBackendId(): number {
    return this.transaction(() => {
      const id = this.cache.nextBackendId();
      this.markIds();
      return id;
    });
  }

  // --- slot tables, profiles, counters ---

  saveSlotTable(service: string, snap: SlotTableSnapshot, at?: number): void {
    this.transaction(() => {
      this.cache.saveSlotTable(service, snap, at);
      const s = this.cache.getService(service);
      if (s) this.markService(s.id);
    });
  }

  loadSlotTable(service: string): SlotTableSnapshot | undefined {
    return this.cache.loadSlotTable(service);
  }

  listSwitchProfiles(): { dpid: string; profile: string }[] {
    return this.cache.listSwitchProfiles();
  }

  setSwitchProfile(dpid: string, profile: string | null): void {
    this.transaction(() => {
      this.cache.setSwitchProfile(dpid, profile);
      this.dirty.set(`profile/${dpid}`, () => this.cache.listSwitchProfiles().find((p) => p.dpid === dpid)?.profile ?? null);
    });
  }

  saveCounters(backends: readonly BackendCountersRow[], services: readonly ServiceCountersRow[], at?: number): void {
    this.transaction(() => {
      this.cache.saveCounters(backends, services, at);
      this.markCounters();
    });
  }

  loadBackendCounters(): BackendCountersRow[] {
    return this.cache.loadBackendCounters();
  }

  loadServiceCounters(): ServiceCountersRow[] {
    return this.cache.loadServiceCounters();
  }

  // --- events ---

  appendEvent(event: LbEvent, at?: number): StoredEvent {
    const stored = this.transaction(() => {
      const e = this.cache.appendEvent(event, at);
      // Read back at commit: an inner transaction that failed has taken it back out.
      this.dirty.set(`ev/${pad(e.id)}`, () => {
        const kept = this.cache.eventsSince(e.id - 1, 1)[0];
        return kept && kept.id === e.id ? JSON.stringify({ at: kept.at, event: kept.event }) : null;
      });
      return e;
    });
    if (++this.appendsSincePrune >= this.pruneEvery) this.pruneEvents();
    return stored;
  }

  eventsSince(afterId: number, limit?: number): StoredEvent[] {
    return this.cache.eventsSince(afterId, limit);
  }

  latestEvents(limit: number): StoredEvent[] {
    return this.cache.latestEvents(limit);
  }

  lastEventId(): number {
    return this.cache.lastEventId();
  }

  pruneEvents(): number {
    this.appendsSincePrune = 0;
    return this.transaction(() => {
      const last = this.cache.lastEventId();
      const n = this.cache.pruneEvents();
      if (n > 0) this.pruneTo = Math.max(this.pruneTo ?? 0, last - this.maxEvents);
      return n;
    });
  }

  // --- shipping to etcd ---

  /** The outermost transaction committed in the cache: queue its keys as one batch. */
  private ship(): void {
    if (this.dirty.size === 0 && this.pruneTo === undefined) return;
    const ops = new Map<string, string | null>();
    for (const [k, read] of this.dirty) ops.set(k, read());
    this.dirty.clear();
    const batch: Batch = { ops, ...(this.pruneTo !== undefined ? { pruneTo: this.pruneTo } : {}) };
    this.pruneTo = undefined;
    if (this.fenced !== undefined) return;
    this.queue.push(batch);
    void this.pump();
  }

  /** Consecutive batches merged while small: still whole changes, fewer etcd round trips. */
  private take(): Batch {
    const first = this.queue.shift()!;
    const merged: Batch = { ops: new Map(first.ops), ...(first.pruneTo !== undefined ? { pruneTo: first.pruneTo } : {}) };
    while (this.queue.length > 0 && merged.ops.size + this.queue[0]!.ops.size <= MERGE_OPS) {
      const next = this.queue.shift()!;
      for (const [k, v] of next.ops) {
        merged.ops.delete(k); // last write wins, in its place
        merged.ops.set(k, v);
      }
      if (next.pruneTo !== undefined) merged.pruneTo = Math.max(merged.pruneTo ?? 0, next.pruneTo);
    }
    // etcd refuses a txn that puts a key its range delete also covers: pruned events are dropped.
    if (merged.pruneTo !== undefined) {
      for (const k of [...merged.ops.keys()]) if (k.startsWith('ev/') && Number(k.slice(3)) <= merged.pruneTo) merged.ops.delete(k);
    }
    return merged;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let delay = 100;
    try {
      while (this.queue.length > 0 && this.fenced === undefined) {
        const batch = this.take();
        for (;;) {
          try {
            await this.send(batch);
            delay = 100;
            if (this.failing !== undefined) this.o.onWriteResumed?.(Date.now() - this.failing.since);
            this.failing = undefined;
            break;
          } catch (err) {
            if (this.fenced !== undefined) break;
            if (this.failing === undefined) {
              this.failing = { since: Date.now(), why: (err as Error).message };
              this.o.onWriteError?.(err as Error);
            }
            await new Promise((r) => setTimeout(r, delay));
            delay = Math.min(delay * 2, 1_000);
          }
        }
      }
    } finally {
      this.pumping = false;
      if (this.queue.length === 0 || this.fenced !== undefined) for (const w of this.waiters.splice(0)) w();
    }
  }

  private async send(batch: Batch): Promise<void> {
    const ops: IOperation[] = [];
    for (const [k, v] of batch.ops) {
      ops.push(v === null ? this.client.delete().key(this.prefix + k) : this.client.put(this.prefix + k).value(v));
    }
    if (batch.pruneTo !== undefined) {
      ops.push(this.client.delete().inRange({ start: `${this.prefix}ev/`, end: `${this.prefix}ev/${pad(batch.pruneTo + 1)}` }));
    }
    const fence = this.o.fence;
    // Without a fence the comparison always holds (every version is > -1).
    const txn = fence
      ? this.client.if(fence.key, 'Create', '==', fence.createRevision)
      : this.client.if(`${this.prefix}ids`, 'Version', '>', -1);
    const r = await txn.then(...ops).options({ deadline: Date.now() + 5_000 }).commit();
    if (!r.succeeded && fence) {
      this.fenced = `the leader key ${fence.key} (revision ${fence.createRevision}) is gone: another controller leads`;
      this.queue.length = 0;
      this.o.onFenced?.(this.fenced);
    }
  }

  /**
   * Whether a change may be made now: undefined if so, else why not. Asked before an API change is
   * applied, so that while etcd is away a change is refused unmade instead of being made on this
   * controller only (where it would be lost with it): etcd must answer a read within `timeoutMs`,
   * and nothing already queued may be failing to ship.
   */
  async refuseWrite(timeoutMs = 1_000): Promise<string | undefined> {
    if (this.fenced !== undefined) return `this controller no longer leads (${this.fenced})`;
    if (this.failing !== undefined) {
      return `etcd has not taken our writes for ${((Date.now() - this.failing.since) / 1000).toFixed(1)} s (${this.failing.why})`;
    }
    try {
      await this.client.get(this.o.fence?.key ?? `${this.prefix}ids`).options({ deadline: Date.now() + timeoutMs }).exec();
      return undefined;
    } catch (err) {
      // etcd3 stops calling an endpoint for a moment after it failed three times running.
      const why = /circuit breaker/.test((err as Error).message) ? 'no endpoint answered the last tries' : (err as Error).message;
      return `etcd does not answer (${why})`;
    }
  }

  flush(): Promise<void> {
    if ((this.queue.length === 0 && !this.pumping) || this.fenced !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ships what is queued (for at most `timeoutMs`), then drops the cache. The client stays open. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (!this.cache.isOpen) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); })]);
    clearTimeout(timer);
    this.cache.close();
  }
}
