// `holdfast apply`: the fewest changes that make the live state equal to a configuration file.
// Pure: the desired state (config-file.ts) and the live services in, an ordered plan out. The CLI
// prints it (--dry-run) or carries it out step by step through the management API.
//
// Order matters for connections: new services and backends first (capacity arrives before any
// leaves), then settings and weights, then drains and removals. A backend missing from the file is
// removed gracefully (drained, then deleted by the controller once its connections are gone)
// unless its service says `removeMissingBackends: now`.

import type { BackendView, ServiceSettings, ServiceView } from './control.js';
import type { ServiceSpec } from './model.js';
import type { DesiredConfig, DesiredService, Problem } from './config-file.js';

/** Service settings that can change on a live service (the others fix the group and its hash). */
export const MUTABLE_SERVICE_SETTINGS = ['switches', 'tracking', 'maxQuerySlots', 'pinIdleTimeout', 'migration', 'drainDeadlineMs'] as const;
export type { ServiceSettings };
const FIXED_SERVICE_SETTINGS = ['vip', 'port', 'proto', 'mode', 'slots'] as const;

export type PlanStep =
  | { op: 'add-service'; service: string; spec: ServiceSpec }
  | { op: 'update-service'; service: string; settings: ServiceSettings; changes: string[] }
  | { op: 'add-backend'; service: string; key: string; spec: { ip: string; port?: number; weight: number; mac?: string; switchPort?: number } }
  | { op: 'set-weight'; service: string; key: string; from: number; to: number }
  | { op: 'enable-backend'; service: string; key: string }
  | { op: 'drain-backend'; service: string; key: string }
  | { op: 'remove-backend'; service: string; key: string; now: boolean }
  | { op: 'remove-service'; service: string };

export interface Plan {
  steps: PlanStep[];
  /** Things the plan cannot do in this run, said once (e.g. a service waiting for its drains). */
  notes: string[];
  /** The file asks for something impossible against this live state: nothing may be applied. */
  problems: Problem[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const show = (v: unknown): string => (typeof v === 'object' ? JSON.stringify(v) : String(v));

export function planApply(desired: DesiredConfig, live: readonly ServiceView[]): Plan {
  const plan: Plan = { steps: [], notes: [], problems: [] };
  const liveByName = new Map(live.map((s) => [s.name, s]));
  const adds: PlanStep[] = [];
  const changes: PlanStep[] = [];
  const removals: PlanStep[] = [];

  for (const d of desired.services) {
    const cur = liveByName.get(d.spec.name);
    if (!cur) {
      adds.push({ op: 'add-service', service: d.spec.name, spec: d.spec });
      for (const b of d.backends) {
        adds.push({ op: 'add-backend', service: d.spec.name, key: b.key, spec: b.spec });
        if (b.state === 'drained') changes.push({ op: 'drain-backend', service: d.spec.name, key: b.key });
      }
      continue;
    }
    planService(d, cur, plan, adds, changes, removals);
  }

  const wanted = new Set(desired.services.map((s) => s.spec.name));
  for (const s of live) {
    if (wanted.has(s.name)) continue;
    const staying = s.backends.filter((b) => b.state !== 'removed');
    if (staying.length === 0) {
      removals.push({ op: 'remove-service', service: s.name });
      continue;
    }
    for (const b of staying) {
      if (!b.removeWhenDrained) removals.push({ op: 'remove-backend', service: s.name, key: b.key, now: false });
    }
    plan.notes.push(`service ${s.name} is not in the file: its backends are drained and removed; apply again once they are gone to remove the service`);
  }
  plan.steps = [...adds, ...changes, ...removals];
  return plan;
}

function planService(d: DesiredService, cur: ServiceView, plan: Plan, adds: PlanStep[], changes: PlanStep[], removals: PlanStep[]): void {
  const name = d.spec.name;
  for (const k of FIXED_SERVICE_SETTINGS) {
    if (!same(d.spec[k], cur[k])) {
      plan.problems.push({
        line: d.fieldLines[k] ?? d.line,
        message: `service ${name}: ${k} cannot change on a live service (${show(cur[k])} → ${show(d.spec[k])}): remove the service from the file, apply, then add it back`,
      });
    }
  }
  const settings: ServiceSettings = {};
  const what: string[] = [];
  for (const k of MUTABLE_SERVICE_SETTINGS) {
    if (same(d.spec[k], cur[k])) continue;
    (settings as Record<string, unknown>)[k] = d.spec[k];
    what.push(`${k} ${show(cur[k])} → ${show(d.spec[k])}`);
  }
  if (what.length > 0) changes.push({ op: 'update-service', service: name, settings, changes: what });

  const liveByKey = new Map<string, BackendView>(cur.backends.filter((b) => b.state !== 'removed').map((b) => [b.key, b]));
  for (const b of d.backends) {
    const lb = liveByKey.get(b.key);
    if (!lb) {
      adds.push({ op: 'add-backend', service: name, key: b.key, spec: b.spec });
      if (b.state === 'drained') changes.push({ op: 'drain-backend', service: name, key: b.key });
      continue;
    }
    if (lb.removeWhenDrained) {
      plan.notes.push(`backend ${name} ${b.key} is being removed (draining): apply again once it is gone to add it back`);
      continue;
    }
    if (lb.mac !== b.spec.mac || lb.switchPort !== b.spec.switchPort) {
      plan.problems.push({
        line: b.line,
        message: `service ${name}, backend ${b.key}: mac and switchPort cannot change in place (${lb.mac ?? 'none'}/${lb.switchPort ?? 'none'} → ${b.spec.mac ?? 'none'}/${b.spec.switchPort ?? 'none'}): remove it, apply, then add it back`,
      });
      continue;
    }
    if (lb.weight !== b.spec.weight) changes.push({ op: 'set-weight', service: name, key: b.key, from: lb.weight, to: b.spec.weight });
    const out = lb.state === 'draining' || lb.state === 'drained';
    if (b.state === 'active' && out) changes.push({ op: 'enable-backend', service: name, key: b.key });
    if (b.state === 'drained' && !out) changes.push({ op: 'drain-backend', service: name, key: b.key });
  }
  const inFile = new Set(d.backends.map((b) => b.key));
  for (const lb of liveByKey.values()) {
    if (inFile.has(lb.key) || lb.removeWhenDrained) continue;
    removals.push({ op: 'remove-backend', service: name, key: lb.key, now: d.removeMissingBackends === 'now' });
  }
}

/** One line per step, terraform-style: `+` added, `~` changed, `-` removed. */
export function formatPlan(plan: Plan): string {
  const lines = plan.steps.map((s): string => {
    switch (s.op) {
      case 'add-service': return `+ service ${s.service}: ${s.spec.vip}:${s.spec.port}/${s.spec.proto} ${s.spec.mode}, ${s.spec.slots} slots`;
      case 'update-service': return `~ service ${s.service}: ${s.changes.join(', ')}`;
      case 'add-backend': return `+ backend ${s.service} ${s.key} (weight ${s.spec.weight})`;
      case 'set-weight': return `~ backend ${s.service} ${s.key}: weight ${s.from} → ${s.to}`;
      case 'enable-backend': return `~ backend ${s.service} ${s.key}: enable`;
      case 'drain-backend': return `~ backend ${s.service} ${s.key}: drain`;
      case 'remove-backend': return s.now
        ? `- backend ${s.service} ${s.key}: remove now (removeMissingBackends: now; its connections break)`
        : `- backend ${s.service} ${s.key}: drain, then remove (its connections finish first)`;
      case 'remove-service': return `- service ${s.service}`;
    }
  });
  for (const n of plan.notes) lines.push(`! ${n}`);
  if (plan.steps.length === 0) lines.push('no changes: the live state equals the file');
  else lines.push(`plan: ${count(plan, (s) => s.op.startsWith('add'))} to add, ${count(plan, (s) => !s.op.startsWith('add') && !s.op.startsWith('remove'))} to change, ${count(plan, (s) => s.op.startsWith('remove'))} to remove`);
  return lines.join('\n');
}

function count(plan: Plan, pred: (s: PlanStep) => boolean): number {
  return plan.steps.filter(pred).length;
}
