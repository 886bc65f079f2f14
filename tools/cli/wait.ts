// `--wait`: follow a backend until a drain or removal completes, with a live progress line.
import type { BackendView, ServiceView } from '../../apps/lb/control.js';
import { servicePath, type ApiClient } from './client.js';
import { CliError } from './errors.js';

export type WaitGoal = 'drained' | 'removed';

export interface Progress {
  state: BackendView['state'] | 'gone';
  /** Slots the backend still owns or is giving away. */
  slotsLeft: number;
  slotsMoved: number;
  /** Live connections the switches hold for it (learned entries or pins, whichever is more). */
  connectionsLeft: number;
}

export function progressOf(svc: ServiceView, key: string, initialSlots: number): Progress {
  const b = svc.backends.find((x) => x.key === key);
  if (!b) return { state: 'gone', slotsLeft: 0, slotsMoved: initialSlots, connectionsLeft: 0 };
  const owned = svc.slotOwners.filter((o) => o === key).length;
  const leaving = svc.migrations.filter((m) => m.from === key && svc.slotOwners[m.slot] !== key).length;
  const slotsLeft = owned + leaving;
  return { state: b.state, slotsLeft, slotsMoved: Math.max(0, initialSlots - slotsLeft), connectionsLeft: Math.max(b.connections, b.pins) };
}

export function progressLine(key: string, p: Progress, elapsedMs: number): string {
  const state = p.state === 'gone' ? 'removed' : p.state;
  return `${key}  ${state}  ·  slots ${p.slotsLeft} left, ${p.slotsMoved} moved  ·  connections ${p.connectionsLeft} left  ·  ${(elapsedMs / 1000).toFixed(1)}s`;
}

export function isDone(goal: WaitGoal, p: Progress): boolean {
  if (goal === 'removed') return p.state === 'gone' || p.state === 'removed';
  return p.state === 'drained' || p.state === 'gone' || p.state === 'removed';
}

export interface WaitOptions {
  client: ApiClient;
  service: string;
  key: string;
  goal: WaitGoal;
  out: NodeJS.WriteStream;
  pollMs?: number;
  timeoutMs?: number;
  /** Slots the backend had before the change (read before acting); default: the first reading. */
  initialSlots?: number;
}

/** Polls until the goal is met; returns the last backend view (undefined once it is gone). */
export async function waitForBackend(o: WaitOptions): Promise<{ progress: Progress; backend: BackendView | undefined }> {
  const started = Date.now();
  const tty = o.out.isTTY === true;
  let initialSlots = o.initialSlots;
  let lastLine = '';
  for (;;) {
    let svc: ServiceView;
    try {
      svc = await o.client.get<ServiceView>(servicePath(o.service));
    } catch (err) {
      // The service itself went away: so did the backend.
      if (err instanceof CliError && /no service/i.test(err.message) && o.goal === 'removed') {
        return { progress: { state: 'gone', slotsLeft: 0, slotsMoved: initialSlots ?? 0, connectionsLeft: 0 }, backend: undefined };
      }
      throw err;
    }
    const b = svc.backends.find((x) => x.key === o.key);
    initialSlots ??= progressOf(svc, o.key, 0).slotsLeft;
    const p = progressOf(svc, o.key, initialSlots);
    const line = progressLine(o.key, p, Date.now() - started);
    if (tty) o.out.write(`\r\x1b[K${line}`);
    else if (line.replace(/\s+·\s+[\d.]+s$/, '') !== lastLine.replace(/\s+·\s+[\d.]+s$/, '')) o.out.write(`${line}\n`);
    lastLine = line;
    if (isDone(o.goal, p)) {
      if (tty) o.out.write('\n');
      return { progress: p, backend: b };
    }
    if (o.goal === 'drained' && p.state === 'active') {
      if (tty) o.out.write('\n');
      throw new CliError(`the drain of ${o.key} was cancelled: the backend is active again`);
    }
    if (o.timeoutMs !== undefined && Date.now() - started > o.timeoutMs) {
      if (tty) o.out.write('\n');
      throw new CliError(`gave up waiting after ${Math.round(o.timeoutMs / 1000)} s: ${o.key} is ${p.state} with ${p.connectionsLeft} connections left (it carries on without us)`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
  }
}
