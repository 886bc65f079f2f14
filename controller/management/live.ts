// The WebSocket plumbing behind /api/ws, for whichever app feeds the live view: clients come and
// go, each gets the app's snapshot on connect, then every message the app broadcasts. Slow clients
// are cut off (they reconnect for a fresh snapshot) and dead ones are found by ping.
import type { WebSocket } from 'ws';

/** What an app's live source may do with the connected clients. */
export interface LiveFeed {
  broadcast(msg: unknown): void;
  readonly clientCount: number;
}

/** An app's live data: started with the server, asked for a snapshot for each new client. */
export interface LiveSource {
  start(feed: LiveFeed): void;
  stop(): void;
  /** The first message a client gets; throwing closes the client (1011). */
  snapshot(): unknown;
}

export interface LiveHubOptions {
  /** A client whose send buffer grows past this is cut off; it reconnects for a fresh snapshot. */
  maxBufferedBytes?: number;
  onError?: (err: unknown) => void;
}

const PING_EVERY_MS = 15_000;

export class LiveHub implements LiveFeed {
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakSet<WebSocket>();
  private ping: NodeJS.Timeout | undefined;
  private readonly maxBufferedBytes: number;

  constructor(private readonly source: LiveSource, private readonly opts: LiveHubOptions = {}) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  start(): void {
    this.source.start(this);
    this.ping = setInterval(() => this.heartbeat(), PING_EVERY_MS);
  }

  stop(): void {
    this.source.stop();
    clearInterval(this.ping);
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
      this.sendRaw(ws, JSON.stringify(this.source.snapshot()));
    } catch (err) {
      this.opts.onError?.(err);
      ws.close(1011, 'snapshot failed');
    }
  }

  broadcast(msg: unknown): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(msg);
    for (const ws of this.clients) this.sendRaw(ws, data);
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
