// Slot allocation: how many slots each backend should own, and which slots change hands.
// Pure and deterministic: the same pool, owners and activity always give the same plan.

export interface WeightedBackend { id: number; weight: number }

/**
 * Target slot count per backend id: proportional to weights, largest remainder, deterministic ties
 * (lower id wins). Backends with weight 0 get 0 (they are in the map, so callers can tell "in the
 * pool, no share" from "gone"). No backends / all zero → empty map.
 * Integer arithmetic throughout, so remainders compare exactly.
 */
export function targetCounts(backends: WeightedBackend[], slots: number): Map<number, number> {
  const out = new Map<number, number>();
  let total = 0;
  for (const b of backends) {
    if (!(b.weight >= 0) || !Number.isInteger(b.weight)) throw new RangeError(`weight must be a non-negative integer, got ${b.weight}`);
    total += b.weight;
  }
  if (total === 0 || slots <= 0) return out;
  const rest: { id: number; rem: number }[] = [];
  let given = 0;
  for (const b of backends) {
    const share = Math.floor((slots * b.weight) / total);
    const rem = slots * b.weight - share * total; // exact: slots*weight stays far below 2^53
    out.set(b.id, share);
    given += share;
    if (b.weight > 0) rest.push({ id: b.id, rem });
  }
  rest.sort((a, b) => b.rem - a.rem || a.id - b.id);
  // The sum of remainders is (slots - given) * total and each is < total, so there are enough
  // backends with a non-zero remainder.
  for (let i = 0; given < slots; i++, given++) {
    const r = rest[i];
    out.set(r.id, out.get(r.id)! + 1);
  }
  return out;
}

/**
 * New owners with the fewest moves: only backends above target give slots (and slots owned by ids
 * not in targets, or null, are always reassigned), only those below target take them. Among the
 * slots a backend gives up, the least active (activity[slot], lower first; ties by slot index) move
 * first. Returns the new owners array (same length).
 *
 * `prefer` (optional) names, per slot, a backend that should get the slot if it is freed and that
 * backend is below target: the slot table passes each migrating slot's current owner so that an
 * undone change gives slots back where they came from instead of swapping them between takers.
 * Freed slots without a preferred taker go round-robin (by slot index) over takers in id order,
 * which spreads each taker's new slots around the ring.
 */
export function planOwners(
  owners: (number | null)[],
  targets: Map<number, number>,
  activity?: ArrayLike<number>,
  prefer?: ArrayLike<number | null>,
): (number | null)[] {
  const n = owners.length;
  const next = owners.slice();
  const owned = new Map<number, number[]>();
  for (const id of targets.keys()) owned.set(id, []);
  const freed: number[] = [];
  for (let s = 0; s < n; s++) {
    const o = owners[s];
    const list = o === null ? undefined : owned.get(o);
    if (list) list.push(s);
    else freed.push(s);
  }
  const act = (s: number): number => (activity ? activity[s] ?? 0 : 0);
  const deficit = new Map<number, number>();
  for (const [id, target] of targets) {
    const mine = owned.get(id)!;
    if (mine.length > target) {
      mine.sort((a, b) => act(a) - act(b) || a - b);
      for (let i = 0; i < mine.length - target; i++) freed.push(mine[i]);
    } else if (mine.length < target) deficit.set(id, target - mine.length);
  }
  freed.sort((a, b) => a - b);
  const leftover: number[] = [];
  for (const s of freed) {
    const p = prefer ? prefer[s] : null;
    const d = p === null || p === undefined ? 0 : deficit.get(p) ?? 0;
    if (d > 0) {
      next[s] = p!;
      deficit.set(p!, d - 1);
    } else leftover.push(s);
  }
  const takers = [...deficit.keys()].filter((id) => deficit.get(id)! > 0).sort((a, b) => a - b);
  let t = 0;
  for (const s of leftover) {
    // Every freed slot has a taker when targets sum to the slot count; with no targets it is unowned.
    let tries = 0;
    while (tries < takers.length && deficit.get(takers[t % takers.length])! === 0) { t++; tries++; }
    if (tries === takers.length) { next[s] = null; continue; }
    const id = takers[t % takers.length];
    next[s] = id;
    deficit.set(id, deficit.get(id)! - 1);
    t++;
  }
  return next;
}
