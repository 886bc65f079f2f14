// The HTTP(S) plumbing the management server and a follower's forwarding server share: the
// server over TLS or not, listening and closing, request bodies read under a size limit, JSON
// answers written the one way.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { HttpError, type ApiResponse } from './http.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** HTTPS with this certificate and key (PEM), else plain HTTP. */
export function createHttpServer(tls: { cert: Buffer; key: Buffer } | undefined, onRequest: RequestListener): Server {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createServer(onRequest);
}

/** Listens; an address in use (or any other failure) rejects with what it was for and where. */
export async function listen(server: Server, host: string, port: number, what: string): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  return { host, port: typeof addr === 'object' && addr ? addr.port : port };
}

/** Stops listening and ends open connections (keep-alive ones would hold the close). */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function sendJson(res: ServerResponse, r: ApiResponse): void {
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The request's body; one over MAX_BODY_BYTES is refused (413). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
