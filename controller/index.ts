// The OpenFlow controller runtime: listeners (TCP/TLS), connect-out to listening switches,
// the set of live switches keyed by datapath id, app dispatch, and the reconciler.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { OfMessage } from '../openflow/types.js';
import type { App, SwitchHandle } from './app.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SwitchConnection, type ConnectionOptions } from './connection.js';
import { createLogger, type Logger } from './log.js';
import { Reconciler } from './reconciler.js';

export type { App, OfMessageInput, SwitchCapabilities, SwitchHandle } from './app.js';
export { dpidToHex } from './app.js';
export { OfBackpressureError, OfDisconnectedError, OfProtocolError, OfRequestError, OfTimeoutError } from './errors.js';
export type { DesiredFlow, DesiredGroup } from './desired.js';
export { Reconciler, type DesiredState, type OwnerClaim, type ReconcilerStats } from './reconciler.js';
export { createLogger, type Logger } from './log.js';
export type { ConnectionStats } from './connection.js';

/** PEM text, or a path to a PEM file. */
export type PemSource = string | Buffer;

export interface TlsOptions {
  key: PemSource;
  cert: PemSource;
  /** When given, switches must present a certificate signed by this CA (and, connecting out, so must they). */
  ca?: PemSource;
}

export interface ListenerSpec {
  host?: string;
  port: number;
  /** TLS for this listener; `true` uses the controller-wide `tls` option. */
  tls?: TlsOptions | boolean;
}

export interface ConnectTarget {
  host: string;
  port: number;
  tls?: TlsOptions | boolean;
}

export interface ControllerOptions {
  /** Default: one plain TCP listener on 0.0.0.0:6653. Use [] for none. */
  listeners?: ListenerSpec[];
  tls?: TlsOptions;
  /** Switches that listen (ptcp:/pssl:); connected to and reconnected with backoff. */
  connectTo?: ConnectTarget[];
  /** Send an echo request this often (one at a time), however busy the switch is. Default 5000. */
  echoIntervalMs?: number;
  /**
   * Drop a switch whose echo request stays unanswered this long. Only echo replies count: a
   * switch that keeps sending other messages but does not answer is dropped all the same. Default 15000.
   */
  echoTimeoutMs?: number;
  /** Default timeout for request/multipart/barrier/transaction. Default 10000. */
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Reconciler audit (flow/group dump) period; 0 disables. Default 60000. */
  auditIntervalMs?: number;
  /** Soft bound on bytes queued towards one switch; send() drops above it. Default 4 MiB. */
  maxQueueBytes?: number;
  /** Bound on one incoming message (and bytes buffered for it). Default 65535 (the protocol's own). */
  maxMessageBytes?: number;
  /** Malformed messages tolerated per connection (each gets an OFPT_ERROR) before a disconnect. Default 16. */
  maxMalformed?: number;
  reconnect?: BackoffOptions;
  logger?: Logger;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface BoundAddress {
  host: string;
  port: number;
  tls: boolean;
}

export class Controller {
  readonly log: Logger;
  readonly reconciler: Reconciler;
  private readonly apps: App[] = [];
  private readonly live = new Map<bigint, SwitchConnection>();
  private readonly pendingConns = new Set<SwitchConnection>();
  private readonly servers: { server: net.Server; tls: boolean }[] = [];
  private readonly outgoing: { target: ConnectTarget; timer?: NodeJS.Timeout; conn?: SwitchConnection; socket?: net.Socket }[] = [];
  private readonly connOpts: ConnectionOptions;
  private running = false;

  constructor(private readonly opts: ControllerOptions = {}) {
    this.log = opts.logger ?? createLogger({ level: opts.logLevel, name: 'holdfast-controller' });
    this.connOpts = {
      echoIntervalMs: opts.echoIntervalMs ?? 5000,
      echoTimeoutMs: opts.echoTimeoutMs ?? 15000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10000,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10000,
      maxQueueBytes: opts.maxQueueBytes ?? 4 << 20,
      maxMessageBytes: opts.maxMessageBytes ?? 0xffff,
      maxMalformed: opts.maxMalformed ?? 16,
    };
    this.reconciler = new Reconciler(this.log.child({ component: 'reconciler' }), opts.auditIntervalMs ?? 60_000);
  }

  /** Register an app; it sees switchUp for every switch already connected. */
  use(app: App): this {
    this.apps.push(app);
    for (const sw of this.live.values()) this.call(app, 'switchUp', () => app.switchUp?.(sw));
    return this;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.reconciler.start();
    const listeners = this.opts.listeners ?? [{ host: '0.0.0.0', port: 6653 }];
    for (const l of listeners) await this.listen(l);
    for (const t of this.opts.connectTo ?? []) {
      const entry: (typeof this.outgoing)[number] = { target: t };
      this.outgoing.push(entry);
      this.connectOut(entry, new Backoff(this.opts.reconnect));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reconciler.stop();
    for (const o of this.outgoing) {
      clearTimeout(o.timer);
      o.socket?.destroy();
      o.conn?.close('controller stopping');
    }
    this.outgoing.length = 0;
    const closing = this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r())));
    for (const c of [...this.pendingConns]) c.close('controller stopping');
    for (const c of [...this.live.values()]) c.close('controller stopping');
    await Promise.all(closing);
    this.servers.length = 0;
  }

  /** Actual bound addresses (ports resolved when 0 was asked for). */
  addresses(): BoundAddress[] {
    return this.servers.map(({ server, tls: isTls }) => {
      const a = server.address() as net.AddressInfo;
      return { host: a.address, port: a.port, tls: isTls };
    });
  }

  switches(): SwitchHandle[] {
    return [...this.live.values()];
  }

  switch(dpid: bigint | string): SwitchHandle | undefined {
    return this.live.get(typeof dpid === 'string' ? parseDpid(dpid) : dpid);
  }

  /** Connection counters for one switch (tests, status views). */
  connectionStats(dpid: bigint): SwitchConnection['stats'] | undefined {
    return this.live.get(dpid)?.stats;
  }

  // ---- connections --------------------------------------------------------------------------

  private listen(spec: ListenerSpec): Promise<void> {
    const tlsOpts = spec.tls === true ? this.opts.tls : spec.tls || undefined;
    if (spec.tls === true && !this.opts.tls) throw new Error('listener asks for TLS but no tls option was given');
    const server = tlsOpts
      ? tls.createServer({ ...loadTls(tlsOpts), requestCert: tlsOpts.ca !== undefined, rejectUnauthorized: tlsOpts.ca !== undefined })
      : net.createServer();
    const event = tlsOpts ? 'secureConnection' : 'connection';
    server.on(event, (socket: net.Socket) => this.accept(socket));
    server.on('tlsClientError', (err: Error, socket: net.Socket) => {
      this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake with switch failed');
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
    this.servers.push({ server, tls: tlsOpts !== undefined });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port, spec.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        const a = server.address() as net.AddressInfo;
        this.log.info({ host: a.address, port: a.port, tls: tlsOpts !== undefined }, 'listening for switches');
        resolve();
      });
    });
  }

  private accept(socket: net.Socket, onClosed?: (conn: SwitchConnection, ready: boolean) => void): SwitchConnection {
    let wasReady = false;
    const conn: SwitchConnection = new SwitchConnection(socket, this.connOpts, {
      ready: (c) => {
        wasReady = true;
        this.pendingConns.delete(c);
        this.onReady(c);
      },
      closed: (c, reason) => {
        this.pendingConns.delete(c);
        if (this.live.get(c.dpid) === c) {
          this.live.delete(c.dpid);
          this.reconciler.switchDown(c);
          this.dispatch((app) => app.switchDown?.(c, reason), 'switchDown');
        }
        onClosed?.(c, wasReady);
      },
      message: (c, msg) => this.onAsync(c, msg),
    }, this.log);
    this.pendingConns.add(conn);
    return conn;
  }

  private onReady(conn: SwitchConnection): void {
    const old = this.live.get(conn.dpid);
    if (old) {
      // Same datapath id again: the switch reconnected. Close the old connection first, so apps
      // see switchDown(old) and then switchUp(new).
      this.log.info({ dpid: conn.dpidHex }, 'switch reconnected; replacing its old connection');
      old.close('replaced by a new connection from the same datapath');
    }
    this.live.set(conn.dpid, conn);
    this.reconciler.switchUp(conn);
    this.dispatch((app) => app.switchUp?.(conn), 'switchUp');
  }

  private onAsync(conn: SwitchConnection, msg: OfMessage): void {
    if (this.live.get(conn.dpid) !== conn) return;
    switch (msg.type) {
      case 'packet_in':
        for (let i = 0; i < this.apps.length; i++) {
          const app = this.apps[i];
          if (app.packetIn) this.call(app, 'packetIn', () => app.packetIn?.(conn, msg));
        }
        return;
      case 'flow_removed':
        this.dispatch((app) => app.flowRemoved?.(conn, msg), 'flowRemoved');
        return;
      case 'port_status':
        this.dispatch((app) => app.portStatus?.(conn, msg), 'portStatus');
        return;
      case 'error':
        this.log.debug({ dpid: conn.dpidHex, errType: msg.errType, code: msg.codeName ?? msg.code, xid: msg.xid }, 'async error from switch');
        this.dispatch((app) => app.error?.(conn, msg), 'error');
        return;
      default:
        return;
    }
  }

  private dispatch(fn: (app: App) => unknown, what: string): void {
    for (const app of this.apps) this.call(app, what, () => fn(app));
  }

  /** Apps cannot crash the runtime: sync throws and async rejections are logged. */
  private call(app: App, what: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: Error) => this.log.error({ app: app.name, err: err?.message, stack: err?.stack }, `app ${what} rejected`));
    } catch (err) {
      this.log.error({ app: app.name, err: (err as Error)?.message, stack: (err as Error)?.stack }, `app ${what} threw`);
    }
  }

  private connectOut(entry: (typeof this.outgoing)[number], backoff: Backoff): void {
    if (!this.running) return;
    const { target } = entry;
    const tlsOpts = target.tls === true ? this.opts.tls : target.tls || undefined;
    const retry = (why: string): void => {
      entry.socket = undefined;
      entry.conn = undefined;
      if (!this.running) return;
      const delay = backoff.next();
      this.log.info({ host: target.host, port: target.port, delay, why }, 'connecting to switch again after backoff');
      entry.timer = setTimeout(() => this.connectOut(entry, backoff), delay);
      entry.timer.unref();
    };
    const socket: net.Socket = tlsOpts
      ? tls.connect({
          host: target.host, port: target.port, ...loadTls(tlsOpts),
          rejectUnauthorized: tlsOpts.ca !== undefined,
          // Switch certificates name the switch, not a host name: trust the CA, not the name.
          checkServerIdentity: () => undefined,
        })
      : net.connect({ host: target.host, port: target.port });
    entry.socket = socket;
    const onFail = (err: Error): void => {
      socket.destroy();
      retry(err.message);
    };
    socket.once('error', onFail);
    socket.once(tlsOpts ? 'secureConnect' : 'connect', () => {
      socket.off('error', onFail);
      entry.conn = this.accept(socket, (_c, ready) => {
        if (ready) backoff.reset();
        retry('connection closed');
      });
    });
  }
}

function loadTls(t: TlsOptions): { key: Buffer; cert: Buffer; ca?: Buffer } {
  const load = (p: PemSource): Buffer => (Buffer.isBuffer(p) ? p : p.includes('-----BEGIN') ? Buffer.from(p) : readFileSync(p));
  return { key: load(t.key), cert: load(t.cert), ...(t.ca !== undefined ? { ca: load(t.ca) } : {}) };
}

/** "0000aabbccddeeff", "0x…" or "00:00:aa:…" → bigint. */
export function parseDpid(text: string): bigint {
  return BigInt(`0x${text.replace(/^0x/i, '').replace(/:/g, '')}`);
}
