// The CLI's client of the management API: JSON over HTTP, every failure turned into one line.
import WebSocket from 'ws';
import type { WsServerMessage } from '../../apps/lb/web/protocol.js';
import { CliError } from './errors.js';

export interface ClientOptions { api: string; token?: string }

const TIMEOUT_MS = 15_000;

export class ApiClient {
  constructor(readonly opts: ClientOptions) {}

  get<T>(path: string): Promise<T> { return this.call<T>('GET', path); }
  post<T>(path: string, body?: unknown): Promise<T> { return this.call<T>('POST', path, body); }
  put<T>(path: string, body: unknown): Promise<T> { return this.call<T>('PUT', path, body); }
  patch<T>(path: string, body: unknown): Promise<T> { return this.call<T>('PATCH', path, body); }
  delete<T>(path: string): Promise<T> { return this.call<T>('DELETE', path); }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers = this.headers();
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.opts.api}/api${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`the API at ${this.opts.api} answered ${res.status} with something that is not JSON (is that the Holdfast API?)`);
    }
    if (res.status === 401) throw this.refused();
    if (!res.ok) {
      const msg = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String((parsed as { error: unknown }).error) : `HTTP ${res.status}`;
      throw new CliError(msg);
    }
    return parsed as T;
  }

  /** Opens the live feed; rejects with a one-line CliError when it cannot. The handler is attached
   * before the handshake ends: the snapshot can arrive in the same read as the upgrade. */
  openFeed(onMessage: (m: WsServerMessage) => void): Promise<WebSocket> {
    const url = `${this.opts.api.replace(/^http/, 'ws')}/api/ws`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: this.headers(), handshakeTimeout: TIMEOUT_MS });
      ws.on('message', (data) => {
        let m: WsServerMessage;
        try {
          m = JSON.parse(String(data)) as WsServerMessage;
        } catch {
          return;
        }
        onMessage(m);
      });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(res.statusCode === 401 ? this.refused() : new CliError(`the API refused the live feed: HTTP ${res.statusCode}`));
      });
      ws.once('error', (err) => reject(this.unreachable(err)));
    });
  }

  private refused(): CliError {
    return new CliError(this.opts.token
      ? 'the API refused the token'
      : 'the API refused the request: it needs a token (--token or HOLDFAST_TOKEN)');
  }

  private unreachable(err: unknown): CliError {
    if (err instanceof CliError) return err;
    const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string }; message?: string };
    const code = e.cause?.code ?? e.code;
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s`
      : code === 'ECONNREFUSED' ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found'
      : code === 'ECONNRESET' ? 'connection reset'
      : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'host unreachable'
      : (e.cause?.message ?? e.message ?? String(err));
    return new CliError(`cannot reach the Holdfast API at ${this.opts.api}: ${why}`);
  }
}

/** Path of a backend resource (keys contain ':' — encode). */
export function backendPath(service: string, key: string): string {
  return `/services/${encodeURIComponent(service)}/backends/${encodeURIComponent(key)}`;
}
export function servicePath(service: string): string {
  return `/services/${encodeURIComponent(service)}`;
}
