// The load balancer's live data behind /api/ws: a snapshot on connect, then every LB event as it
// happens, a fresh state whenever services or status change, and a metrics sample every interval.
// The WebSocket plumbing (clients, pings, slow clients) is the generic management server's
// (controller/management/live.ts); this only decides what goes out.
import type { LiveFeed, LiveSource } from '../../../controller/management/live.js';
import type { LbControl, ServiceView, StatusView } from '../control.js';
import type { StoredEvent } from '../model.js';
import { sampleMetrics, type Reading } from './metrics.js';
import type { MetricsSample, StateMessage, WsServerMessage } from './protocol.js';

export interface LbLiveOptions {
  /** Metrics sample period (default 1000 ms). */
  intervalMs?: number;
  /** Events replayed in a snapshot (default 1000). */
  recentEvents?: number;
  /** Metrics kept for a snapshot's history (default 300: five minutes at 1 s). */
  historySize?: number;
  onError?: (err: unknown) => void;
}

/** After an event, the state follows this soon (events come in bursts: coalesce them). */
const STATE_DEBOUNCE_MS = 100;

export class LbLive implements LiveSource {
  private feed: LiveFeed | undefined;
  private readonly history: MetricsSample[] = [];
  private lastReading: Reading | undefined;
  private lastStateJson = '';
  private lastEventId = 0;
  private unsubscribe: (() => void) | undefined;
  private tick: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly recentEvents: number;
  private readonly historySize: number;

  constructor(private readonly control: LbControl, private readonly opts: LbLiveOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.recentEvents = opts.recentEvents ?? 1000;
    this.historySize = opts.historySize ?? 300;
  }

  start(feed: LiveFeed): void {
    this.feed = feed;
    this.unsubscribe = this.control.subscribe((e) => this.onEvent(e));
    this.findNewestEvent();
    this.sample();
    this.tick = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.tick);
    clearTimeout(this.stateTimer);
    this.feed = undefined;
  }

  snapshot(): StateMessage {
    const recent = this.control.eventsSince(Math.max(0, this.lastEventId - this.recentEvents), this.recentEvents);
    return { ...this.state('snapshot'), recentEvents: recent, metricsHistory: this.history };
  }

  private state(type: StateMessage['type']): StateMessage {
    const status: StatusView = this.control.status();
    const services: ServiceView[] = this.control.listServices();
    return { type, at: Date.now(), status, services, lastEventId: this.lastEventId, recentEvents: [], metricsHistory: [] };
  }

  /** Where the event log stands, so snapshots can replay its tail (LbControl has no "newest" query). */
  private findNewestEvent(): void {
    const page = 10_000;
    try {
      for (;;) {
        const events = this.control.eventsSince(this.lastEventId, page);
        const last = events.at(-1);
        if (last) this.lastEventId = Math.max(this.lastEventId, last.id);
        if (events.length < page) break;
      }
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private onEvent(e: StoredEvent): void {
    this.lastEventId = Math.max(this.lastEventId, e.id);
    this.broadcast({ type: 'event', event: e });
    this.stateTimer ??= setTimeout(() => {
      this.stateTimer = undefined;
      this.pushStateIfChanged();
    }, STATE_DEBOUNCE_MS);
  }

  private pushStateIfChanged(): void {
    if (!this.feed || this.feed.clientCount === 0) return;
    try {
      const msg = this.state('state');
      // Compare without the timestamp: only real changes go out.
      const json = JSON.stringify([msg.status, msg.services]);
      if (json === this.lastStateJson) return;
      this.lastStateJson = json;
      this.broadcast(msg);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private sample(): void {
    try {
      const reading: Reading = { at: Date.now(), counters: this.control.status().counters, services: this.control.listServices() };
      const sample = sampleMetrics(this.lastReading, reading);
      this.lastReading = reading;
      // Backends stay in the history: the live view draws their connections and traffic over time.
      this.history.push(sample);
      if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
      this.broadcast({ type: 'metrics', sample });
      this.pushStateIfChanged();
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private broadcast(msg: WsServerMessage): void {
    this.feed?.broadcast(msg);
  }
}
