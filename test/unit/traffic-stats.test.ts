import { describe, expect, it } from 'vitest';
import { formatFailure, jitteredMs, Latencies, newConnsDue, staggerOffsetMs, TrafficStats, type StatsConfig } from '../../tools/traffic/stats.js';

/** Stats on a hand-driven clock. */
function makeStats(config: Partial<StatsConfig> = {}): { stats: TrafficStats; advance(ms: number): void } {
  let t = 1000;
  const stats = new TrafficStats({ long: 0, newRate: 0, udpFlows: 0, ...config }, () => t);
  return { stats, advance: (ms) => (t += ms) };
}

describe('TrafficStats', () => {
  it('a clean run is ok and counts replies per backend and connections per first backend', () => {
    const { stats, advance } = makeStats({ long: 2, newRate: 5, udpFlows: 1 });
    stats.longAttempt(false);
    stats.longOpened();
    stats.longAttempt(false);
    stats.longOpened();
    for (const [b, first] of [['b1', true], ['b2', true], ['b1', false], ['b1', false]] as const) {
      stats.longRequest();
      stats.longReply(b, first, 1);
    }
    stats.newStarted();
    stats.newOk('b2', 2);
    stats.udpSent();
    stats.udpReply('b1', true, false, 1);
    stats.longGone(true);
    stats.longGone(true);
    advance(2500);
    const r = stats.final('duration');
    expect(r).toMatchObject({ type: 'final', ok: true, totalFailures: 0, problems: [], durationMs: 2500, stoppedBy: 'duration' });
    expect(r.long).toMatchObject({ configured: 2, opened: 2, open: 0, closedCleanly: 2, requests: 4, replies: 4, repliesByBackend: { b1: 3, b2: 1 }, connsByBackend: { b1: 1, b2: 1 }, stickinessViolations: 0 });
    expect(r.newConns).toMatchObject({ started: 1, ok: 1, failed: 0, inFlight: 0, byBackend: { b2: 1 } });
    expect(r.udp).toMatchObject({ sent: 1, replies: 1, timeouts: 0, lossRate: 0, flowsByBackend: { b1: 1 } });
  });

  it('a new connection slower than a second succeeds but is listed as slow, with when it started', () => {
    const { stats } = makeStats({ newRate: 5 });
    for (const ms of [5, 999, 1000, 1001, 3200]) {
      stats.newStarted();
      stats.newOk('b1', ms);
    }
    const before = Date.now();
    const r = stats.final('duration');
    expect(r.ok).toBe(true);
    expect(r.newConns.ok).toBe(5);
    expect(r.newConns.slow.overMs).toBe(1000);
    expect(r.newConns.slow.count).toBe(2);
    expect(r.newConns.slow.details.map((d) => d.ms)).toEqual([1001, 3200]);
    // Started rttMs before it was counted (wall clock, for lining up with a kill).
    expect(r.newConns.slow.details[1]!.startedAt).toBeLessThanOrEqual(before - 3200 + 50);
    expect(r.newConns.slow.details[1]!.startedAt).toBeGreaterThan(before - 3200 - 5_000);
  });

  it('every failure kind is counted once, in its workload, and makes the run not ok', () => {
    const { stats, advance } = makeStats({ long: 1, newRate: 1, udpFlows: 1 });
    stats.longAttempt(false);
    stats.longOpened();
    stats.longRequest();
    stats.longReply('b1', true, 1);
    advance(100);
    stats.failure({ workload: 'long', kind: 'wrong-backend', conn: 0, seq: 2, backend: 'b2', expected: 'b1' });
    stats.failure({ workload: 'long', kind: 'reset', conn: 0, backend: 'b1', detail: 'ECONNRESET' });
    stats.longGone(false);
    stats.newStarted();
    stats.failure({ workload: 'new', kind: 'connect', conn: 0, detail: 'ECONNREFUSED' });
    stats.udpSent();
    stats.udpReply('b1', true, false, 1);
    stats.failure({ workload: 'udp', kind: 'wrong-backend', conn: 0, backend: 'b3', expected: 'b1' });
    const r = stats.final('SIGTERM');
    expect(r.ok).toBe(false);
    expect(r.totalFailures).toBe(4);
    expect(r.long).toMatchObject({ failureCount: 2, stickinessViolations: 1, failuresByKind: { reset: 1, 'wrong-backend': 1 }, open: 0, closedCleanly: 0 });
    expect(r.long.failures[0]).toMatchObject({ workload: 'long', kind: 'wrong-backend', conn: 0, seq: 2, backend: 'b2', expected: 'b1', tMs: 100 });
    expect(Date.parse(r.long.failures[0]!.at)).not.toBeNaN();
    expect(r.newConns).toMatchObject({ started: 1, ok: 0, failed: 1, inFlight: 0, failuresByKind: { connect: 1 } });
    expect(r.udp).toMatchObject({ failed: 1, stickinessViolations: 1 });
    expect(r.problems).toEqual([
      'long: 2 failures (1 reset, 1 wrong-backend)',
      'newConns: 1 failures (1 connect)',
      'udp: 1 failures (1 wrong-backend)',
      'newConns: no successful connection of 1 started',
    ]);
  });

  it('UDP loss is counted but is not a failure; a workload without any success is a problem', () => {
    const { stats } = makeStats({ udpFlows: 2 });
    for (let i = 0; i < 4; i++) stats.udpSent();
    stats.udpTimeout();
    stats.udpReply('b1', true, true, 3100);
    let r = stats.final('duration');
    expect(r.udp).toMatchObject({ sent: 4, replies: 1, late: 1, timeouts: 1, lossRate: 0.25, failed: 0 });
    expect(r.ok).toBe(true);
    const silent = makeStats({ udpFlows: 1, long: 3 }).stats;
    silent.udpSent();
    silent.udpTimeout();
    r = silent.final('duration');
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(['long: no replies on 3 configured connections', 'udp: no replies to 1 datagrams']);
  });

  it('reports connections left open or unaccounted for', () => {
    const { stats } = makeStats({ long: 1, newRate: 1 });
    stats.longOpened();
    stats.longReply('b1', true, 1);
    stats.newStarted();
    stats.newStarted();
    stats.newOk('b1', 1);
    expect(stats.final('SIGINT').problems).toEqual(['newConns: 1 connections unaccounted for at the end', 'long: 1 connections still open at the end']);
  });

  it('keeps exact counts past the detail cap', () => {
    const stats = new TrafficStats({ long: 1, newRate: 0, udpFlows: 0, maxDetails: 3 });
    for (let i = 0; i < 10; i++) stats.failure({ workload: 'long', kind: 'connect', conn: i });
    const r = stats.final('duration');
    expect(r.long.failureCount).toBe(10);
    expect(r.long.failures.map((f) => f.conn)).toEqual([0, 1, 2]);
    expect(r.long.failuresDropped).toBe(7);
    expect(r.totalFailures).toBe(10);
  });

  it('progress reports counts so far and each failure once, in time order', () => {
    const { stats, advance } = makeStats({ long: 1, newRate: 1, udpFlows: 1 });
    stats.longOpened();
    stats.longReply('b1', true, 1);
    advance(10);
    stats.newStarted();
    stats.failure({ workload: 'new', kind: 'timeout', conn: 0 });
    advance(10);
    stats.failure({ workload: 'long', kind: 'stall', conn: 0 });
    const p1 = stats.progress();
    expect(p1).toMatchObject({ type: 'progress', tMs: 20, totalFailures: 2, long: { open: 1, opened: 1, replies: 1, repliesByBackend: { b1: 1 }, failures: 1 }, newConns: { started: 1, ok: 0, failed: 1, inFlight: 0 } });
    expect(p1.newFailures.map((f) => f.kind)).toEqual(['timeout', 'stall']);
    const p2 = stats.progress();
    expect(p2.newFailures).toEqual([]);
    expect(p2.totalFailures).toBe(2);
  });

  it('progress caps the failures it lists per report and says how many more there were', () => {
    const { stats } = makeStats({ long: 1 });
    for (let i = 0; i < 25; i++) stats.failure({ workload: 'long', kind: 'connect', conn: i });
    const p = stats.progress();
    expect(p.newFailures).toHaveLength(20);
    expect(p.newFailuresMore).toBe(5);
  });
});

describe('helpers', () => {
  it('formats a failure on one line with what was seen and expected', () => {
    const line = formatFailure({ workload: 'udp', kind: 'wrong-backend', conn: 4, tMs: 1234, at: '', seq: 9, backend: 'b2', expected: 'b1' });
    expect(line).toBe('FAILURE udp#4 wrong-backend t=1234ms seq=9 backend=b2 expected="b1"');
  });

  it('jitters within the configured fraction and never to zero', () => {
    expect(jitteredMs(100, 0.25, 0)).toBe(75);
    expect(jitteredMs(100, 0.25, 0.5)).toBe(100);
    expect(jitteredMs(100, 0.25, 0.999999)).toBe(125);
    expect(jitteredMs(100, 0, 0.9)).toBe(100);
    expect(jitteredMs(1, 1, 0)).toBe(1);
  });

  it('spreads long connection opens over the stagger window', () => {
    expect([0, 1, 2, 3].map((i) => staggerOffsetMs(i, 4, 1000))).toEqual([0, 250, 500, 750]);
    expect(staggerOffsetMs(3, 4, 0)).toBe(0);
  });

  it('schedules new connections at the rate, catching up after a late tick', () => {
    expect(newConnsDue(0, 50, 0)).toBe(0);
    expect(newConnsDue(100, 50, 0)).toBe(5);
    expect(newConnsDue(100, 50, 5)).toBe(0);
    expect(newConnsDue(1000, 50, 5)).toBe(45);
    expect(newConnsDue(30_000, 50, 0)).toBe(1500);
  });

  it('latency percentiles come from the samples, max from all', () => {
    const l = new Latencies(1000);
    for (let i = 1; i <= 100; i++) l.add(i);
    expect(l.summary()).toEqual({ count: 100, p50Ms: 50, p90Ms: 90, p99Ms: 99, maxMs: 100 });
    const capped = new Latencies(10, () => 0.99);
    for (let i = 1; i <= 100; i++) capped.add(i);
    expect(capped.summary()).toMatchObject({ count: 100, maxMs: 100 });
    expect(new Latencies().summary()).toEqual({ count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
