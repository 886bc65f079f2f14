// The crash-vs-failover benchmark's options and report (the runs themselves need root and a lab:
// `npm run bench -- crash-vs-failover`).
import { describe, expect, it } from 'vitest';
import { crashVsFailoverOptionsFrom, formatCrashVsFailover, scenarioName, type ScenarioResult } from '../../tools/bench/crash-vs-failover.js';

describe('crash-vs-failover bench', () => {
  it('defaults to two rounds, tracking migrations, outages of 3.5 s and 10 s; takes its flags', () => {
    expect(crashVsFailoverOptionsFrom(['crash-vs-failover'])).toEqual({ rounds: 2, tracking: 'migrations', outagesMs: [3_500, 10_000], eventAfterMs: 2_000 });
    expect(crashVsFailoverOptionsFrom(['crash-vs-failover', '--rounds', '1', '--tracking', 'all', '--outages', '3500', '--event-after-ms', '500'])).toEqual({ rounds: 1, tracking: 'all', outagesMs: [3_500], eventAfterMs: 500 });
    expect(() => crashVsFailoverOptionsFrom(['--tracking', 'some'])).toThrow(/migrations or all/);
    expect(() => crashVsFailoverOptionsFrom(['--outages', '3s'])).toThrow(/milliseconds/);
  });

  it('names every scenario and prints one row per run with what broke', () => {
    expect(scenarioName({ kind: 'crash', outageMs: 3_500 })).toBe('single controller, SIGKILL, back after 3.5 s');
    const run: ScenarioResult = {
      scenario: scenarioName({ kind: 'failover' }), round: 1, longOpened: 200, busyBroken: 0, idleBroken: 33, idleBrokenOn: { b1: 30, b2: 3 }, newOk: 700, newFailed: 0, newSlow: 12,
      newSlowestMs: 3_100, udpFlowsFailed: 0, udpSent: 400, udpLost: 3, stickiness: 0, queryAnsweredAfterMs: 1_800, controllerBackMs: 1_400, switchUpMs: null, lastSlotMoveMs: 3_300,
      windowsBefore: { query: 8, pending: 13, querySlots: 8, b1: 'draining' }, windowsAfter: { query: 8, pending: 13, querySlots: 8, b1: 'draining' },
      drainedAfterMs: null, b1AtEnd: 'draining',
    };
    const text = formatCrashVsFailover({ node: 'v0', tracking: 'migrations', eventAfterMs: 500, runs: [run] });
    const row = text.split('\n').find((l) => l.startsWith('cluster of 3'))!;
    expect(row.split(/\s{2,}/)).toEqual(['cluster of 3, leader SIGKILLed', '1', '0', '33', '0', '12', '0', '3/400', '1.8 s', '1.4 s', '-']);
    expect(text).toContain('drained not within 5 s of the end (b1 draining)');
    expect(text).toContain('event 0.5 s later');
    expect(text).toContain('idle 33 (b1 30, b2 3)');
    expect(text).toContain('switch up again -, last tcp slot move 3.3 s after the event');
  });
});
