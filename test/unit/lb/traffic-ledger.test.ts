import { describe, expect, it } from 'vitest';
import { TrafficLedger } from '../../../apps/lb/traffic-ledger.js';

const agg = (flows: number, packets: number, bytes: number) => ({ flows, packets: BigInt(packets), bytes: BigInt(bytes) });
const SW = '0000000000000001';

describe('TrafficLedger', () => {
  it('adds bucket traffic, ended entries and live entries once each', () => {
    const l = new TrafficLedger();
    l.bucketTraffic(1, 2, 120);
    let t = l.countStarted(SW, 1);
    expect(l.countDone(SW, 1, t, agg(2, 10, 1000))).toBe(true);
    expect(l.totals(1)).toEqual({ packets: 12, bytes: 1120, opened: 2 });
    // One of the two entries ends with 7 packets / 700 bytes (it had 6 / 600 at the count).
    l.flowEnded(SW, 1, 7n, 700n);
    // Not visible before the next count: the last count still holds the entry.
    expect(l.totals(1)).toEqual({ packets: 12, bytes: 1120, opened: 2 });
    t = l.countStarted(SW, 1);
    expect(l.countDone(SW, 1, t, agg(1, 5, 500))).toBe(true);
    expect(l.totals(1)).toEqual({ packets: 2 + 7 + 5, bytes: 120 + 700 + 500, opened: 2 });
  });

  it('counts entries that came and went between two counts', () => {
    const l = new TrafficLedger();
    for (let i = 0; i < 5; i++) l.flowEnded(SW, 1, 3n, 300n);
    const t = l.countStarted(SW, 1);
    l.countDone(SW, 1, t, agg(0, 0, 0));
    expect(l.totals(1)).toEqual({ packets: 15, bytes: 1500, opened: 5 });
  });

  it('drops a count that a flow-removed raced, and never goes down', () => {
    const l = new TrafficLedger();
    let t = l.countStarted(SW, 1);
    l.countDone(SW, 1, t, agg(1, 10, 1000));
    t = l.countStarted(SW, 1);
    l.flowEnded(SW, 1, 12n, 1200n); // the reply may or may not include this entry
    expect(l.countDone(SW, 1, t, agg(1, 12, 1200))).toBe(false);
    expect(l.totals(1).bytes).toBe(1000);
    t = l.countStarted(SW, 1);
    expect(l.countDone(SW, 1, t, agg(0, 0, 0))).toBe(true);
    expect(l.totals(1)).toEqual({ packets: 12, bytes: 1200, opened: 1 });
  });

  it('keeps switches apart', () => {
    const l = new TrafficLedger();
    const t1 = l.countStarted('a', 1);
    l.flowEnded('b', 1, 1n, 100n);
    expect(l.countDone('a', 1, t1, agg(1, 2, 200))).toBe(true);
    const t2 = l.countStarted('b', 1);
    expect(l.countDone('b', 1, t2, agg(0, 0, 0))).toBe(true);
    expect(l.totals(1)).toEqual({ packets: 3, bytes: 300, opened: 2 });
  });

  it('a restarted controller continues from the snapshot without counting live entries twice', () => {
    const l = new TrafficLedger();
    l.bucketTraffic(1, 1, 60);
    l.flowEnded(SW, 1, 4n, 400n);
    let t = l.countStarted(SW, 1);
    l.countDone(SW, 1, t, agg(1, 10, 1000));
    const snap = l.snapshot(1);
    expect(snap.totals).toEqual({ packets: 15, bytes: 1460, opened: 2 });
    expect(snap.base).toEqual({ packets: 5, bytes: 460, opened: 1 });

    const next = new TrafficLedger();
    next.restore(1, snap);
    expect(next.totals(1)).toEqual(snap.totals);
    // The live entry is still on the switch, a little further along.
    t = next.countStarted(SW, 1);
    next.countDone(SW, 1, t, agg(1, 11, 1100));
    expect(next.totals(1)).toEqual({ packets: 16, bytes: 1560, opened: 2 });
  });

  it('a switch gone for good leaves its counts in the totals', () => {
    const l = new TrafficLedger();
    const t = l.countStarted(SW, 1);
    l.countDone(SW, 1, t, agg(3, 30, 3000));
    l.forgetSwitch(SW);
    expect(l.totals(1)).toEqual({ packets: 30, bytes: 3000, opened: 3 });
    l.bucketTraffic(1, 1, 10);
    expect(l.totals(1)).toEqual({ packets: 31, bytes: 3010, opened: 3 });
  });
});
