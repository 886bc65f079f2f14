// The load balancer plugged into the generic management server: its routes under /api, its live
// feed at /api/ws, its collectors in /metrics, and its live view (ui/ of this folder, plus the
// compiled event-text module that the live view shares with the CLI).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startManagementServer, type ManagementApp, type ManagementOptions, type ManagementServer, type StaticMount,
} from '../../../controller/management/server.js';
import type { LbControl } from '../control.js';
import { LbLive } from './live.js';
import { addLbMetrics } from './prometheus.js';
import { handleApi } from './routes.js';

/** Where the browser finds the event-text module (apps/lb/event-text.ts compiled). */
export const LIB_PREFIX = '/lib/';
const LIB_FILES = ['event-text.js'] as const;

export interface LbAppOptions {
  control: LbControl;
  /** Live metrics sample period for the WebSocket feed (default 1000 ms). */
  metricsIntervalMs?: number;
  /** Where the live view's files are (default: ui/ next to this module, in the source tree). */
  uiDir?: string;
  onLiveError?: (err: unknown) => void;
}

/** The first of `candidates` (URLs of folders) holding `file`; else the first. */
function folderWith(file: string, candidates: URL[]): string {
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(join(dir, file))) return dir;
  }
  return fileURLToPath(candidates[0]!);
}

/** The ui folder next to this file (running from TS) or in the source tree (running from dist/). */
function defaultUiDir(): string {
  return folderWith('index.html', [new URL('./ui/', import.meta.url), new URL('../../../../apps/lb/web/ui/', import.meta.url)]);
}

/** The compiled event-text module: beside this file's parent when running from dist/, else in dist/. */
function libDir(): string {
  return folderWith(LIB_FILES[0], [new URL('../', import.meta.url), new URL('../../../dist/apps/lb/', import.meta.url)]);
}

export function lbManagementApp(o: LbAppOptions): ManagementApp {
  const statics: StaticMount[] = [
    { prefix: '/', dir: o.uiDir ?? defaultUiDir() },
    { prefix: LIB_PREFIX, dir: libDir(), only: LIB_FILES },
  ];
  return {
    api: (req) => handleApi(o.control, req),
    live: new LbLive(o.control, { intervalMs: o.metricsIntervalMs, onError: o.onLiveError }),
    static: statics,
    metrics: (registry, switches) => addLbMetrics(registry, o.control, switches),
  };
}

/** The management server with the load balancer in it (what `holdfast start` runs). */
export function startLbManagementServer(o: Omit<ManagementOptions, 'app'> & LbAppOptions): Promise<ManagementServer> {
  const { control, metricsIntervalMs, uiDir, onLiveError, ...server } = o;
  return startManagementServer({
    ...server,
    app: lbManagementApp({
      control, metricsIntervalMs, uiDir,
      onLiveError: onLiveError ?? ((err) => server.log?.warn({ err }, 'live feed: reading the load balancer failed')),
    }),
  });
}
