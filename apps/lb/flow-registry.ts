// Recent flows of one service and the backend each was pinned to, so that a flow seen before goes
// back to the backend it had. Hot path: one table lookup per packet-in. Expiry by generations: three
// flow tables rotated every ttl/2, so an entry lives between ttl and 1.5 ttl after its last use, with
// no per-entry timer or timestamp.

import { FlowTable } from './flow-table.js';

const GENERATIONS = 3;

export class FlowRegistry {
  private readonly period: number;
  private readonly maxEntries: number;
  /** gens[0] is the current generation; older ones follow. */
  private gens: FlowTable[] = [];
  private genStart = Number.NaN;

  constructor(opts: { ttlMs: number; maxEntries?: number }) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`ttlMs must be positive: ${opts.ttlMs}`);
    this.period = opts.ttlMs / (GENERATIONS - 1);
    this.maxEntries = opts.maxEntries ?? Number.POSITIVE_INFINITY;
    if (!(this.maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1: ${opts.maxEntries}`);
    for (let i = 0; i < GENERATIONS; i++) this.gens.push(new FlowTable());
  }

  get size(): number {
    // An indexed loop, not for-of: insert asks for the size on every pin, and the iterator
    // protocol's bytecode is enough to keep this getter from being inlined into the hot path.
    let n = 0;
    for (let i = 0; i < GENERATIONS; i++) n += this.gens[i].size;
    return n;
  }

  /** The backend remembered for a flow; a hit counts as a use and keeps the entry young. */
  get(ip: number, port: number, now: number): number | undefined {
    this.age(now);
    const v = this.gens[0].get(ip, port);
    if (v >= 0) return v;
    for (let i = 1; i < GENERATIONS; i++) {
      const g = this.gens[i];
      const old = g.get(ip, port);
      if (old >= 0) {
        g.delete(ip, port);
        this.insert(ip, port, old);
        return old;
      }
    }
    return undefined;
  }

  set(ip: number, port: number, backend: number, now: number): void {
    this.age(now);
    for (let i = 1; i < GENERATIONS; i++) this.gens[i].delete(ip, port);
    this.insert(ip, port, backend);
  }

  delete(ip: number, port: number): void {
    for (const g of this.gens) g.delete(ip, port);
  }

  /** A backend removed now: its flows must not be sent back to it. */
  forgetBackend(id: number): void {
    for (const g of this.gens) g.deleteValue(id);
  }

  clear(): void {
    for (const g of this.gens) g.clear();
  }

  private insert(ip: number, port: number, backend: number): void {
    if (this.size >= this.maxEntries && this.gens[0].get(ip, port) < 0) {
      // Over the bound: drop the oldest generations early, the current one last.
      this.rotate();
      while (this.size >= this.maxEntries) this.rotate();
    }
    this.gens[0].set(ip, port, backend);
  }

  private age(now: number): void {
    if (Number.isNaN(this.genStart)) { this.genStart = now; return; }
    if (now - this.genStart < this.period) return;
    const steps = Math.floor((now - this.genStart) / this.period);
    for (let i = 0; i < Math.min(steps, GENERATIONS); i++) this.rotate();
    this.genStart += steps * this.period;
  }

  private rotate(): void {
    const oldest = this.gens.pop()!;
    oldest.clear();
    this.gens.unshift(oldest);
  }
}
