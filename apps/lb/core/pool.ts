// A service's pool changes and what follows them: rebalancing the slot table, the events and saved
// tables of a change, bringing switches up to date, slow start, and a backend leaving (its pins
// deleted, its drain finished, its record removed). Called by the modules that decide a change.

import { pinCookieMatch, replyCookieMatch } from '../cookies.js';
import { targetCounts } from '../allocation.js';
import { backendKey, type Backend } from '../model.js';
import type { ServiceState } from '../service-state.js';
import type { SlotChange } from '../slot-table.js';
import { remembered } from './profiles.js';
import { emit, saveTable, setState, type CoreState } from './state.js';
import { deletePins, syncService } from './sync.js';
import { keyOf } from './views.js';

/** After a pool change: rebalance, apply bucket changes, persist, and bring the switches up to
 * date even when no bucket changed (a backend that became active needs its reverse and learn
 * rules; with `--tracking all` every bucket is a query bucket whatever the pool). */
export function reconcilePool(s: CoreState, st: ServiceState, reason: string, now: number): void {
  const change = st.rebalance(now, remembered(s, st));
  applyChange(s, st, change, reason);
  if (change.buckets.length === 0) syncService(s, st);
}

export function applyChange(s: CoreState, st: ServiceState, change: SlotChange, reason: string): void {
  if (change.started.length > 0) {
    emit(s, { type: 'migration_started', service: st.service.name, slots: change.started, reason });
  }
  for (const m of change.moved) {
    s.slotsMoved++;
    emit(s, {
      type: 'slot_moved', service: st.service.name, slot: m.slot,
      from: keyOf(st, m.from), to: keyOf(st, m.to),
    });
  }
  if (change.moved.length > 0 && st.table.migrations().length === 0) {
    emit(s, { type: 'migration_done', service: st.service.name });
  }
  if (change.buckets.length > 0 || change.moved.length > 0 || change.started.length > 0) saveTable(s, st);
  if (change.buckets.length > 0) syncService(s, st);
}

/** Slow start: rebalances a service whenever a slow-starting backend's stepped share changed. */
export function slowStartStep(s: CoreState, st: ServiceState, now: number): void {
  if (st.slowStart.size === 0 && !s.slowStartKey.has(st.service.id)) return;
  const fractions = st.slowStartFractions(now);
  const finished = [...st.slowStart.keys()].filter((id) => !fractions.has(id));
  for (const id of finished) st.slowStart.delete(id);
  const key = [...fractions].map(([id, f]) => `${id}:${f}`).join(',');
  if (key === (s.slowStartKey.get(st.service.id) ?? '') && finished.length === 0) return;
  if (key === '') s.slowStartKey.delete(st.service.id);
  else s.slowStartKey.set(st.service.id, key);
  reconcilePool(s, st, 'slow start', now);
  for (const id of finished) {
    const b = st.backends.get(id);
    if (b && b.state === 'active') slowStartEvent(s, st, b, true);
  }
}

export function slowStartEvent(s: CoreState, st: ServiceState, b: Backend, done: boolean): void {
  const full = targetCounts(st.backendInfos().map((x) => ({ id: x.id, weight: x.state === 'active' ? x.weight : 0 })), st.service.slots);
  const c = st.table.countsFor(b.id);
  emit(s, {
    type: 'backend_slow_start', service: st.service.name, backend: backendKey(b), slots: c.owned - c.leaving + c.incoming,
    target: full.get(b.id) ?? 0, done,
  });
}

export function finishDrain(s: CoreState, st: ServiceState, b: Backend, reason: string, now: number): void {
  setState(s, st, b, 'drained', now, reason);
  if (b.removeWhenDrained) deleteBackend(s, st, b, 'graceful remove completed', now);
}

export function dropPins(s: CoreState, st: ServiceState, b: Backend): void {
  deletePins(s, pinCookieMatch(st.service.id, b.id));
  deletePins(s, replyCookieMatch(st.service.id, b.id)); // the learned reply entries (ovs, nat)
  st.dropPinsOf(b.id);
}

export function deleteBackend(s: CoreState, st: ServiceState, b: Backend, reason: string, now: number): void {
  s.lastMoveAt.delete(b.id);
  s.arpConflictReported.delete(b.id);
  setState(s, st, b, 'removed', now, reason);
  dropPins(s, st, b);
  st.deleteBackend(b);
  s.health.forget(b.id);
  s.fx.store.push({ kind: 'delete_backend', id: b.id });
  reconcilePool(s, st, `backend ${backendKey(b)} removed`, now);
}
