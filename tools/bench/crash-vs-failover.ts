// One controller crashing against a cluster losing its leader (issue 13), side by side in one run
// so the ratios survive a noisy machine. Every scenario is the same `openflow13` nat service on a
// real Open vSwitch (tools/rig: the rigs the integration tests use): three backends, 200 long TCP
// connections (half busy, half idle 10-30 s between messages), new TCP connections (20/s) and UDP
// flows; 6 s in, b1 is drained (udp then tcp, through the CLI); 2 s after the tcp drain returned
// (--event-after-ms; the migration windows last 2-3 s by default, so 2 s is at their end and 0 s
// inside them):
// - crash: the one `holdfast start` is SIGKILLed and started again on the same port and state file
//   after an outage (3.5 s as in session 2's restart tests, and 10 s);
// - failover: a cluster of 3 (`holdfast start --etcd`, lease 1 s) loses its leader to SIGKILL;
// - none: nothing (the drain alone: what the profile breaks anyway, idle connections whose slot
//   moved while they were silent through the whole query window).
// Printed per scenario: broken long connections (busy/idle), new connections that failed or took
// over a second, UDP flows that failed and datagrams lost, how long after the event query slots
// were answered again (the start of the last new connection that waited: a SYN on a query slot
// waits for a controller, then for its retransmission), the query windows and pending migrations
// the controller shows before the event and after it is back, and whether the drain completed.
// Usage (root): npm run bench -- crash-vs-failover [--rounds 2] [--tracking migrations|all] [--outages 3500,10000] [--event-after-ms 2000] [--json]
import { match } from 'ts-pattern';
import type { ServiceView } from '../../apps/lb/control.js';
import type { StoredEventRecord } from '../../db/records.js';
import { ApiClient, servicePath } from '../cli/client.js';
import { ClusterRig } from '../rig/cluster-rig.js';
import { backendKey, outcome, ProcRig, setUpServices, sleep, startWorkload, type Outcome } from '../rig/proc-rig.js';
import { until } from '../rig/until.js';
import type { FinalReport } from '../traffic/stats.js';
import { numArg } from './lb-common.js';

export type Scenario =
  | { kind: 'none' }
  | { kind: 'crash'; outageMs: number }
  | { kind: 'failover' };

export type Tracking = 'migrations' | 'all';

export interface CrashVsFailoverOptions {
  rounds: number;
  tracking: Tracking;
  outagesMs: number[];
  /** From the drain command to the kill (or to the same moment with no kill). */
  eventAfterMs: number;
  log?: (line: string) => void;
}

/** Query windows and pending migrations of the tcp service as the (current) controller shows them. */
export interface WindowsSeen { query: number; pending: number; querySlots: number; b1: string }

export interface ScenarioResult {
  scenario: string;
  round: number;
  longOpened: number;
  busyBroken: number;
  idleBroken: number;
  /** Broken idle connections by the backend they were on (the drained b1's are the profile's limit). */
  idleBrokenOn: Record<string, number>;
  newOk: number;
  newFailed: number;
  /** Succeeded, but took over a second (connect + one request/reply). */
  newSlow: number;
  /** The slowest new connection that started after the event (ms), or null. */
  newSlowestMs: number | null;
  udpFlowsFailed: number;
  udpSent: number;
  udpLost: number;
  stickiness: number;
  /** The event (kill, or the same moment with no kill) to the start of the last new connection that
   * failed or waited over a second: query slots were answered again by then. Null: none waited. */
  queryAnsweredAfterMs: number | null;
  /** crash: the switch connected to the restarted controller; failover: a new leader elected. */
  controllerBackMs: number | null;
  /** From the controller's event log, after the event: the switch's return (crash; null when it
   * never left) and the last tcp slot move (the query windows closing; null: none moved). */
  switchUpMs: number | null;
  lastSlotMoveMs: number | null;
  /** What the controller showed just before the event, and once back. */
  windowsBefore: WindowsSeen;
  windowsAfter: WindowsSeen | null;
  /** From the drain command to b1 `drained`; null if not within 5 s of the workload's end (pins,
   * which keep a drain going, idle out after 300 s by default). */
  drainedAfterMs: number | null;
  /** b1's state at the end, as the controller (or the new leader) shows it. */
  b1AtEnd: string;
}

export interface CrashVsFailoverResult {
  node: string;
  tracking: Tracking;
  eventAfterMs: number;
  runs: ScenarioResult[];
}

const CLIENTS = ['c1', 'c2'];
const BACKENDS = ['b1', 'b2', 'b3'];
const WORKLOAD_MS = 40_000;
const STALL_MS = 15_000;

export function scenarioName(s: Scenario): string {
  return match(s)
    .with({ kind: 'none' }, () => 'no kill (drain only)')
    .with({ kind: 'crash' }, (c) => `single controller, SIGKILL, back after ${c.outageMs / 1000} s`)
    .with({ kind: 'failover' }, () => 'cluster of 3, leader SIGKILLed')
    .exhaustive();
}

function windowsOf(v: ServiceView, b1Ip: string): WindowsSeen {
  return {
    query: v.migrations.filter((m) => m.phase === 'query').length,
    pending: v.migrations.filter((m) => m.phase === 'pending').length,
    querySlots: v.querySlots.length,
    b1: v.backends.find((b) => b.ip === b1Ip)?.state ?? 'gone',
  };
}

/** The switch's return and the last tcp slot move after `since`, from the event log. */
async function eventTimes(rig: ProcRig, since: number): Promise<{ switchUpMs: number | null; lastSlotMoveMs: number | null }> {
  const api = new ApiClient({ api: rig.proc!.api });
  let switchUp: number | null = null;
  let lastMove: number | null = null;
  let after = 0;
  for (let page = 0; page < 50; page++) {
    const list = await api.get<StoredEventRecord[]>(`/events?after=${after}&limit=1000`);
    if (list.length === 0) break;
    for (const e of list) {
      if (e.at < since) continue;
      if (e.event.type === 'switch_up' && switchUp === null) switchUp = e.at - since;
      if (e.event.type === 'slot_moved' && e.event.service === 'tcp') lastMove = e.at - since;
    }
    after = list[list.length - 1]!.id;
  }
  return { switchUpMs: switchUp, lastSlotMoveMs: lastMove };
}

function serviceNow(rig: ProcRig): Promise<ServiceView> {
  return new ApiClient({ api: rig.proc!.api }).get<ServiceView>(servicePath('tcp'));
}

/** Broken connections counted once each, by the backend they started on (failure details are
 * capped at 200 per client: enough for 100 idle connections each). */
function brokenOn(reports: FinalReport[]): Record<string, number> {
  const first = new Map<string, string>();
  reports.forEach((r, i) => {
    for (const f of r.long.failures) {
      const key = `${i}:${f.conn}`;
      if (!first.has(key)) first.set(key, (f.kind === 'wrong-backend' ? f.expected : f.backend) ?? '?');
    }
  });
  const out: Record<string, number> = {};
  for (const b of [...first.values()].sort()) out[b] = (out[b] ?? 0) + 1;
  return out;
}

/** When each new connection that waited or failed started (epoch ms): slow ones from their start,
 * failed ones (they fail at the stall timeout, or at once when refused) from the failure time,
 * less the stall timeout for the timeouts. */
function waitedStarts(reports: FinalReport[]): { startedAt: number; ms: number }[] {
  const out: { startedAt: number; ms: number }[] = [];
  for (const r of reports) {
    out.push(...r.newConns.slow.details);
    for (const f of r.newConns.failures) {
      const at = Date.parse(f.at);
      const waited = f.kind === 'connect' || f.kind === 'timeout' ? STALL_MS : 0;
      out.push({ startedAt: at - waited, ms: waited });
    }
  }
  return out;
}

async function runScenario(s: Scenario, round: number, o: CrashVsFailoverOptions, log: (l: string) => void): Promise<ScenarioResult> {
  const rig = s.kind === 'failover' ? new ClusterRig({ clients: CLIENTS, backends: BACKENDS }) : new ProcRig({ clients: CLIENTS, backends: BACKENDS });
  try {
    await rig.start();
    await setUpServices(rig, 'nat', 'openflow13', BACKENDS, ['--tracking', o.tracking]);
    const b1 = rig.ip('b1');
    const work = startWorkload(rig, WORKLOAD_MS, { stallMs: STALL_MS });
    await sleep(6_000);
    const drainAt = Date.now();
    // udp first, so that the event comes eventAfterMs after the tcp drain returned (a CLI run takes
    // up to a second here: with tcp first, an event "at 0 s" could miss the 2 s windows).
    for (const proto of ['udp', 'tcp'] as const) await rig.ok(['backend', 'drain', proto, backendKey(rig, 'b1', 'nat', proto)]);
    await sleep(o.eventAfterMs);
    // Straight from the API (a CLI run takes most of a second on a busy machine).
    const windowsBefore = windowsOf(await serviceNow(rig), b1);
    const eventAt = Date.now();
    const backAt = await match(s)
      .with({ kind: 'none' }, () => Promise.resolve<number | null>(null))
      .with({ kind: 'crash' }, async (c) => {
        await rig.restartController('SIGKILL', c.outageMs);
        return Date.now();
      })
      .with({ kind: 'failover' }, async () => {
        if (!(rig instanceof ClusterRig)) throw new Error('failover needs the cluster rig');
        await rig.proc!.kill();
        const next = await rig.nextLeader(10_000);
        return next.leadership()!.electedAt;
      })
      .exhaustive();
    // What the controller shows once it answers again (a second in, so a new leader has loaded).
    await sleep(1_000);
    const windowsAfter = s.kind === 'none' ? null : windowsOf(await serviceNow(rig), b1);
    const out: Outcome = await outcome(work);
    let drainedAt: number | null = null;
    let b1AtEnd = 'gone';
    await until('b1 drained', async () => {
      const v = (await rig.service('tcp')).backends.find((b) => b.ip === b1);
      b1AtEnd = v?.state ?? 'gone';
      if (v?.state === 'drained') drainedAt = v.stateSince;
      return drainedAt !== null;
    }, 5_000).catch(() => undefined);
    // A log that cannot be read leaves these blank rather than losing the run.
    const times = await eventTimes(rig, eventAt).catch(() => ({ switchUpMs: null, lastSlotMoveMs: null }));
    const waited = waitedStarts(out.busyReports).filter((w) => w.startedAt >= eventAt - 1_000);
    const lastWait = waited.length === 0 ? null : Math.max(...waited.map((w) => w.startedAt));
    const r: ScenarioResult = {
      scenario: scenarioName(s), round,
      longOpened: out.longOpened, busyBroken: out.busyBroken, idleBroken: out.idleBroken, idleBrokenOn: brokenOn(out.idleReports),
      newOk: out.newOk, newFailed: out.newFailed,
      newSlow: out.busyReports.reduce((n, x) => n + x.newConns.slow.count, 0),
      newSlowestMs: waited.length === 0 ? null : Math.max(...waited.map((w) => w.ms)),
      udpFlowsFailed: out.udpFailures,
      udpSent: out.busyReports.reduce((n, x) => n + x.udp.sent, 0),
      udpLost: out.busyReports.reduce((n, x) => n + x.udp.timeouts, 0),
      stickiness: out.stickiness,
      queryAnsweredAfterMs: lastWait === null ? null : Math.max(0, lastWait - eventAt),
      controllerBackMs: backAt === null ? null : backAt - eventAt,
      ...times, windowsBefore, windowsAfter,
      drainedAfterMs: drainedAt === null ? null : drainedAt - drainAt, b1AtEnd,
    };
    log(`round ${round}, ${formatRun(r)}`);
    return r;
  } finally {
    await rig.stop();
  }
}

export async function runCrashVsFailoverBench(o: CrashVsFailoverOptions): Promise<CrashVsFailoverResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const scenarios: Scenario[] = [
    { kind: 'none' },
    ...o.outagesMs.map((outageMs): Scenario => ({ kind: 'crash', outageMs })),
    { kind: 'failover' },
  ];
  const runs: ScenarioResult[] = [];
  // Rounds interleave the scenarios, so a slow patch of the machine hits them alike.
  for (let round = 1; round <= o.rounds; round++) {
    for (const s of scenarios) runs.push(await runScenario(s, round, o, log));
  }
  return { node: process.version, tracking: o.tracking, eventAfterMs: o.eventAfterMs, runs };
}

export function crashVsFailoverOptionsFrom(argv: readonly string[]): CrashVsFailoverOptions {
  const t = argv.indexOf('--tracking');
  const tracking = t >= 0 ? argv[t + 1] : 'migrations';
  if (tracking !== 'migrations' && tracking !== 'all') throw new Error(`--tracking takes migrations or all, got ${tracking}`);
  const oi = argv.indexOf('--outages');
  const outagesMs = oi >= 0 ? (argv[oi + 1] ?? '').split(',').map(Number) : [3_500, 10_000];
  if (outagesMs.some((n) => !Number.isFinite(n) || n < 0)) throw new Error(`--outages takes milliseconds, comma-separated, got ${argv[oi + 1]}`);
  return { rounds: numArg(argv, 'rounds', 2), tracking, outagesMs, eventAfterMs: numArg(argv, 'event-after-ms', 2_000) };
}

const ms = (v: number | null): string => (v === null ? '-' : `${(v / 1000).toFixed(1)} s`);
const win = (w: WindowsSeen | null): string => (w === null ? '-' : `${w.query} query/${w.pending} pending (b1 ${w.b1})`);

function formatRun(r: ScenarioResult): string {
  return `${r.scenario}: long ${r.longOpened}, broken busy ${r.busyBroken}, idle ${r.idleBroken} (${Object.entries(r.idleBrokenOn).map(([b, n]) => `${b} ${n}`).join(', ') || 'none'}); new ok ${r.newOk}, failed ${r.newFailed},`
    + ` >1 s ${r.newSlow} (slowest after the event ${ms(r.newSlowestMs)}); udp flows failed ${r.udpFlowsFailed}, datagrams lost ${r.udpLost}/${r.udpSent};`
    + ` query slots answered again ${ms(r.queryAnsweredAfterMs)} after the event; controller back ${ms(r.controllerBackMs)};`
    + ` switch up again ${ms(r.switchUpMs)}, last tcp slot move ${ms(r.lastSlotMoveMs)} after the event;`
    + ` windows before ${win(r.windowsBefore)}, after ${win(r.windowsAfter)}; drained ${r.drainedAfterMs === null ? `not within 5 s of the end (b1 ${r.b1AtEnd})` : `${ms(r.drainedAfterMs)} after the drain`}`
    + (r.stickiness > 0 ? `; STICKINESS VIOLATIONS ${r.stickiness}` : '');
}

export function formatCrashVsFailover(r: CrashVsFailoverResult): string {
  const head = ['scenario', 'round', 'busy', 'idle', 'new failed', 'new >1s', 'udp failed', 'udp lost', 'slots answered', 'ctl back', 'drained'];
  const rows = r.runs.map((x) => [
    x.scenario, String(x.round), String(x.busyBroken), String(x.idleBroken), String(x.newFailed), String(x.newSlow),
    String(x.udpFlowsFailed), `${x.udpLost}/${x.udpSent}`, ms(x.queryAnsweredAfterMs), ms(x.controllerBackMs), ms(x.drainedAfterMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `crash vs failover, openflow13 nat, tracking ${r.tracking}; 200 long connections (100 idle 10-30 s), 20 new/s, 10 udp flows; b1 drained, event ${r.eventAfterMs / 1000} s later (node ${r.node})`,
    line(head), ...rows.map(line),
    '', ...r.runs.map((x) => `round ${x.round}, ${formatRun(x)}`),
  ].join('\n');
}
