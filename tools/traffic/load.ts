// The load generator: long-lived TCP connections that must stay on their first backend, a steady
// rate of short TCP connections, and UDP flows that must stay on their first backend. All
// outcomes go through TrafficStats; this module only drives sockets and timers.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import type { ClientOptions, Endpoint } from './args.js';
import { checkReply, LineBuffer } from './protocol.js';
import { jitteredMs, newConnsDue, staggerOffsetMs, TrafficStats, type Failure, type FailureInput, type FinalReport, type ProgressReport, type StopReason } from './stats.js';

export interface LoadHooks {
  progress?(p: ProgressReport): void;
  failure?(f: Failure): void;
}

export interface LoadRun {
  readonly stats: TrafficStats;
  /** Settles with the final report once the run stopped (duration or stop()). */
  readonly done: Promise<FinalReport>;
  /** Stops generating, lets outstanding requests finish (up to the stall timeout), closes everything. */
  stop(reason: StopReason): Promise<FinalReport>;
}

interface Ctx {
  readonly opts: ClientOptions;
  readonly stats: TrafficStats;
  running: boolean;
  fail(f: FailureInput): void;
}

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

function tcpConnect(ctx: Ctx, target: Endpoint): Socket {
  const sock = connect({ host: target.host, port: target.port, localAddress: ctx.opts.bindIp, noDelay: true });
  return sock;
}

// ---- long-lived connections ----

type LongState = 'idle' | 'connecting' | 'open' | 'closing' | 'dead';

class LongConn {
  private state: LongState = 'idle';
  private sock?: Socket;
  private established = false;
  private backend?: string;
  private seq = 0;
  private outstanding?: { line: string; seq: number; sentAt: number };
  private timer?: NodeJS.Timeout;
  private endSent = false;
  private closed?: () => void;
  private readonly lines = new LineBuffer();

  constructor(private readonly idx: number, private readonly ctx: Ctx, private readonly target: Endpoint) {}

  /** Opens after delayMs (the stagger, or the pause before replacing a failed connection). */
  schedule(delayMs: number, reopen: boolean): void {
    this.state = 'idle';
    this.setTimer(delayMs, () => this.open(reopen));
  }

  private setTimer(ms: number, fn: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
  }

  private open(reopen: boolean): void {
    if (!this.ctx.running) return this.finish();
    const { stats, opts } = this.ctx;
    stats.longAttempt(reopen);
    this.state = 'connecting';
    this.established = false;
    this.backend = undefined;
    this.outstanding = undefined;
    this.endSent = false;
    const sock = tcpConnect(this.ctx, this.target);
    this.sock = sock;
    this.setTimer(opts.stallMs, () => this.fatal('connect', `no connection within ${opts.stallMs} ms`));
    sock.on('connect', () => {
      if (sock !== this.sock) return;
      this.established = true;
      stats.longOpened();
      if (this.state === 'closing') return this.sendEnd();
      this.state = 'open';
      this.send();
    });
    sock.on('data', (chunk) => {
      if (sock !== this.sock) return;
      let got: string[];
      try {
        got = this.lines.push(chunk);
      } catch (err) {
        return this.fatal('bad-echo', (err as Error).message);
      }
      for (const line of got) this.onLine(line);
    });
    sock.on('end', () => {
      if (sock !== this.sock) return;
      // Our own FIN answered, with no reply owed: the clean end of the run.
      if (this.endSent) return;
      this.fatal('peer-close', this.outstanding ? `closed by peer with seq ${this.outstanding.seq} unanswered` : 'closed by peer');
    });
    sock.on('error', (err) => {
      if (sock !== this.sock) return;
      this.fatal(this.established ? (this.endSent ? 'close' : 'reset') : 'connect', errCode(err));
    });
    sock.on('close', () => {
      if (sock !== this.sock || this.state === 'dead') return;
      if (this.endSent) {
        clearTimeout(this.timer);
        stats.longGone(true);
        this.sock = undefined;
        this.state = 'dead';
        this.finish();
      } else {
        this.fatal(this.established ? 'peer-close' : 'connect', 'socket closed');
      }
    });
  }

  private send(): void {
    if (this.state !== 'open' || !this.sock) return;
    if (!this.ctx.running) return this.sendEnd();
    const seq = ++this.seq;
    const line = `L${this.idx} ${seq}`;
    this.outstanding = { line, seq, sentAt: performance.now() };
    this.ctx.stats.longRequest();
    this.sock.write(`${line}\n`);
    this.setTimer(this.ctx.opts.stallMs, () => this.fatal('stall', `no reply to seq ${seq} within ${this.ctx.opts.stallMs} ms`));
  }

  private onLine(reply: string): void {
    const out = this.outstanding;
    if (!out) {
      this.ctx.fail({ workload: 'long', kind: 'bad-echo', conn: this.idx, backend: this.backend, detail: `unsolicited reply ${JSON.stringify(reply)}` });
      return;
    }
    this.outstanding = undefined;
    const c = checkReply(reply, out.line, this.backend);
    if (c.ok) {
      const first = this.backend === undefined;
      this.backend = c.backend;
      this.ctx.stats.longReply(c.backend, first, performance.now() - out.sentAt);
    } else if (c.kind === 'wrong-backend') {
      this.ctx.fail({ workload: 'long', kind: 'wrong-backend', conn: this.idx, seq: out.seq, backend: c.backend, expected: c.expected });
    } else {
      this.ctx.fail({ workload: 'long', kind: 'bad-echo', conn: this.idx, seq: out.seq, backend: c.backend ?? this.backend, expected: c.expected, detail: `got ${JSON.stringify(c.got)}` });
    }
    if (this.state === 'closing' || !this.ctx.running) return this.sendEnd();
    const { intervalMs, jitter } = this.ctx.opts;
    this.setTimer(jitteredMs(intervalMs, jitter, Math.random()), () => this.send());
  }

  private sendEnd(): void {
    if (!this.sock || this.endSent) return;
    this.state = 'closing';
    this.endSent = true;
    this.sock.end();
    const ms = this.ctx.opts.stallMs;
    this.setTimer(ms, () => this.fatal('close', `no FIN from peer within ${ms} ms of ours`));
  }

  /** A failure that ends this connection; it is replaced while the run goes on. */
  private fatal(kind: FailureInput['kind'], detail: string): void {
    if (this.state === 'dead' || this.state === 'idle') return;
    clearTimeout(this.timer);
    this.ctx.fail({ workload: 'long', kind, conn: this.idx, seq: this.outstanding?.seq, backend: this.backend, detail });
    const sock = this.sock;
    this.sock = undefined;
    sock?.destroy();
    if (this.established) this.ctx.stats.longGone(false);
    this.state = 'dead';
    if (this.ctx.running) this.schedule(this.ctx.opts.intervalMs, true);
    else this.finish();
  }

  private finish(): void {
    this.state = 'dead';
    this.closed?.();
    this.closed = undefined;
  }

  /** Ends this connection at the end of the run; resolves once it is gone. */
  close(): Promise<void> {
    if (this.state === 'dead') return Promise.resolve();
    if (this.state === 'idle') {
      clearTimeout(this.timer);
      this.state = 'dead';
      return Promise.resolve();
    }
    const p = new Promise<void>((r) => (this.closed = r));
    if (this.state === 'open' && !this.outstanding) {
      clearTimeout(this.timer);
      this.sendEnd();
    } else if (this.state === 'connecting') {
      this.state = 'closing';
    }
    // open with a reply outstanding: onLine or the stall timer ends it.
    return p;
  }
}

// ---- short connections ----

function shortConn(ctx: Ctx, target: Endpoint, idx: number): Promise<void> {
  const { stats, opts } = ctx;
  stats.newStarted();
  const line = `N${idx}`;
  const startedAt = performance.now();
  return new Promise<void>((resolve) => {
    const sock = tcpConnect(ctx, target);
    let connected = false;
    let settled = false;
    const lines = new LineBuffer();
    const settle = (kind?: FailureInput['kind'], detail?: string, backend?: string, expected?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (kind) {
        ctx.fail({ workload: 'new', kind, conn: idx, backend, expected, detail });
        sock.destroy();
      }
      resolve();
    };
    const timer = setTimeout(() => settle(connected ? 'timeout' : 'connect', `no ${connected ? 'reply' : 'connection'} within ${opts.stallMs} ms`), opts.stallMs);
    sock.on('connect', () => {
      connected = true;
      sock.write(`${line}\n`);
    });
    sock.on('data', (chunk) => {
      if (settled) return;
      let got: string[];
      try {
        got = lines.push(chunk);
      } catch (err) {
        return settle('bad-echo', (err as Error).message);
      }
      if (got.length === 0) return;
      const c = checkReply(got[0]!, line, undefined);
      if (!c.ok) return settle('bad-echo', `got ${JSON.stringify(got[0])}`, c.backend, line);
      stats.newOk(c.backend, performance.now() - startedAt);
      settle();
      sock.end();
      // Our FIN is sent; a peer that never answers it must not hold the descriptor.
      const linger = setTimeout(() => sock.destroy(), opts.stallMs);
      sock.once('close', () => clearTimeout(linger));
    });
    sock.on('end', () => settle('peer-close', 'closed by peer before the reply'));
    sock.on('error', (err) => settle(connected ? 'reset' : 'connect', errCode(err)));
    sock.on('close', () => settle(connected ? 'peer-close' : 'connect', 'socket closed before the reply'));
  });
}

// ---- UDP flows ----

interface Pending { sentAt: number; timer?: NodeJS.Timeout; timedOut: boolean }

class UdpFlow {
  private readonly sock: UdpSocket;
  private backend?: string;
  private seq = 0;
  private timer?: NodeJS.Timeout;
  /** Requests awaiting a reply, and timed-out ones kept for late replies (bounded). */
  private readonly pending = new Map<number, Pending>();
  private waiting = 0;
  private drained?: () => void;
  private static readonly KEEP_TIMED_OUT = 256;

  constructor(private readonly idx: number, private readonly ctx: Ctx, private readonly target: Endpoint) {
    this.sock = createSocket({ type: isIPv6(target.host) ? 'udp6' : 'udp4' });
    this.sock.on('error', (err) => ctx.fail({ workload: 'udp', kind: 'socket-error', conn: idx, backend: this.backend, detail: errCode(err) }));
    this.sock.on('message', (msg, rinfo) => this.onMessage(msg.toString('utf8'), rinfo.address, rinfo.port));
  }

  start(delayMs: number): void {
    this.sock.bind({ address: this.ctx.opts.bindIp, port: 0 }, () => {
      this.timer = setTimeout(() => this.send(), delayMs);
    });
  }

  private send(): void {
    if (!this.ctx.running) return;
    const seq = ++this.seq;
    const p: Pending = { sentAt: performance.now(), timedOut: false };
    this.pending.set(seq, p);
    this.waiting++;
    p.timer = setTimeout(() => this.timeout(p), this.ctx.opts.stallMs);
    this.ctx.stats.udpSent();
    this.sock.send(`U${this.idx} ${seq}`, this.target.port, this.target.host, (err) => {
      if (err) this.ctx.fail({ workload: 'udp', kind: 'socket-error', conn: this.idx, seq, backend: this.backend, detail: `send: ${errCode(err)}` });
    });
    const { intervalMs, jitter } = this.ctx.opts;
    this.timer = setTimeout(() => this.send(), jitteredMs(intervalMs, jitter, Math.random()));
  }

  private timeout(p: Pending): void {
    p.timedOut = true;
    this.ctx.stats.udpTimeout();
    this.settled();
    // Forget the oldest timed-out requests; a reply to one of those counts as bad-echo.
    if (this.pending.size > UdpFlow.KEEP_TIMED_OUT) {
      for (const [s, q] of this.pending) {
        if (this.pending.size <= UdpFlow.KEEP_TIMED_OUT) break;
        if (q.timedOut) this.pending.delete(s);
      }
    }
  }

  private settled(): void {
    this.waiting--;
    if (this.waiting === 0 && !this.ctx.running) this.drained?.();
  }

  private onMessage(reply: string, address: string, port: number): void {
    const { ctx, idx } = this;
    if (address !== this.target.host || port !== this.target.port) {
      ctx.fail({ workload: 'udp', kind: 'wrong-source', conn: idx, backend: reply.split(' ')[0], expected: `${this.target.host}:${this.target.port}`, detail: `reply from ${address}:${port}` });
      return;
    }
    const m = /^\S+ U(\d+) (\d+)$/.exec(reply);
    const seq = m && Number(m[1]) === idx ? Number(m[2]) : undefined;
    const p = seq === undefined ? undefined : this.pending.get(seq);
    if (seq === undefined || !p) {
      ctx.fail({ workload: 'udp', kind: 'bad-echo', conn: idx, seq, backend: this.backend, detail: `reply ${JSON.stringify(reply)} answers no request of this flow` });
      return;
    }
    this.pending.delete(seq);
    clearTimeout(p.timer);
    const c = checkReply(reply, `U${idx} ${seq}`, this.backend);
    if (c.ok) {
      const first = this.backend === undefined;
      this.backend = c.backend;
      ctx.stats.udpReply(c.backend, first, p.timedOut, performance.now() - p.sentAt);
    } else {
      ctx.fail({ workload: 'udp', kind: c.kind, conn: idx, seq, backend: c.backend, expected: c.expected });
    }
    if (!p.timedOut) this.settled();
  }

  /** Stops sending; resolves when every request got its reply or timed out. */
  close(): Promise<void> {
    clearTimeout(this.timer);
    const done = this.waiting === 0 ? Promise.resolve() : new Promise<void>((r) => (this.drained = r));
    return done.then(() => {
      for (const p of this.pending.values()) clearTimeout(p.timer);
      this.sock.close();
    });
  }
}

// ---- the run ----

export function startLoad(opts: ClientOptions, hooks: LoadHooks = {}): LoadRun {
  const stats = new TrafficStats({ long: opts.long, newRate: opts.newRate, udpFlows: opts.udpFlows });
  const ctx: Ctx = {
    opts,
    stats,
    running: true,
    fail: (f) => {
      const full = stats.failure(f);
      hooks.failure?.(full);
    },
  };
  const longs: LongConn[] = [];
  for (let i = 0; i < opts.long; i++) {
    const c = new LongConn(i, ctx, opts.target!);
    longs.push(c);
    c.schedule(staggerOffsetMs(i, opts.long, opts.startStaggerMs), false);
  }
  const flows: UdpFlow[] = [];
  for (let i = 0; i < opts.udpFlows; i++) {
    const f = new UdpFlow(i, ctx, opts.udpTarget!);
    flows.push(f);
    f.start(Math.floor(Math.random() * opts.intervalMs));
  }
  const inFlight = new Set<Promise<void>>();
  let scheduled = 0;
  let newTicker: NodeJS.Timeout | undefined;
  if (opts.newRate > 0) {
    const t0 = performance.now();
    const tick = (): void => {
      for (let n = newConnsDue(performance.now() - t0, opts.newRate, scheduled); n > 0; n--) {
        const idx = scheduled++;
        if (stats.newInFlight >= opts.maxInflight) {
          stats.newSkipped();
          continue;
        }
        const p = shortConn(ctx, opts.target!, idx);
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
      }
    };
    newTicker = setInterval(tick, Math.min(50, Math.max(5, Math.floor(1000 / opts.newRate))));
  }
  const reporter = opts.reportMs > 0 ? setInterval(() => hooks.progress?.(stats.progress()), opts.reportMs) : undefined;

  let resolveDone!: (r: FinalReport) => void;
  const done = new Promise<FinalReport>((r) => (resolveDone = r));
  let stopping: Promise<FinalReport> | undefined;
  const stop = (reason: StopReason): Promise<FinalReport> => {
    stopping ??= (async () => {
      ctx.running = false;
      clearTimeout(durationTimer);
      clearInterval(newTicker);
      await Promise.all([...longs.map((c) => c.close()), ...flows.map((f) => f.close()), ...inFlight]);
      clearInterval(reporter);
      const report = stats.final(reason);
      resolveDone(report);
      return report;
    })();
    return stopping;
  };
  const durationTimer = opts.durationMs > 0 ? setTimeout(() => void stop('duration'), opts.durationMs) : undefined;
  return { stats, done, stop };
}
