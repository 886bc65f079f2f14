// The live feed behind /api/ws: a snapshot on connect, then every LB event as it happens, a fresh
// state whenever services or status change, and a metrics sample every interval.
import type { WebSocket } from 'ws';
import type { LbControl, ServiceView, StatusView } from '../../apps/lb/control.js';
import type { StoredEvent } from '../../apps/lb/model.js';
import { sampleMetrics, type Reading } from './metrics.js';
import type { MetricsSample, StateMessage, WsServerMessage } from './protocol.js';

export interface LiveHubOptions {
  /** Metrics sample period (default 1000 ms). */
  intervalMs?: number;
  /** Events replayed in a snapshot (default 1000). */
  recentEvents?: number;
  /** Metrics kept for a snapshot's history (default 300: five minutes at 1 s). */
  historySize?: number;
  /** A client whose send buffer grows past this is cut off; it reconnects for a fresh snapshot. */
  maxBufferedBytes?: number;
  onError?: (err: unknown) => void;
}

/** After an event, the state follows this soon (events come in bursts: coalesce them). */
const STATE_DEBOUNCE_MS = 100;
const PING_EVERY_MS = 15_000;

export class LiveHub {
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly history: MetricsSample[] = [];
  private lastReading: Reading | undefined;
  private lastStateJson = '';
  private lastEventId = 0;
  private unsubscribe: (() => void) | undefined;
  private tick: NodeJS.Timeout | undefined;
  private ping: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly recentEvents: number;
  private readonly historySize: number;
  private readonly maxBufferedBytes: number;

  constructor(private readonly control: LbControl, private readonly opts: LiveHubOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.recentEvents = opts.recentEvents ?? 1000;
    this.historySize = opts.historySize ?? 300;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  start(): void {
    this.unsubscribe = this.control.subscribe((e) => this.onEvent(e));
    this.findNewestEvent();
    this.sample();
    this.tick = setInterval(() => this.sample(), this.intervalMs);
    this.ping = setInterval(() => this.heartbeat(), PING_EVERY_MS);
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.tick);
    clearInterval(this.ping);
    clearTimeout(this.stateTimer);
    for (const ws of this.clients) ws.close(1001, 'server shutting down');
    this.clients.clear();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  attach(ws: WebSocket): void {
    this.clients.add(ws);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => this.clients.delete(ws));
    // Clients only listen; anything they send is ignored.
    try {
      const recent = this.control.eventsSince(Math.max(0, this.lastEventId - this.recentEvents), this.recentEvents);
      const snapshot: StateMessage = {
        ...this.state('snapshot'),
        recentEvents: recent,
        metricsHistory: this.history,
      };
      this.send(ws, snapshot);
    } catch (err) {
      this.opts.onError?.(err);
      ws.close(1011, 'snapshot failed');
    }
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
    if (this.clients.size === 0) return;
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

  private heartbeat(): void {
    for (const ws of this.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        this.clients.delete(ws);
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  private broadcast(msg: WsServerMessage): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(msg);
    for (const ws of this.clients) this.sendRaw(ws, data);
  }

  private send(ws: WebSocket, msg: WsServerMessage): void {
    this.sendRaw(ws, JSON.stringify(msg));
  }

  private sendRaw(ws: WebSocket, data: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      ws.terminate();
      this.clients.delete(ws);
      return;
    }
    ws.send(data);
  }
}
