// The process rig lives in tools/rig (the crash-vs-failover benchmark runs it too); the vitest
// checks on its outcome are here.
import { expect } from 'vitest';
import type { FinalReport } from '../../tools/traffic/stats.js';
import type { Outcome } from '../../tools/rig/proc-rig.js';

export * from '../../tools/rig/proc-rig.js';

const firstFailures = (reports: FinalReport[]): string => JSON.stringify(reports.flatMap((r) => r.long.failures).slice(0, 5));

/** Nothing broke: no long-lived connection (busy or idle), no new connection, no UDP flow, and no
 * reply from a backend other than the connection's own. */
export function expectNothingBroke(o: Outcome): void {
  expect(o.busyBroken, firstFailures(o.busyReports)).toBe(0);
  expect(o.idleBroken, firstFailures(o.idleReports)).toBe(0);
  expect(o.newFailed).toBe(0);
  expect(o.udpFailures).toBe(0);
  expect(o.stickiness).toBe(0);
}
