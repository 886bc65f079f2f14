// What the core does when a backend's health changes (the health monitor, health-monitor.ts,
// judges checks; port status and ARP feed it too), and the outcome of an HTTP check the shell ran.

import type { HealthStatus } from '../health.js';
import { backendKey, canServe, type Backend } from '../model.js';
import type { ServiceState } from '../service-state.js';
import type { Effects } from './effects.js';
import type { HttpOutcome } from './health-monitor.js';
import { deleteBackend, dropPins, reconcilePool, slowStartEvent } from './pool.js';
import { begin, emit, setState, type CoreState } from './state.js';

/**
 * A backend's health changed (checks or port status). Down: its slots move at once, its pins and
 * learned entries are deleted (a backend being removed is deleted). Up: active again, its share
 * growing by slow start. Runs inside a call that already collects effects.
 */
export function healthChanged(s: CoreState, st: ServiceState, b: Backend, to: HealthStatus, reason: string, check: string): void {
  const now = s.now;
  const key = backendKey(b);
  emit(s, { type: 'backend_health', service: st.service.name, backend: key, health: to, reason, check });
  if (to === 'down') {
    if (!canServe(b)) return;
    if (b.removeWhenDrained) {
      deleteBackend(s, st, b, `health checks failed: ${reason}`, now);
      return;
    }
    st.slowStart.delete(b.id);
    setState(s, st, b, 'down', now, `health checks failed: ${reason}`);
    dropPins(s, st, b);
    reconcilePool(s, st, `backend ${key} is down`, now);
    return;
  }
  if (b.state !== 'down') return;
  if (st.service.health.slowStartMs > 0 && [...st.backends.values()].some((x) => x.id !== b.id && x.state === 'active')) {
    st.slowStart.set(b.id, now);
  }
  setState(s, st, b, 'active', now, `health checks pass: ${reason}`);
  reconcilePool(s, st, `backend ${key} is up`, now);
  if (st.slowStart.has(b.id)) slowStartEvent(s, st, b, false);
}

/** An HTTP check the shell ran from this host ended. */
export function httpCheckDone(s: CoreState, token: number, outcome: HttpOutcome, now: number): Effects {
  const fx = begin(s, now);
  s.health.httpCheckDone(token, outcome, now);
  return fx;
}
