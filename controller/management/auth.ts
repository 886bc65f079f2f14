// Who may talk to the management API: loopback binds may run open; any other bind needs a token,
// and with a token every API request and WebSocket must carry it.
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.x.x and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/** Throws when a bind would expose an open API. */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw new Error(`the management API on ${host} is reachable from other hosts: set a token (--token or HOLDFAST_TOKEN) or bind to 127.0.0.1`);
  }
}

/** The token a request presents: `Authorization: Bearer X`, else `?token=X` (WebSocket from a browser). */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m ? m[1]!.trim() : undefined;
  }
  return url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison (hash first so lengths never leak through timing). */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
