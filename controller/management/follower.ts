// The management API of a controller that follows (several controllers, one leader): it holds no
// state of its own, so it forwards every API request to the leader and relays the answer, for reads
// and writes alike, so an operator may point the CLI at any member. `GET /api/cluster` it answers
// itself (who leads, the members, this controller's role on each switch). The live view's page is
// a redirect to the leader's; its WebSocket cannot be forwarded and gets a clear 503.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { assertBindAllowed, presentedToken, tokenMatches } from './auth.js';
import { errorResponse, HttpError } from './http.js';
import { closeHttpServer, createHttpServer, listen, readBody, sendJson } from './http-io.js';

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

const FORWARD_TIMEOUT_MS = 15_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, { status, body });
}

export async function startFollowerServer(o: FollowerServerOptions): Promise<FollowerServer> {
  const onRequest: RequestListener = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log?.warn({ err: (err as Error).message }, 'follower API: request failed');
      if (res.headersSent) res.destroy();
      // The request's own fault (a body over the limit) keeps its status; the rest is the forwarding's.
      else if (err instanceof HttpError) sendJson(res, errorResponse(err));
      else send(res, 502, { error: `forwarding to the leader failed: ${(err as Error).message}` });
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

  assertBindAllowed(o.host, o.token);
  const server = createHttpServer(o.tls, onRequest);
  const address = await listen(server, o.host, o.port, 'the follower API');
  return { address, close: () => closeHttpServer(server) };
}
