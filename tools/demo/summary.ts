// The demo's one-line summaries, from the clients' latest progress reports and the service's
// backends: connections held, failures so far, replies per backend since the previous line.
// Pure: the demo feeds it what it read; tests can feed it anything.
import type { BackendView } from '../../apps/lb/control.js';
import type { FinalReport, ProgressReport } from '../traffic/stats.js';

/** Replies per backend name (long connections' replies plus new connections' answers), cumulative. */
export function repliesByBackend(p: Pick<ProgressReport, 'long' | 'newConns'>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (rec: Record<string, number>): void => {
    for (const [name, n] of Object.entries(rec)) out.set(name, (out.get(name) ?? 0) + n);
  };
  add(p.long.repliesByBackend);
  add(p.newConns.byBackend);
  return out;
}

export interface ClientTotals {
  longOpen: number;
  longConfigured: number;
  newOk: number;
  failures: number;
  replies: Map<string, number>;
}

/** Sums the latest report of every client (a client without a report yet counts as nothing). */
export function totals(latest: readonly (ProgressReport | undefined)[], longPerClient: number): ClientTotals {
  const t: ClientTotals = { longOpen: 0, longConfigured: longPerClient * latest.length, newOk: 0, failures: 0, replies: new Map() };
  for (const p of latest) {
    if (!p) continue;
    t.longOpen += p.long.open;
    t.newOk += p.newConns.ok;
    t.failures += p.totalFailures;
    for (const [name, n] of repliesByBackend(p)) t.replies.set(name, (t.replies.get(name) ?? 0) + n);
  }
  return t;
}

export interface SummaryInput {
  elapsedMs: number;
  now: ClientTotals;
  previous?: ClientTotals;
  /** Backend server names in display order (b1, b2, …), so silent backends show as 0. */
  names: readonly string[];
  /** The service's backends, when the API could be read. */
  backends?: readonly BackendView[];
  /** Backend name for a backend IP. */
  nameOf: (ip: string) => string;
}

function backendPart(b: BackendView, nameOf: (ip: string) => string): string {
  const parts = [`${nameOf(b.ip)} ${b.state}`, `${b.slots} slots`];
  if (b.slotsIncoming > 0) parts.push(`+${b.slotsIncoming} incoming`);
  if (b.pins > 0) parts.push(`${b.pins} pins`);
  return parts.join(' ');
}

/** e.g. "[  12s] conns 40/40 open, new 118 ok, failures 0 | replies b1 80 b2 76 b3 84 b4 0 | pool: b1 active 22 slots, …" */
export function summaryLine(s: SummaryInput): string {
  const secs = `${Math.round(s.elapsedMs / 1000)}s`.padStart(5);
  const replies = s.names.map((n) => `${n} ${(s.now.replies.get(n) ?? 0) - (s.previous?.replies.get(n) ?? 0)}`).join(' ');
  const others = [...s.now.replies.keys()].filter((n) => !s.names.includes(n));
  const extra = others.length ? ` ${others.map((n) => `${n} ${(s.now.replies.get(n) ?? 0) - (s.previous?.replies.get(n) ?? 0)}`).join(' ')}` : '';
  const pool = s.backends ? ` | pool: ${s.backends.filter((b) => b.state !== 'removed').map((b) => backendPart(b, s.nameOf)).join(', ') || 'empty'}` : '';
  return `[${secs}] conns ${s.now.longOpen}/${s.now.longConfigured} open, new ${s.now.newOk} ok, failures ${s.now.failures} | replies ${replies}${extra}${pool}`;
}

/** One line per client at the end. */
export function finalLine(client: string, f: FinalReport): string {
  const replies = Object.entries(f.long.repliesByBackend).map(([n, r]) => `${n} ${r}`).join(' ');
  const verdict = f.ok ? 'ok' : `NOT OK: ${f.problems.join('; ')}`;
  return `client ${client}: ${f.totalFailures} failures, ${f.long.opened} long conns opened (${f.long.reopened} re-opened), ${f.newConns.ok} new conns ok, long-conn replies ${replies || 'none'} — ${verdict}`;
}
