// A hash table from a flow's client side (IPv4 address, L4 port) to a small non-negative integer
// (a backend id), in typed arrays: the query/reply hot path inserts and looks up one per packet-in,
// and a Map keyed by a 48-bit number would allocate a heap number per entry and churn the GC.
// Open addressing with linear probing and backward-shift deletion (no tombstones).

const EMPTY = -1;

export class FlowTable {
  private ips: Uint32Array;
  private ports: Uint16Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.ips = new Uint32Array(cap);
    this.ports = new Uint16Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.ips.byteLength + this.ports.byteLength + this.values.byteLength;
  }

  private slot(ip: number, port: number): number {
    // Murmur-style mix of both halves; Math.imul keeps it in 32-bit integer arithmetic.
    let h = Math.imul(ip ^ (port << 16) ^ port, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
    return h & this.mask;
  }

  /** The value for the flow, or -1. */
  get(ip: number, port: number): number {
    ip >>>= 0;
    const { ips, ports, values, mask } = this;
    for (let i = this.slot(ip, port); ; i = (i + 1) & mask) {
      const v = values[i];
      if (v === EMPTY) return EMPTY;
      if (ips[i] === ip && ports[i] === port) return v;
    }
  }

  /** Sets the value (a non-negative 31-bit integer) for the flow. */
  set(ip: number, port: number, value: number): void {
    ip >>>= 0;
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    const { ips, ports, values, mask } = this;
    for (let i = this.slot(ip, port); ; i = (i + 1) & mask) {
      const v = values[i];
      if (v === EMPTY) {
        ips[i] = ip;
        ports[i] = port;
        values[i] = value;
        this.count++;
        return;
      }
      if (ips[i] === ip && ports[i] === port) {
        values[i] = value;
        return;
      }
    }
  }

  delete(ip: number, port: number): boolean {
    ip >>>= 0;
    const { ips, ports, values, mask } = this;
    let i = this.slot(ip, port);
    for (; ; i = (i + 1) & mask) {
      if (values[i] === EMPTY) return false;
      if (ips[i] === ip && ports[i] === port) break;
    }
    // Backward-shift: move later entries of the probe run into the hole so lookups never stop early.
    let hole = i;
    for (let j = (i + 1) & mask; values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.slot(ips[j], ports[j]);
      // Entry j may move to the hole if its home is not in the cyclic range (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        ips[hole] = ips[j];
        ports[hole] = ports[j];
        values[hole] = values[j];
        hole = j;
      }
    }
    values[hole] = EMPTY;
    this.count--;
    return true;
  }

  forEach(fn: (ip: number, port: number, value: number) => void): void {
    const { ips, ports, values } = this;
    for (let i = 0; i < values.length; i++) if (values[i] !== EMPTY) fn(ips[i], ports[i], values[i]);
  }

  /** Removes every entry whose value is `value`; returns how many. */
  deleteValue(value: number): number {
    const doomed: [number, number][] = [];
    this.forEach((ip, port, v) => {
      if (v === value) doomed.push([ip, port]);
    });
    for (const [ip, port] of doomed) this.delete(ip, port);
    return doomed.length;
  }

  clear(): void {
    this.values.fill(EMPTY);
    this.count = 0;
  }

  private grow(): void {
    const { ips, ports, values } = this;
    const cap = values.length * 2;
    this.ips = new Uint32Array(cap);
    this.ports = new Uint16Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== EMPTY) this.set(ips[i], ports[i], values[i]);
  }
}
