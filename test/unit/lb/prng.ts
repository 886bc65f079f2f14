// A small seeded PRNG (mulberry32) so property tests are reproducible, with integer and pick helpers.
import { mulberry32 } from '../../helpers/prng.js';

export function prng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T } {
  const next = mulberry32(seed);
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}
