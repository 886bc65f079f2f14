import { describe, expect, it } from 'vitest';
import { decidePin } from '../../../apps/lb/pin-decision.js';
import type { Bucket } from '../../../apps/lb/slot-table.js';

// Backends: A=1 (old owner), B=2 (new owner), R=3 (another backend a registry may remember).
const A = 1, B = 2, R = 3;
type Serving = { A: boolean; B: boolean; R: boolean };
const canServeOf = (s: Serving) => (id: number): boolean => (id === A ? s.A : id === B ? s.B : id === R ? s.R : false);

/** The rules of DESIGN.md written out independently, as a reference for the exhaustive table. */
function expected(isNew: boolean, from: number | null, to: number | null, remembered: number | undefined, serve: (id: number) => boolean): number | null {
  if (isNew) return to !== null && serve(to) ? to : null;
  if (remembered !== undefined && serve(remembered)) return remembered;
  if (from !== null && serve(from)) return from;
  if (to !== null && serve(to)) return to;
  return null;
}

describe('decidePin', () => {
  it('table of the main cases', () => {
    const mig: Bucket = { kind: 'query', from: A, to: B };
    const all = canServeOf({ A: true, B: true, R: true });
    const aDown = canServeOf({ A: false, B: true, R: true });
    const rDown = canServeOf({ A: true, B: true, R: false });
    const rows: [string, Parameters<typeof decidePin>[0], number | null][] = [
      ['SYN goes to the new owner', { isNewConnection: true, bucket: mig, remembered: undefined, canServe: all, owner: A }, B],
      ['SYN ignores the registry', { isNewConnection: true, bucket: mig, remembered: R, canServe: all, owner: A }, B],
      ['SYN with no new owner is dropped, never sent to a draining old owner', { isNewConnection: true, bucket: { kind: 'query', from: A, to: null }, remembered: undefined, canServe: all, owner: A }, null],
      ['established flow stays with the old owner', { isNewConnection: false, bucket: mig, remembered: undefined, canServe: all, owner: A }, A],
      ['remembered flow goes back to its backend', { isNewConnection: false, bucket: mig, remembered: R, canServe: all, owner: A }, R],
      ['remembered backend gone: old owner', { isNewConnection: false, bucket: mig, remembered: R, canServe: rDown, owner: A }, A],
      ['old owner gone: new owner', { isNewConnection: false, bucket: mig, remembered: undefined, canServe: aDown, owner: A }, B],
      ['nobody can serve', { isNewConnection: false, bucket: mig, remembered: R, canServe: () => false, owner: A }, null],
      ['tracking all, not migrating: SYN to owner', { isNewConnection: true, bucket: { kind: 'query', from: A, to: A }, remembered: undefined, canServe: all, owner: A }, A],
      ['tracking all, not migrating: UDP remembered', { isNewConnection: false, bucket: { kind: 'query', from: A, to: A }, remembered: R, canServe: all, owner: A }, R],
      ['stale packet-in of a forward bucket: its backend', { isNewConnection: false, bucket: { kind: 'forward', backend: B }, remembered: undefined, canServe: all, owner: B }, B],
      ['drop bucket, no owner: remembered only', { isNewConnection: false, bucket: { kind: 'drop' }, remembered: R, canServe: all, owner: null }, R],
      ['drop bucket, SYN: nothing', { isNewConnection: true, bucket: { kind: 'drop' }, remembered: R, canServe: all, owner: null }, null],
    ];
    for (const [name, input, want] of rows) expect(decidePin(input), name).toBe(want);
  });

  it('exhaustive over every combination', () => {
    const ends: (number | null)[] = [A, B, R, null];
    const buckets: Bucket[] = [{ kind: 'drop' }];
    for (const id of [A, B, R]) buckets.push({ kind: 'forward', backend: id });
    for (const from of ends) for (const to of ends) buckets.push({ kind: 'query', from, to });
    let n = 0;
    for (const isNew of [true, false]) for (const bucket of buckets) for (const remembered of [undefined, A, B, R])
      for (const sA of [true, false]) for (const sB of [true, false]) for (const sR of [true, false]) for (const owner of ends) {
        const serve = canServeOf({ A: sA, B: sB, R: sR });
        const from = bucket.kind === 'query' ? bucket.from : bucket.kind === 'forward' ? bucket.backend : owner;
        const to = bucket.kind === 'query' ? bucket.to : bucket.kind === 'forward' ? bucket.backend : owner;
        const got = decidePin({ isNewConnection: isNew, bucket, remembered, canServe: serve, owner });
        expect(got).toBe(expected(isNew, from, to, remembered, serve));
        // Whatever the case: the answer can serve, and a new connection never goes to an old owner that is not also the new one.
        if (got !== null) expect(serve(got)).toBe(true);
        if (isNew && got !== null) expect(got).toBe(to);
        n++;
      }
  });
});
