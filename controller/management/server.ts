// The management server, for whichever app plugs into it: the HTTP(S) server, who may talk to it
// (token, origin), the app's JSON routes under /api, the app's live feed at /api/ws, /metrics
// (the process and the switches, plus the app's collectors), the cluster at /api/cluster, and the
// app's static files (the live view) everywhere else. Nothing here knows what the app is.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import { assertBindAllowed, isLoopbackHost, presentedToken, tokenMatches } from './auth.js';
import { errorResponse, HttpError, type ApiRequest, type ApiResponse } from './http.js';
import { closeHttpServer, createHttpServer, listen, readBody, sendJson } from './http-io.js';
import { createPrometheusMetrics, type SwitchSource } from './prometheus.js';
import { LiveHub, type LiveSource } from './live.js';
import type { ClusterInfo } from './follower.js';

/** A folder served flat under a URL prefix: `/prefix/name` is `dir/name` (plain names only). */
export interface StaticMount {
  /** Starts and ends with '/'; '/' itself serves index.html at '/'. */
  prefix: string;
  dir: string;
  /** Serve only these names from `dir` (for a folder that holds more than the browser may see). */
  only?: readonly string[];
}

/** What an app plugs into the management server. */
export interface ManagementApp {
  /** Answers a request below /api (never throws: failures are error responses). */
  api(req: ApiRequest): ApiResponse;
  /** The live view's data at /api/ws (404 without it). */
  live?: LiveSource;
  /** The live view's files. */
  static?: readonly StaticMount[];
  /** Adds the app's collectors to /metrics (with the runtime's switches when given); returns what stops them. */
  metrics?(registry: Registry, switches: SwitchSource | undefined): () => void;
}

export interface ManagementOptions {
  host: string;
  port: number;
  /** Required unless host is loopback; then every API request and WebSocket must present it. */
  token?: string;
  /** Serve HTTPS (and WSS) with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  /** Resolves once a change is durable (several controllers: in etcd); awaited before a write's
   * answer, so an acknowledged change survives the leader's death. */
  durable?: () => Promise<void>;
  /** Asked before a write is applied: a reason refuses it unmade with a 503 (several controllers:
   * etcd does not answer, so the change could not be kept). */
  refuseWrite?: () => Promise<string | undefined>;
  /** Several controllers: `GET /api/cluster` answers with this (404 without it). */
  cluster?: () => Promise<ClusterInfo>;
  app: ManagementApp;
  /** The OpenFlow runtime, for the per-switch part of /metrics (left out without it). */
  switches?: SwitchSource;
  log?: Logger;
}

export interface ManagementServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

/** How long a write's answer waits for its store to confirm it (several controllers: etcd). */
const DURABLE_WAIT_MS = 5_000;
const WS_PATH = '/api/ws';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export async function startManagementServer(opts: ManagementOptions): Promise<ManagementServer> {
  assertBindAllowed(opts.host, opts.token);
  const { app, token, log } = opts;
  const hub = app.live && new LiveHub(app.live, { onError: (err) => log?.warn({ err }, 'live feed: the snapshot failed') });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const prometheus = createPrometheusMetrics(opts.switches);
  const stopAppMetrics = app.metrics?.(prometheus.registry, opts.switches);
  // Longest prefix first, so '/lib/' wins over '/'.
  const mounts = [...(app.static ?? [])].sort((a, b) => b.prefix.length - a.prefix.length);

  /** Refuses cross-site browser requests and, on an open API, DNS-rebound host names. */
  const checkOrigin = (req: IncomingMessage): void => {
    const origin = req.headers.origin;
    const host = req.headers.host;
    if (origin && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        throw new HttpError(403, 'bad Origin header');
      }
      if (originHost !== host) throw new HttpError(403, `requests from ${origin} are not allowed`);
    }
    if (!token && host) {
      const hostname = hostnameOf(host);
      if (!isLoopbackHost(hostname) && hostname !== opts.host) throw new HttpError(403, `host ${hostname} is not allowed`);
    }
  };

  const checkToken = (req: IncomingMessage, url: URL): void => {
    if (token && !tokenMatches(token, presentedToken(req, url))) {
      throw new HttpError(401, presentedToken(req, url) === undefined ? 'a token is required (Authorization: Bearer <token>)' : 'the token is not valid');
    }
  };

  const onRequest: RequestListener = (req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      log?.error({ err }, 'management request failed');
      if (!res.headersSent) sendJson(res, errorResponse(err));
      else res.destroy();
    });
  };
  const server = createHttpServer(opts.tls, onRequest);

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url) {
      sendJson(res, { status: 400, body: { error: 'bad request target' } });
      return;
    }
    const method = req.method ?? 'GET';
    if (url.pathname === '/metrics') {
      // Same rules as the API: a scraper presents the token (Prometheus: authorization.credentials).
      try {
        checkOrigin(req);
        checkToken(req, url);
        if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed on /metrics`);
        const text = await prometheus.render();
        res.writeHead(200, { 'content-type': prometheus.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : text);
      } catch (err) {
        sendJson(res, errorResponse(err));
      }
      return;
    }
    if (url.pathname === '/api/cluster') {
      try {
        checkOrigin(req);
        checkToken(req, url);
        if (!opts.cluster) throw new HttpError(404, 'this controller runs alone (no --etcd): there is no cluster');
        sendJson(res, { status: 200, body: await opts.cluster() });
      } catch (err) {
        sendJson(res, errorResponse(err));
      }
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      try {
        checkOrigin(req);
        checkToken(req, url);
        const body = await readJsonBody(req);
        const writing = method !== 'GET' && method !== 'HEAD';
        const refused = writing ? await opts.refuseWrite?.() : undefined;
        if (refused !== undefined) throw new HttpError(503, `the change was not made: ${refused}; nothing changed, try again once etcd answers`);
        const answer = app.api({ method, path: url.pathname.slice(4) || '/', query: url.searchParams, body });
        if (writing && answer.status < 300 && opts.durable) {
          let timer: NodeJS.Timeout | undefined;
          const stored = await Promise.race([
            opts.durable().then(() => true),
            new Promise<boolean>((r) => { timer = setTimeout(() => r(false), DURABLE_WAIT_MS); }),
          ]);
          clearTimeout(timer);
          if (!stored) throw new HttpError(503, `the change is applied on the leader but etcd has not confirmed it within ${DURABLE_WAIT_MS / 1000} s (is etcd reachable?): it is retried and kept once etcd answers, and lost if this controller dies before that`);
        }
        sendJson(res, answer);
      } catch (err) {
        sendJson(res, errorResponse(err));
      }
      return;
    }
    serveStatic(url.pathname, method, res);
  }

  function serveStatic(pathname: string, method: string, res: ServerResponse): void {
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(res, { status: 405, body: { error: `${method} is not allowed here` } });
      return;
    }
    const mount = mounts.find((m) => pathname.startsWith(m.prefix));
    const rest = mount ? pathname.slice(mount.prefix.length) : '';
    const name = rest === '' && mount?.prefix === '/' ? 'index.html' : rest;
    // Flat folders, plain names only: nothing outside a mount's folder can be named.
    if (!mount || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || (mount.only && !mount.only.includes(name)) || !existsSync(join(mount.dir, name))) {
      sendJson(res, { status: 404, body: { error: `not found: ${pathname}` } });
      return;
    }
    const data = readFileSync(join(mount.dir, name));
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
      'content-length': data.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    });
    res.end(method === 'HEAD' ? undefined : data);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    try {
      if (!url) throw new HttpError(400, 'bad request target');
      if (url.pathname !== WS_PATH || !hub) throw new HttpError(404, `no WebSocket endpoint at ${url.pathname}`);
      checkOrigin(req);
      checkToken(req, url);
    } catch (err) {
      const { status, body } = errorResponse(err);
      const text = JSON.stringify(body);
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => hub?.attach(ws));
  });

  const address = await listen(server, opts.host, opts.port, 'the management API');
  hub?.start();

  return {
    address,
    async close() {
      hub?.stop();
      stopAppMetrics?.();
      prometheus.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closeHttpServer(server);
    },
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };

/** The request's URL, or undefined when its target cannot be parsed (a client error, not ours). */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** The host name of a Host header; a header that is no host at all (`a b`) is the client's error. */
function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    throw new HttpError(400, 'bad Host header');
  }
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}
