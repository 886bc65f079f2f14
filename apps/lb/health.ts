// Health checks: a service's check settings (defaults, validation), the per-backend rise/fall state
// machine, and slow start (a backend that comes back grows its share of slots step by step). Pure:
// time is passed in, no timers, no I/O. The health monitor (core/health-monitor.ts) sends the probes and
// feeds results in; the app turns transitions into backend states and slot moves.

import { LbError } from './errors.js';
import type { HealthRecord, HealthType, HttpCheck, Proto } from '../../db/records.js';

export type { HealthType, HttpCheck } from '../../db/records.js';

export const HEALTH_TYPES: readonly HealthType[] = ['tcp', 'udp', 'http', 'none'];

/** A service's check settings, as validated here and kept by the store (db/records.ts). */
export type HealthSpec = HealthRecord;

/** What an operator may give (any subset; `status` may also be written "200-399"). */
export interface HealthInput {
  type?: unknown;
  intervalMs?: unknown;
  timeoutMs?: unknown;
  rise?: unknown;
  fall?: unknown;
  http?: { path?: unknown; status?: unknown };
  slowStartMs?: unknown;
}

export const HEALTH_DEFAULTS = {
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
  http: { path: '/', status: { min: 200, max: 399 } },
  slowStartMs: 30_000,
} as const;

/** Slow start grows a backend's share in steps this far apart (each step moves the fewest slots). */
export const SLOW_START_STEP_MS = 1_000;

export function defaultHealth(proto: Proto): HealthSpec {
  return {
    type: proto,
    intervalMs: HEALTH_DEFAULTS.intervalMs,
    timeoutMs: HEALTH_DEFAULTS.timeoutMs,
    rise: HEALTH_DEFAULTS.rise,
    fall: HEALTH_DEFAULTS.fall,
    http: { path: HEALTH_DEFAULTS.http.path, status: { ...HEALTH_DEFAULTS.http.status } },
    slowStartMs: HEALTH_DEFAULTS.slowStartMs,
  };
}

function invalid(message: string): never {
  throw new LbError('invalid', message);
}

function wholeNumber(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(`health ${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** "200-399", "200" or {min, max}: an inclusive range of HTTP status codes (100..599). */
export function parseStatusRange(v: unknown): { min: number; max: number } {
  let min: unknown;
  let max: unknown;
  if (typeof v === 'string') {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(v);
    if (!m) invalid(`health http status must be a code or a range like 200-399, got ${JSON.stringify(v)}`);
    min = Number(m[1]);
    max = Number(m[2] ?? m[1]);
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    ({ min, max } = v as { min?: unknown; max?: unknown });
  } else {
    invalid(`health http status must be a code or a range like 200-399, got ${JSON.stringify(v)}`);
  }
  const lo = wholeNumber('http status', min, 100, 599);
  const hi = wholeNumber('http status', max, 100, 599);
  if (hi < lo) invalid(`health http status range ${lo}-${hi} is empty (the first code must not be above the second)`);
  return { min: lo, max: hi };
}

/**
 * Validates health settings: `input` over `base` (the service's current settings, or the
 * defaults for its protocol). Throws LbError('invalid') with one line; never returns a partial result.
 */
export function validateHealth(input: HealthInput | undefined, proto: Proto, base: HealthSpec = defaultHealth(proto)): HealthSpec {
  if (input === undefined) return { ...base, http: { ...base.http, status: { ...base.http.status } } };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) invalid('health must be an object');
  const type = input.type ?? base.type;
  if (typeof type !== 'string' || !(HEALTH_TYPES as readonly string[]).includes(type)) {
    invalid(`health type must be one of ${HEALTH_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  const t = type as HealthType;
  if (t === 'udp' && proto === 'tcp') invalid('a udp health check needs a udp service (use tcp, http or none)');
  if ((t === 'tcp' || t === 'http') && proto === 'udp') invalid(`a ${t} health check needs a tcp service (use udp or none)`);
  const intervalMs = wholeNumber('interval (ms)', input.intervalMs ?? base.intervalMs, 100, 3_600_000);
  const timeoutMs = wholeNumber('timeout (ms)', input.timeoutMs ?? base.timeoutMs, 10, 3_600_000);
  if (timeoutMs >= intervalMs) invalid(`health timeout (${timeoutMs} ms) must be shorter than the interval (${intervalMs} ms)`);
  const rise = wholeNumber('rise', input.rise ?? base.rise, 1, 100);
  const fall = wholeNumber('fall', input.fall ?? base.fall, 1, 100);
  const slowStartMs = wholeNumber('slow start (ms)', input.slowStartMs ?? base.slowStartMs, 0, 3_600_000);
  const h = input.http;
  if (h !== undefined && (typeof h !== 'object' || h === null || Array.isArray(h))) invalid('health http must be an object');
  const path = h?.path ?? base.http.path;
  if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path) || path.length > 1024) {
    invalid(`health http path must start with / and hold no spaces or control characters, got ${JSON.stringify(path)}`);
  }
  const status = h?.status === undefined ? { ...base.http.status } : parseStatusRange(h.status);
  return { type: t, intervalMs, timeoutMs, rise, fall, http: { path, status }, slowStartMs };
}

// ---------------------------------------------------------------------------------------------
// The rise/fall state machine

/** The outcome of one check. `ok` false: a failed check; `detail` says what was seen. */
export interface CheckResult {
  ok: boolean;
  /** 'syn-ack', 'rst', 'timeout', 'icmp port unreachable', 'udp reply', 'no answer', 'http 200', ... */
  detail: string;
  /** Round-trip time of the answer, when there was one. */
  rttMs?: number;
}

export type HealthStatus = 'up' | 'down';

/** One backend's check history. */
export interface BackendHealth {
  status: HealthStatus;
  /** Good checks in a row (since the last failure) and failed checks in a row. */
  good: number;
  bad: number;
  last?: CheckResult & { at: number };
  /** When `status` last changed (or the record was made). */
  since: number;
  /** Set when the status changed by port status (link down): cleared by the next check. */
  reason?: string;
}

export function initialHealth(status: HealthStatus, now: number): BackendHealth {
  return { status, good: 0, bad: 0, since: now };
}

export interface HealthStep {
  health: BackendHealth;
  /** The status changed with this result. */
  changed: HealthStatus | null;
  /** Why, in words (for the event and the backend's state reason). */
  reason?: string;
}

/** Feeds one check result into a backend's history: `fall` failures in a row take an up backend
 * down, `rise` good checks in a row bring a down one up. */
export function stepHealth(h: BackendHealth, spec: Pick<HealthSpec, 'rise' | 'fall'>, r: CheckResult, now: number): HealthStep {
  const good = r.ok ? h.good + 1 : 0;
  const bad = r.ok ? 0 : h.bad + 1;
  const last = { ...r, at: now };
  if (h.status === 'up' && bad >= spec.fall) {
    return {
      health: { status: 'down', good, bad, last, since: now },
      changed: 'down',
      reason: `${bad} failed check${bad === 1 ? '' : 's'} in a row (last: ${r.detail})`,
    };
  }
  if (h.status === 'down' && good >= spec.rise) {
    return {
      health: { status: 'up', good, bad, last, since: now },
      changed: 'up',
      reason: `${good} good check${good === 1 ? '' : 's'} in a row (last: ${r.detail})`,
    };
  }
  const { reason: _drop, ...rest } = h;
  return { health: { ...rest, good, bad, last }, changed: null };
}

/** The switch reported the backend's port down (or deleted): down at once, whatever the counts. */
export function portDown(h: BackendHealth, what: string, now: number): HealthStep {
  const reason = `${what} is down`;
  if (h.status === 'down') return { health: { ...h, good: 0, reason }, changed: null };
  return { health: { ...h, status: 'down', good: 0, since: now, reason }, changed: 'down', reason };
}

// ---------------------------------------------------------------------------------------------
// Check scheduling

/**
 * When a backend's next check is due: checks are spread over the interval by backend id, so a
 * thousand backends on a one-second interval send a steady trickle, not one burst a second.
 */
export function firstCheckAt(backendId: number, intervalMs: number, now: number): number {
  // Multiplicative hash of the id → offset in [0, interval).
  const h = Math.imul(backendId >>> 0, 0x9e3779b1) >>> 0;
  return now + Math.floor((h / 0x1_0000_0000) * intervalMs);
}

/** Classifies the silence after a UDP probe: a port that nothing answers on may still be served
 * (most UDP services answer only real requests), so silence counts as good — unless the backend
 * also stopped answering ARP, which a dead host does. */
export function udpSilence(arpAnsweredRecently: boolean): CheckResult {
  return arpAnsweredRecently ? { ok: true, detail: 'no answer (no ICMP error either)' } : { ok: false, detail: 'no answer to the probe nor to ARP' };
}

/** Whether an HTTP status code is in the expected range. */
export function httpResult(status: number, expected: HttpCheck['status'], rttMs: number): CheckResult {
  const ok = status >= expected.min && status <= expected.max;
  return { ok, detail: `http ${status}${ok ? '' : ` (expected ${expected.min}-${expected.max})`}`, rttMs };
}

// ---------------------------------------------------------------------------------------------
// Slow start

/** The fraction of its weight a slow-starting backend gets at `now` (stepped, 0..1). */
export function slowStartFraction(since: number, slowStartMs: number, now: number, stepMs = SLOW_START_STEP_MS): number {
  if (slowStartMs <= 0) return 1;
  const steps = Math.floor(Math.max(0, now - since) / stepMs);
  return Math.min(1, (steps * stepMs) / slowStartMs);
}

/** Weights are scaled by this so a fraction of a weight stays a whole number (targetCounts wants
 * integers; scaling every weight alike changes no target). */
const WEIGHT_SCALE = 1_000;

export interface WeightedInfo { id: number; weight: number }

/**
 * Effective weights for the slot allocation while some backends slow-start (`fraction` by id, 0..1;
 * ids without one take their full weight). A slow-starting backend with a weight gets at least
 * what one slot takes, so it grows from one slot to its full share. `takers`: ids whose weight
 * counts for new flows (the others stay as they are).
 */
export function slowStartWeights<T extends WeightedInfo>(backends: readonly T[], fraction: ReadonlyMap<number, number>, slots: number): T[] {
  if (fraction.size === 0) return backends.slice();
  let others = 0;
  for (const b of backends) if (!fraction.has(b.id)) others += b.weight * WEIGHT_SCALE;
  return backends.map((b) => {
    const full = b.weight * WEIGHT_SCALE;
    const f = fraction.get(b.id);
    if (f === undefined) return { ...b, weight: full };
    if (b.weight === 0) return { ...b, weight: 0 };
    // floor(slots * w / (others + w)) >= 1  ⇔  w * (slots - 1) >= others.
    const oneSlot = slots > 1 ? Math.ceil(others / (slots - 1)) : 1;
    const w = Math.min(full, Math.max(1, oneSlot, Math.floor(full * f)));
    return { ...b, weight: w };
  });
}
