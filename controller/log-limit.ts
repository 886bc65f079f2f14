// Rate limits for log lines a peer can cause. A hostile or broken switch can make the controller
// log thousands of identical warnings a second (a fuzz run wrote 12,000), and churn of switches
// connecting and leaving logs two lines per cycle; the log then buries what matters and costs
// more than the traffic. Per key (a message and where it comes from) the first `burst` lines of a
// window are logged; the rest are counted and reported as one line when the window ends.
import type { Logger } from './log.js';

export type LimitedLevel = 'warn' | 'info';

export interface LogLimitOptions {
  /** Length of a window. Default 10 s. */
  windowMs?: number;
  /** Lines logged per key and window before the rest are only counted. Default 1. */
  burst?: number;
  /**
   * Bound on keys tracked in one window: past it, new keys share one "other sources" key, so a
   * flood from many addresses costs no more memory than one from a single address. Default 1000.
   */
  maxKeys?: number;
}

interface Entry {
  level: LimitedLevel;
  msg: string;
  logged: number;
  suppressed: number;
  /** The fields of the last suppressed line: the summary carries them (dpid, remote, detail). */
  last: Record<string, unknown>;
}

const OVERFLOW = '\u0000other sources';

export class LogLimiter {
  private readonly windowMs: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private entries = new Map<string, Entry>();
  private windowStart: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger, opts: LogLimitOptions = {}, private readonly clock: () => number = Date.now) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.burst = opts.burst ?? 1;
    this.maxKeys = opts.maxKeys ?? 1000;
    this.windowStart = clock();
  }

  /** Starts the timer that reports counts when a window ends (without it, the next call does). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.rollIfDue(), this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  warn(source: string, fields: Record<string, unknown>, msg: string): void {
    this.write('warn', source, fields, msg);
  }

  info(source: string, fields: Record<string, unknown>, msg: string): void {
    this.write('info', source, fields, msg);
  }

  /**
   * `source` says whose line it is (a dpid, a remote host, or '' for "all switches together"):
   * identical messages from different switches are limited separately.
   */
  write(level: LimitedLevel, source: string, fields: Record<string, unknown>, msg: string): void {
    this.rollIfDue();
    let key = `${level}\u0000${msg}\u0000${source}`;
    let e = this.entries.get(key);
    if (!e && this.entries.size >= this.maxKeys) {
      key = `${level}\u0000${msg}${OVERFLOW}`;
      e = this.entries.get(key);
    }
    if (!e) {
      e = { level, msg, logged: 0, suppressed: 0, last: fields };
      this.entries.set(key, e);
    }
    if (e.logged < this.burst) {
      e.logged++;
      this.log[level](fields, msg);
    } else {
      e.suppressed++;
      e.last = fields;
    }
  }

  /** Reports every count of the window now, and starts a new window. */
  flush(): void {
    const entries = this.entries;
    this.entries = new Map();
    this.windowStart = this.clock();
    const secs = Math.round(this.windowMs / 100) / 10;
    for (const e of entries.values()) {
      if (e.suppressed === 0) continue;
      this.log[e.level]({ ...e.last, suppressed: e.suppressed }, `${e.msg} (${e.suppressed} more like this in the last ${secs} s, not logged one by one)`);
    }
  }

  private rollIfDue(): void {
    if (this.clock() - this.windowStart >= this.windowMs) this.flush();
  }
}

/** The host part of "host:port" (IPv6 included): floods come from one host on many ports. */
export function hostOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i > 0 ? remote.slice(0, i) : remote;
}
