// What an event says, in words: one module for the CLI (tools/cli/format.ts) and the live view
// (apps/lb/web/ui/app.js imports the compiled file from /lib/event-text.js), so the two never
// tell an event differently. It runs in the browser as it is: no runtime imports at all (types
// only, which compile away), no node modules; that is also why it switches on the event type
// with a `never` check instead of ts-pattern, which a browser could not import by name.
import type { HealthSpec } from './health.js';
import type { LbEvent, StoredEvent } from './model.js';

/** How an event reads at a glance (the live view's colour). */
export type EventTone = 'good' | 'warn' | 'bad' | 'info';

/** "tcp every 2000 ms (timeout 1000 ms), rise 2, fall 3, slow start 30000 ms" */
export function describeHealth(h: HealthSpec): string {
  if (h.type === 'none') return 'none (backends are never checked)';
  const what = h.type === 'http' ? `http GET ${h.http.path} expecting ${h.http.status.min}-${h.http.status.max}` : h.type;
  return `${what} every ${h.intervalMs} ms (timeout ${h.timeoutMs} ms), rise ${h.rise}, fall ${h.fall}, slow start ${h.slowStartMs ? `${h.slowStartMs} ms` : 'off'}`;
}

/** A newer server's event type this page does not know yet: say its type rather than nothing. */
function unknownEvent(ev: never): string {
  return String((ev as { type?: unknown }).type);
}

/** One line saying what happened. */
export function eventText(ev: LbEvent): string {
  switch (ev.type) {
    case 'service_added': return `service ${ev.service} added`;
    case 'service_removed': return `service ${ev.service} removed`;
    case 'backend_added': return `${ev.service}: backend ${ev.backend} added`;
    case 'backend_state': return `${ev.service}: backend ${ev.backend} ${ev.from} → ${ev.to}${ev.reason ? ` (${ev.reason})` : ''}`;
    case 'backend_weight': return `${ev.service}: backend ${ev.backend} weight ${ev.from} → ${ev.to}`;
    case 'backend_resolved': return `${ev.service}: backend ${ev.backend} is at ${ev.mac} on switch ${ev.dpid} port ${ev.port}`;
    case 'migration_started': return `${ev.service}: migrating ${ev.slots.length} slot${ev.slots.length === 1 ? '' : 's'} (${ev.reason})`;
    case 'slot_moved': return `${ev.service}: slot ${ev.slot} ${ev.from ?? 'none'} → ${ev.to ?? 'none'}`;
    case 'migration_done': return `${ev.service}: migration done`;
    case 'switch_up': return `switch ${ev.dpid} connected (OpenFlow 1.${ev.version - 1})`;
    case 'switch_down': return `switch ${ev.dpid} disconnected`;
    case 'switch_profile': return `switch ${ev.dpid} profile set to ${ev.profile}`;
    case 'backend_health': return `${ev.service}: backend ${ev.backend} health ${ev.health} by ${ev.check} checks (${ev.reason})`;
    case 'backend_slow_start': return `${ev.service}: backend ${ev.backend} slow start ${ev.done ? 'done' : 'step'}: ${ev.slots} of ${ev.target} slots`;
    case 'service_health': return `${ev.service}: health check set to ${describeHealth(ev.health)}`;
    case 'error': return `error${ev.service ? ` in ${ev.service}` : ''}: ${ev.message}`;
    default: return unknownEvent(ev);
  }
}

export function eventTone(ev: LbEvent): EventTone {
  switch (ev.type) {
    case 'service_added':
    case 'backend_added':
    case 'migration_done':
    case 'switch_up':
      return 'good';
    case 'service_removed':
    case 'migration_started':
      return 'warn';
    case 'switch_down':
    case 'error':
      return 'bad';
    case 'backend_state':
      return ev.to === 'active' ? 'good' : ev.to === 'down' ? 'bad' : ev.to === 'draining' || ev.to === 'removed' ? 'warn' : 'info';
    case 'backend_health':
      return ev.health === 'up' ? 'good' : 'bad';
    case 'backend_slow_start':
      return ev.done ? 'good' : 'info';
    case 'backend_weight':
    case 'backend_resolved':
    case 'slot_moved':
    case 'switch_profile':
    case 'service_health':
      return 'info';
    default:
      unknownEvent(ev);
      return 'info';
  }
}

/** Consecutive slot moves of one migration (same service, from, to), read as one line. */
export interface SlotMoveGroup { first: StoredEvent; last: StoredEvent; service: string; from: string | null; to: string | null; slots: number[] }

/** An event, or a run of slot moves: what one line of an event list shows. */
export type EventLine = StoredEvent | SlotMoveGroup;

/** Groups consecutive slot moves (in whatever order `events` come: oldest or newest first). */
export function groupSlotMoves(events: readonly StoredEvent[]): EventLine[] {
  const out: EventLine[] = [];
  for (const e of events) {
    const x = e.event;
    const prev = out.at(-1);
    if (x.type === 'slot_moved' && prev && 'slots' in prev && prev.service === x.service && prev.from === x.from && prev.to === x.to) {
      prev.slots.push(x.slot);
      prev.last = e;
    } else if (x.type === 'slot_moved') {
      out.push({ first: e, last: e, service: x.service, from: x.from, to: x.to, slots: [x.slot] });
    } else {
      out.push(e);
    }
  }
  return out;
}

/** "0-3,7,9-10" */
export function slotRanges(nums: readonly number[]): string {
  const s = [...nums].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j;
  }
  return parts.join(',');
}

/** The text of one line: an event's, or a run of slot moves'. */
export function lineText(l: EventLine): string {
  if (!('slots' in l)) return eventText(l.event);
  if (l.slots.length === 1) return eventText(l.first.event);
  return `${l.service}: ${l.slots.length} slots ${l.from ?? 'none'} → ${l.to ?? 'none'} (slots ${slotRanges(l.slots)})`;
}

export function lineTone(l: EventLine): EventTone {
  return 'slots' in l ? 'info' : eventTone(l.event);
}
