// When a draining backend is done: its last slot has left and the switches, counted since then,
// hold no connection of it (and no pin of it is installed), or its drain deadline has passed.
// A count nobody took is no zero: a controller that just started knows nothing until its switches
// answer.

import type { Backend } from '../model.js';
import type { ServiceState } from '../service-state.js';

/** Connection counts asked for this soon after a backend's last slot left may still miss an entry
 * the switch was learning from a packet that took the old bucket. */
export const CONN_COUNT_MARGIN_MS = 300;
/** How long a started controller waits for its switches (Open vSwitch's default reconnect backoff
 * is up to 8 s) before it takes "no switch" to mean no connection anywhere. */
export const SWITCH_RETURN_GRACE_MS = 15_000;

export type DrainStep = 'wait' | 'done' | 'deadline';

/**
 * One look at a draining backend at `now`. `dpids`: the connected switches that carry its
 * service; `startedAt`: when this controller started. Notes in `st.slotsGoneAt` when the
 * backend's last slot left (only counts asked for after that, plus a margin, can end the drain).
 */
export function drainStep(st: ServiceState, b: Backend, dpids: readonly string[], now: number, startedAt: number): DrainStep {
  const c = st.table.countsFor(b.id);
  if (c.owned + c.leaving > 0) {
    st.slotsGoneAt.delete(b.id);
    return 'wait';
  }
  let goneAt = st.slotsGoneAt.get(b.id);
  if (goneAt === undefined) st.slotsGoneAt.set(b.id, (goneAt = now));
  // With no switch at all, a controller that just started waits for its switches to come back and
  // count; past that grace no switch carries the service, so nothing holds the backend.
  const live = dpids.length === 0
    ? (now - startedAt >= SWITCH_RETURN_GRACE_MS ? 0 : null)
    : st.connectionsOf(b.id, dpids, goneAt + CONN_COUNT_MARGIN_MS);
  if (live === 0 && st.pinsOf(b.id) === 0) return 'done';
  return now >= (b.drainStartedAt ?? b.stateSince) + st.service.drainDeadlineMs ? 'deadline' : 'wait';
}
