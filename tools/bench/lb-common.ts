// Small helpers shared by the load balancer benchmarks: percentiles, argument parsing, formatting,
// memory measurement.

/** Percentiles of a sample (values in any unit); `ps` as fractions (0.5, 0.99...). */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  if (sorted.length === 0) return ps.map(() => Number.NaN);
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]);
}

/** Weighted percentiles: value i counts weight[i] times. */
export function weightedPercentiles(values: ArrayLike<number>, weights: ArrayLike<number>, ps: readonly number[]): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  if (total === 0) return ps.map(() => Number.NaN);
  return ps.map((p) => {
    const want = Math.ceil(p * total);
    let acc = 0;
    for (const i of idx) {
      acc += weights[i];
      if (acc >= want) return values[i];
    }
    return values[idx[idx.length - 1]];
  });
}

/** `--name value` from argv, as a number, else the default. */
export function numArg(argv: readonly string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${argv[i + 1]}`);
  return v;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtBytes(n: number): string {
  return `${n.toFixed(0)} B`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** V8 heap plus ArrayBuffer memory (the flow tables live in typed arrays, outside the heap). */
export function usedMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function gcOf(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

/** Whether node runs with --expose-gc (without it, memory figures are approximate). */
export function gcExposed(): boolean {
  return gcOf() !== undefined;
}

/** usedMemory() after three full collections (when gc is exposed). */
export function heapAfterGc(): number {
  const gc = gcOf();
  if (gc) for (let i = 0; i < 3; i++) gc();
  return usedMemory();
}
