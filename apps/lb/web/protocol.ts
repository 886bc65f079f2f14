// The load balancer's live-feed wire shapes shared by the server, the CLI and the live view:
// WebSocket messages and the per-second metrics sample.
import type { ServiceView, StatusView } from '../control.js';
import type { StoredEvent } from '../model.js';

export type { ApiErrorBody } from '../../../controller/management/http.js';

/** Traffic of one backend over the last sample interval (rates per second) and cumulative. */
export interface BackendTraffic {
  service: string;
  key: string;
  packets: number;
  bytes: number;
  packetsPerSec: number;
  bytesPerSec: number;
  pins: number;
  slots: number;
  /** Live connections at the last count (BackendView.connections). */
  connections: number;
}

/** Once a second: counters turned into per-second rates, plus gauges. */
export interface MetricsSample {
  at: number;
  intervalMs: number;
  packetInsPerSec: number;
  pinsInstalledPerSec: number;
  pinsRemovedPerSec: number;
  slotsMovedPerSec: number;
  /** Gauge: slot migrations in flight now. */
  migrationsActive: number;
  /** Gauge: pins installed now over all services. */
  pins: number;
  totals: StatusView['counters'];
  backends: BackendTraffic[];
}

export interface StateMessage {
  /** 'snapshot' on connect; 'state' whenever services or status change afterwards. */
  type: 'snapshot' | 'state';
  at: number;
  status: StatusView;
  services: ServiceView[];
  /** Id of the newest stored event (events with larger ids follow as 'event' messages). */
  lastEventId: number;
  /** Recent events, oldest first (snapshot only; empty in 'state'). */
  recentEvents: StoredEvent[];
  /** The last few minutes of metrics, oldest first, without per-backend detail (snapshot only). */
  metricsHistory: MetricsSample[];
}

export type WsServerMessage =
  | StateMessage
  | { type: 'event'; event: StoredEvent }
  | { type: 'metrics'; sample: MetricsSample };
