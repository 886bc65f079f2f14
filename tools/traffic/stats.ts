// The client's accounting, apart from sockets: every event the load generator sees is recorded
// here, and the progress and final reports are built from these counts only, so what the report
// says is what happened. A failure is counted once, in one workload, with its details (up to a cap;
// the counts stay exact past the cap).

export type Workload = 'long' | 'new' | 'udp';

export type FailureKind =
  /** Connection attempt refused, unreachable or not completed within the stall timeout. */
  | 'connect'
  /** ECONNRESET, EPIPE or another socket error on an established connection. */
  | 'reset'
  /** The peer closed (FIN) a connection we had not finished with. */
  | 'peer-close'
  /** A long connection's reply did not come within the stall timeout. */
  | 'stall'
  /** A short connection got no reply within the stall timeout. */
  | 'timeout'
  /** A reply from another backend than the flow's first reply. */
  | 'wrong-backend'
  /** A reply that is not "<backend> <our request>". */
  | 'bad-echo'
  /** A UDP reply from another address than the target. */
  | 'wrong-source'
  /** A connection that did not close cleanly (FIN both ways) at the end of the run. */
  | 'close'
  /** A UDP send or socket error. */
  | 'socket-error';

export interface Failure {
  workload: Workload;
  kind: FailureKind;
  /** Connection or flow index within its workload. */
  conn: number;
  /** Milliseconds since the client started. */
  tMs: number;
  at: string;
  seq?: number;
  /** Backend seen (from the reply, or the flow's backend so far). */
  backend?: string;
  /** What was expected instead (backend name or request line). */
  expected?: string;
  detail?: string;
}

export type FailureInput = Omit<Failure, 'tMs' | 'at'>;

type Counts = Map<string, number>;

function bump(m: Counts, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

/** Counts as a plain object with sorted keys, so reports are stable. */
export function countsObject(m: Counts): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface LatencySummary { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number }

/** Round-trip times; keeps a uniform sample once more than `cap` were seen (reservoir sampling). */
export class Latencies {
  private readonly samples: number[] = [];
  private seen = 0;
  private max = 0;

  constructor(private readonly cap = 100_000, private readonly random: () => number = Math.random) {}

  add(ms: number): void {
    this.seen++;
    if (ms > this.max) this.max = ms;
    if (this.samples.length < this.cap) this.samples.push(ms);
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < this.cap) this.samples[i] = ms;
    }
  }

  summary(): LatencySummary {
    const s = [...this.samples].sort((a, b) => a - b);
    const q = (p: number): number => (s.length === 0 ? 0 : round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!));
    return { count: this.seen, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: round(this.max) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Failures of one workload: exact counts by kind, details up to a cap, and those not yet reported. */
export class FailureLog {
  count = 0;
  readonly byKind: Counts = new Map();
  readonly details: Failure[] = [];
  dropped = 0;
  private unreported: Failure[] = [];
  private unreportedDropped = 0;

  constructor(private readonly maxDetails: number, private readonly maxPerReport = 20) {}

  add(f: Failure): void {
    this.count++;
    bump(this.byKind, f.kind);
    if (this.details.length < this.maxDetails) this.details.push(f);
    else this.dropped++;
    if (this.unreported.length < this.maxPerReport) this.unreported.push(f);
    else this.unreportedDropped++;
  }

  kind(k: FailureKind): number {
    return this.byKind.get(k) ?? 0;
  }

  /** The failure fields of a workload's final summary. */
  summary(): FailureSummary {
    return { failuresByKind: countsObject(this.byKind), failures: this.details, failuresDropped: this.dropped };
  }

  /** Failures since the last call (capped), and how many more there were. */
  takeUnreported(): { failures: Failure[]; more: number } {
    const out = { failures: this.unreported, more: this.unreportedDropped };
    this.unreported = [];
    this.unreportedDropped = 0;
    return out;
  }
}

/** Every workload's final failures: exact counts by kind, the details kept, how many were not kept. */
export interface FailureSummary {
  failuresByKind: Record<string, number>;
  failures: Failure[];
  failuresDropped: number;
}

export interface LongSummary extends FailureSummary {
  configured: number;
  /** Connections established (including re-opens after a failure). */
  opened: number;
  /** Connection attempts made to replace a failed connection. */
  reopened: number;
  /** Currently established. */
  open: number;
  closedCleanly: number;
  requests: number;
  replies: number;
  repliesByBackend: Record<string, number>;
  /** Established connections by the backend of their first reply. */
  connsByBackend: Record<string, number>;
  stickinessViolations: number;
  failureCount: number;
  latency: LatencySummary;
}

export interface NewConnSummary extends FailureSummary {
  rate: number;
  started: number;
  ok: number;
  failed: number;
  /** Not started because --max-inflight connections were already in flight. */
  skipped: number;
  inFlight: number;
  byBackend: Record<string, number>;
  latency: LatencySummary;
  /** Connections that succeeded but took longer than `overMs` (a SYN that waited for a controller,
   * then a retransmission): when they started (epoch ms, details capped like failures). */
  slow: SlowNewConns;
}

export const SLOW_NEW_MS = 1000;

export interface SlowNewConns { overMs: number; count: number; details: { startedAt: number; ms: number }[] }

export interface UdpSummary extends FailureSummary {
  flows: number;
  sent: number;
  replies: number;
  /** Replies that came after their timeout was counted (still checked). */
  late: number;
  /** Datagrams with no reply within the stall timeout: loss, not a failure. */
  timeouts: number;
  /** timeouts / sent (0 when nothing was sent); late replies still count as lost here. */
  lossRate: number;
  repliesByBackend: Record<string, number>;
  flowsByBackend: Record<string, number>;
  stickinessViolations: number;
  failed: number;
  latency: LatencySummary;
}

export interface ProgressReport {
  type: 'progress';
  tMs: number;
  totalFailures: number;
  long: { open: number; opened: number; replies: number; repliesByBackend: Record<string, number>; failures: number; stickinessViolations: number };
  newConns: { started: number; ok: number; failed: number; skipped: number; inFlight: number; byBackend: Record<string, number> };
  udp: { sent: number; replies: number; timeouts: number; repliesByBackend: Record<string, number>; failed: number; stickinessViolations: number };
  /** Failures since the previous report, all workloads (capped per workload; newFailuresMore counts the rest). */
  newFailures: Failure[];
  newFailuresMore: number;
}

export interface FinalReport {
  type: 'final';
  /** No failures and every requested workload had at least one success. */
  ok: boolean;
  totalFailures: number;
  /** Why ok is false, one line each. */
  problems: string[];
  durationMs: number;
  stoppedBy: StopReason;
  long: LongSummary;
  newConns: NewConnSummary;
  udp: UdpSummary;
}

export type StopReason = 'duration' | 'SIGTERM' | 'SIGINT';

export interface StatsConfig { long: number; newRate: number; udpFlows: number; maxDetails?: number }

export class TrafficStats {
  readonly longFailures: FailureLog;
  readonly newFailures: FailureLog;
  readonly udpFailures: FailureLog;

  private readonly long = { opened: 0, reopened: 0, open: 0, closedCleanly: 0, requests: 0, replies: 0, repliesByBackend: new Map() as Counts, connsByBackend: new Map() as Counts, latency: new Latencies() };
  private readonly news = { started: 0, ok: 0, skipped: 0, inFlight: 0, byBackend: new Map() as Counts, latency: new Latencies(), slow: { overMs: SLOW_NEW_MS, count: 0, details: [] } as SlowNewConns };
  private readonly maxDetails: number;
  private readonly udp = { sent: 0, replies: 0, late: 0, timeouts: 0, repliesByBackend: new Map() as Counts, flowsByBackend: new Map() as Counts, latency: new Latencies() };

  constructor(readonly config: StatsConfig, private readonly now: () => number = () => performance.now(), private readonly startedAt = now()) {
    const max = config.maxDetails ?? 200;
    this.maxDetails = max;
    this.longFailures = new FailureLog(max);
    this.newFailures = new FailureLog(max);
    this.udpFailures = new FailureLog(max);
  }

  elapsedMs(): number {
    return Math.round(this.now() - this.startedAt);
  }

  /** Records a failure and returns it with its time, for immediate logging. */
  failure(f: FailureInput): Failure {
    const full: Failure = { ...f, tMs: this.elapsedMs(), at: new Date().toISOString() };
    this.log(f.workload).add(full);
    if (f.workload === 'new') this.news.inFlight--;
    return full;
  }

  private log(w: Workload): FailureLog {
    return w === 'long' ? this.longFailures : w === 'new' ? this.newFailures : this.udpFailures;
  }

  // ---- long connections ----
  longAttempt(reopen: boolean): void {
    if (reopen) this.long.reopened++;
  }
  longOpened(): void {
    this.long.opened++;
    this.long.open++;
  }
  /** A connection that was established is gone (cleanly or not). */
  longGone(clean: boolean): void {
    this.long.open--;
    if (clean) this.long.closedCleanly++;
  }
  longRequest(): void {
    this.long.requests++;
  }
  /** A correct reply; first says it was the connection's first, which fixes its backend. */
  longReply(backend: string, first: boolean, rttMs: number): void {
    this.long.replies++;
    bump(this.long.repliesByBackend, backend);
    if (first) bump(this.long.connsByBackend, backend);
    this.long.latency.add(rttMs);
  }

  // ---- new (short) connections: every started one ends in exactly one of newOk or failure ----
  newStarted(): void {
    this.news.started++;
    this.news.inFlight++;
  }
  newSkipped(): void {
    this.news.skipped++;
  }
  newOk(backend: string, rttMs: number): void {
    this.news.ok++;
    this.news.inFlight--;
    bump(this.news.byBackend, backend);
    this.news.latency.add(rttMs);
    if (rttMs > this.news.slow.overMs) {
      this.news.slow.count++;
      if (this.news.slow.details.length < this.maxDetails) this.news.slow.details.push({ startedAt: Math.round(Date.now() - rttMs), ms: Math.round(rttMs) });
    }
  }
  get newInFlight(): number {
    return this.news.inFlight;
  }

  // ---- UDP flows ----
  udpSent(): void {
    this.udp.sent++;
  }
  udpTimeout(): void {
    this.udp.timeouts++;
  }
  udpReply(backend: string, first: boolean, late: boolean, rttMs: number): void {
    this.udp.replies++;
    if (late) this.udp.late++;
    bump(this.udp.repliesByBackend, backend);
    if (first) bump(this.udp.flowsByBackend, backend);
    this.udp.latency.add(rttMs);
  }

  get totalFailures(): number {
    return this.longFailures.count + this.newFailures.count + this.udpFailures.count;
  }

  progress(): ProgressReport {
    const taken = [this.longFailures, this.newFailures, this.udpFailures].map((l) => l.takeUnreported());
    return {
      type: 'progress',
      tMs: this.elapsedMs(),
      totalFailures: this.totalFailures,
      long: { open: this.long.open, opened: this.long.opened, replies: this.long.replies, repliesByBackend: countsObject(this.long.repliesByBackend), failures: this.longFailures.count, stickinessViolations: this.longFailures.kind('wrong-backend') },
      newConns: { started: this.news.started, ok: this.news.ok, failed: this.newFailures.count, skipped: this.news.skipped, inFlight: this.news.inFlight, byBackend: countsObject(this.news.byBackend) },
      udp: { sent: this.udp.sent, replies: this.udp.replies, timeouts: this.udp.timeouts, repliesByBackend: countsObject(this.udp.repliesByBackend), failed: this.udpFailures.count, stickinessViolations: this.udpFailures.kind('wrong-backend') },
      newFailures: taken.flatMap((t) => t.failures).sort((a, b) => a.tMs - b.tMs),
      newFailuresMore: taken.reduce((n, t) => n + t.more, 0),
    };
  }

  final(stoppedBy: StopReason): FinalReport {
    const { config } = this;
    const long: LongSummary = {
      configured: config.long, opened: this.long.opened, reopened: this.long.reopened, open: this.long.open, closedCleanly: this.long.closedCleanly,
      requests: this.long.requests, replies: this.long.replies, repliesByBackend: countsObject(this.long.repliesByBackend), connsByBackend: countsObject(this.long.connsByBackend),
      stickinessViolations: this.longFailures.kind('wrong-backend'), failureCount: this.longFailures.count,
      ...this.longFailures.summary(), latency: this.long.latency.summary(),
    };
    const newConns: NewConnSummary = {
      rate: config.newRate, started: this.news.started, ok: this.news.ok, failed: this.newFailures.count, skipped: this.news.skipped, inFlight: this.news.inFlight,
      byBackend: countsObject(this.news.byBackend), ...this.newFailures.summary(), latency: this.news.latency.summary(),
      slow: { ...this.news.slow, details: [...this.news.slow.details] },
    };
    const udp: UdpSummary = {
      flows: config.udpFlows, sent: this.udp.sent, replies: this.udp.replies, late: this.udp.late, timeouts: this.udp.timeouts,
      lossRate: this.udp.sent === 0 ? 0 : Math.round((this.udp.timeouts / this.udp.sent) * 10_000) / 10_000,
      repliesByBackend: countsObject(this.udp.repliesByBackend), flowsByBackend: countsObject(this.udp.flowsByBackend),
      stickinessViolations: this.udpFailures.kind('wrong-backend'), failed: this.udpFailures.count,
      ...this.udpFailures.summary(), latency: this.udp.latency.summary(),
    };
    const problems = finalProblems(config, long, newConns, udp);
    return { type: 'final', ok: problems.length === 0, totalFailures: this.totalFailures, problems, durationMs: this.elapsedMs(), stoppedBy, long, newConns, udp };
  }
}

/** Everything that makes a run not ok: failures, and requested workloads that never succeeded. */
export function finalProblems(config: StatsConfig, long: LongSummary, newConns: NewConnSummary, udp: UdpSummary): string[] {
  const p: string[] = [];
  const kinds = (o: Record<string, number>): string => Object.entries(o).map(([k, n]) => `${n} ${k}`).join(', ');
  if (long.failureCount > 0) p.push(`long: ${long.failureCount} failures (${kinds(long.failuresByKind)})`);
  if (newConns.failed > 0) p.push(`newConns: ${newConns.failed} failures (${kinds(newConns.failuresByKind)})`);
  if (udp.failed > 0) p.push(`udp: ${udp.failed} failures (${kinds(udp.failuresByKind)})`);
  if (config.long > 0 && long.replies === 0) p.push(`long: no replies on ${config.long} configured connections`);
  if (config.newRate > 0 && newConns.ok === 0) p.push(`newConns: no successful connection of ${newConns.started} started`);
  if (config.udpFlows > 0 && udp.replies === 0) p.push(`udp: no replies to ${udp.sent} datagrams`);
  if (newConns.inFlight !== 0) p.push(`newConns: ${newConns.inFlight} connections unaccounted for at the end`);
  if (long.open !== 0) p.push(`long: ${long.open} connections still open at the end`);
  return p;
}

/** One line for stderr, so a failure is visible the moment it happens. */
export function formatFailure(f: Failure): string {
  const parts = [`FAILURE ${f.workload}#${f.conn} ${f.kind} t=${f.tMs}ms`];
  if (f.seq !== undefined) parts.push(`seq=${f.seq}`);
  if (f.backend !== undefined) parts.push(`backend=${f.backend}`);
  if (f.expected !== undefined) parts.push(`expected=${JSON.stringify(f.expected)}`);
  if (f.detail !== undefined) parts.push(f.detail);
  return parts.join(' ');
}

/** The next gap of a periodic sender: intervalMs varied uniformly by ±jitter (r in [0,1)). */
export function jitteredMs(intervalMs: number, jitter: number, r: number): number {
  return Math.max(1, Math.round(intervalMs * (1 + jitter * (2 * r - 1))));
}

/** When long connection i (of n) opens, spread evenly over staggerMs. */
export function staggerOffsetMs(i: number, n: number, staggerMs: number): number {
  return n <= 0 ? 0 : Math.floor((i * staggerMs) / n);
}

/** How many new connections are due by elapsedMs at rate per second, given how many were already scheduled (started or skipped). */
export function newConnsDue(elapsedMs: number, rate: number, scheduled: number): number {
  return Math.max(0, Math.floor((elapsedMs * rate) / 1000) - scheduled);
}
