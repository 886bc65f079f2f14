// The management API of a controller that follows (several controllers, one leader): it holds no
// state of its own, so it forwards every API request to the leader and relays the answer, for reads
// and writes alike, so an operator may point the CLI at any member. `GET /api/cluster` it answers
// itself (who leads, the members, this controller's role on each switch). The live view's page is
// a redirect to the leader's; its WebSocket cannot be forwarded and gets a clear 503.
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { isLoopbackHost, presentedToken, tokenMatches } from './auth.js';

export interface ClusterInfo {
  self: { name: string; api: string; openflow: string };
  leader: { name: string; api: string; openflow: string } | undefined;
  isLeader: boolean;
  generationId: string;
  members: { name: string; api: string; openflow: string }[];
  /** This controller's role on each switch it is connected to. */
  switches: { dpid: string; role: string; generationId: string }[];
}

export interface FollowerServerOptions {
  host: string;
  port: number;
  token?: string;
  tls?: { cert: Buffer; key: Buffer };
  cluster: () => Promise<ClusterInfo>;
  log?: Logger;
}

export interface FollowerServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const FORWARD_TIMEOUT_MS = 15_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > MAX_BODY_BYTES) throw new Error('request body over 1 MiB');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export async function startFollowerServer(o: FollowerServerOptions): Promise<FollowerServer> {
  const onRequest: RequestListener = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log?.warn({ err: (err as Error).message }, 'follower API: request failed');
      if (!res.headersSent) send(res, 502, { error: `forwarding to the leader failed: ${(err as Error).message}` });
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://follower');
    } catch {
      send(res, 400, { error: 'bad request target' });
      return;
    }
    const method = req.method ?? 'GET';
    if (url.pathname === '/api/cluster') {
      if (o.token && !tokenMatches(o.token, presentedToken(req, url))) {
        send(res, 401, { error: 'a token is required (Authorization: Bearer <token>)' });
        return;
      }
      send(res, 200, await o.cluster());
      return;
    }
    const { leader } = await o.cluster();
    if (!leader) {
      send(res, 503, { error: 'this controller follows, and no leader is elected yet: try again in a moment' });
      return;
    }
    if (url.pathname === '/api/ws') {
      send(res, 503, { error: `this controller follows; the live feed is the leader's: ${leader.api}/api/ws` });
      return;
    }
    if (!(url.pathname === '/api' || url.pathname.startsWith('/api/') || url.pathname === '/metrics')) {
      // The live view's page and files: the leader serves them (and their live feed).
      res.writeHead(307, { location: `${leader.api}${url.pathname}${url.search}` });
      res.end();
      return;
    }
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'accept']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const answer = await fetch(`${leader.api}${url.pathname}${url.search}`, {
      method, headers, ...(body && body.length > 0 ? { body: new Uint8Array(body) } : {}), redirect: 'manual', signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    const text = Buffer.from(await answer.arrayBuffer());
    res.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/json; charset=utf-8', 'content-length': text.length,
      'cache-control': 'no-store', 'x-holdfast-leader': leader.name,
    });
    res.end(method === 'HEAD' ? undefined : text);
  }

  if (!o.token && !isLoopbackHost(o.host)) throw new Error(`refusing an API on ${o.host} without a token`);
  const server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
