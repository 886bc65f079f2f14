// The OpenFlow controller runtime: listeners (TCP/TLS), connect-out to listening switches,
// the set of live switches keyed by datapath id, app dispatch, and the reconciler.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { OfMessage } from '../openflow/types.js';
import { dpidToHex, type App, type SwitchHandle } from './app.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SwitchConnection, type ConnectionOptions } from './connection.js';
import { createLogger, type Logger } from './log.js';
import { hostOf, LogLimiter } from './log-limit.js';
import { checkTlsMaterial, describeTlsFailure } from './tls-check.js';
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
  /**
   * Switch admission: when given, only these datapath ids are let in; any other is refused
   * right after it says who it is (FEATURES_REPLY), before it is told or asked anything else.
   */
  allowDpids?: readonly bigint[];
  /**
   * A connection claiming the datapath id of a connected switch: the connected one is sent an
   * echo request and has this long to answer. If it answers, the newcomer is refused and closed
   * (a real switch is never evicted by whoever reaches the OpenFlow port); if not, the newcomer
   * takes over (the switch rebooted and the old connection is dead). 0: the newest connection
   * always wins (trusting the network). Default 3000.
   */
  takeoverProbeMs?: number;
  /**
   * How long what is kept for a switch that left (reconciler state, apps' per-switch state via
   * App.switchGone) waits for it to come back before it is freed. Default 60000.
   */
  forgetSwitchAfterMs?: number;
  /** Log lines about switches connecting and leaving, per 10 s, before they are only counted. Default 20. */
  churnLogBurst?: number;
  logger?: Logger;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface AdmissionStats {
  /** Refused: datapath id not on the allow-list. */
  notAllowed: number;
  /** Refused: the datapath id's connected switch answered its echo. */
  duplicates: number;
  /** A newcomer replaced a connection that did not answer. */
  takeovers: number;
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
  private readonly allow: ReadonlySet<bigint> | undefined;
  private readonly takeoverProbeMs: number;
  /** Datapath ids whose connected switch is being probed for a newcomer. */
  private readonly probing = new Set<bigint>();
  readonly admission: AdmissionStats = { notAllowed: 0, duplicates: 0, takeovers: 0 };
  private readonly forgetAfterMs: number;
  /** Switches that left, waiting out their grace period before what is kept for them is freed. */
  private readonly departed = new Map<bigint, NodeJS.Timeout>();
  /** Warnings a peer can cause: one line per message and source per window, then a count. */
  readonly warnLimit: LogLimiter;
  /** Switches connecting and leaving: a few lines per window, then a count. */
  private readonly churnLimit: LogLimiter;
  /** The OpenFlow role asked of every switch (several controllers); none: the switch's default, equal. */
  private role: { role: 'master' | 'slave'; generationId: bigint } | undefined;
  /** What each switch answered to the last role request. */
  private readonly roles = new Map<bigint, { role: string; generationId: bigint }>();

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
    this.warnLimit = new LogLimiter(this.log, { burst: 1 });
    this.churnLimit = new LogLimiter(this.log, { burst: opts.churnLogBurst ?? 20 });
    this.reconciler = new Reconciler(this.log.child({ component: 'reconciler' }), opts.auditIntervalMs ?? 60_000, this.warnLimit);
    this.allow = opts.allowDpids ? new Set(opts.allowDpids) : undefined;
    this.takeoverProbeMs = opts.takeoverProbeMs ?? 3000;
    this.forgetAfterMs = opts.forgetSwitchAfterMs ?? 60_000;
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
    this.warnLimit.start();
    this.churnLimit.start();
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
    for (const t of this.departed.values()) clearTimeout(t);
    this.departed.clear();
    this.warnLimit.stop();
    this.churnLimit.stop();
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

  /**
   * Asks every switch for this role (OFPT_ROLE_REQUEST with the generation id), and each switch
   * that connects later, before the apps see it: a master's messages come after its role request
   * on the same connection, so the switch has taken the role before any flow-mod. Resolves when
   * every connected switch has answered (failures are logged: a stale generation id means a
   * newer leader exists).
   */
  async setRole(role: 'master' | 'slave', generationId: bigint): Promise<void> {
    this.role = { role, generationId };
    await Promise.all([...this.live.values()].map((c) => this.requestRole(c)));
  }

  /** The role each switch granted us, by datapath id (hex). */
  switchRoles(): { dpid: string; role: string; generationId: string }[] {
    return [...this.roles].map(([d, r]) => ({ dpid: dpidToHex(d), role: r.role, generationId: r.generationId.toString() }));
  }

  private requestRole(conn: SwitchConnection): Promise<void> {
    const want = this.role;
    if (!want) return Promise.resolve();
    return conn.request({ type: 'role_request', role: want.role, generationId: want.generationId }).then(
      (reply) => {
        if (reply.type === 'role_reply') this.roles.set(conn.dpid, { role: reply.role, generationId: reply.generationId });
      },
      (err: Error) => {
        this.roles.delete(conn.dpid);
        this.warnLimit.warn(conn.dpidHex, { dpid: conn.dpidHex, role: want.role, generationId: want.generationId.toString(), err: err.message },
          'switch refused our role request');
      },
    );
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
    // By the time a handshake fails the TLS socket may be destroyed and have no address left:
    // note each TCP connection's address when it arrives.
    const remotes = new WeakMap<net.Socket, string>();
    if (tlsOpts) server.on('connection', (raw: net.Socket) => void remotes.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
    server.on('tlsClientError', (err: Error & { code?: string; reason?: string }, socket: tls.TLSSocket) => {
      const raw = (socket as unknown as { _parent?: net.Socket })._parent;
      const remote = (raw && remotes.get(raw)) ?? (socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown address');
      const reason = describeTlsFailure(err, socket.authorizationError);
      // The reason is part of the message: different failures from one host are each logged once.
      this.warnLimit.warn(hostOf(remote), { remote, code: err.code }, `TLS handshake with switch failed: ${reason}`);
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
      admit: (c) => this.admit(c),
      ready: (c) => {
        wasReady = true;
        // Stays pending (closed by stop()) until admitted: a duplicate dpid waits for a probe.
        this.onReady(c);
      },
      closed: (c, reason) => {
        this.pendingConns.delete(c);
        if (this.live.get(c.dpid) === c) {
          this.live.delete(c.dpid);
          this.roles.delete(c.dpid);
          this.reconciler.switchDown(c);
          this.dispatch((app) => app.switchDown?.(c, reason), 'switchDown');
          this.scheduleForget(c.dpid);
        }
        onClosed?.(c, wasReady);
      },
      message: (c, msg) => this.onAsync(c, msg),
    }, this.log, { warn: this.warnLimit, churn: this.churnLimit });
    this.pendingConns.add(conn);
    return conn;
  }

  private admit(conn: SwitchConnection): string | undefined {
    if (this.allow && !this.allow.has(conn.dpid)) {
      this.admission.notAllowed++;
      this.warnLimit.warn(hostOf(conn.remote), { dpid: conn.dpidHex, remote: conn.remote }, 'refused a switch: its datapath id is not on the allow-list');
      return `datapath id ${conn.dpidHex} is not on the allow-list`;
    }
    return undefined;
  }

  private onReady(conn: SwitchConnection): void {
    const old = this.live.get(conn.dpid);
    if (!old) {
      this.install(conn);
      return;
    }
    if (this.takeoverProbeMs <= 0) {
      this.log.info({ dpid: conn.dpidHex, remote: conn.remote, old: old.remote }, 'switch reconnected; replacing its old connection');
      this.takeOver(old, conn, 'replaced by a new connection from the same datapath');
      return;
    }
    if (this.probing.has(conn.dpid)) {
      this.refuseDuplicate(conn, old, 'another connection claiming it is already being checked');
      return;
    }
    // Only an echo reply proves the connected switch is there; until then the newcomer waits.
    this.probing.add(conn.dpid);
    void old.probeLiveness(this.takeoverProbeMs).then((alive) => {
      this.probing.delete(conn.dpid);
      if (conn.isClosed) return;
      const current = this.live.get(conn.dpid);
      if (current && current !== old) {
        this.refuseDuplicate(conn, current, 'it changed hands while this connection waited');
      } else if (alive && current === old) {
        this.refuseDuplicate(conn, old, `the connected switch answered an echo within ${this.takeoverProbeMs} ms`);
      } else {
        this.admission.takeovers++;
        this.warnLimit.warn(conn.dpidHex, { dpid: conn.dpidHex, remote: conn.remote, old: old.remote },
          `switch reconnected; its old connection did not answer an echo within ${this.takeoverProbeMs} ms and is replaced`);
        this.takeOver(old, conn, `replaced by a connection from ${conn.remote}: no echo reply within ${this.takeoverProbeMs} ms`);
      }
    });
  }

  private refuseDuplicate(conn: SwitchConnection, holder: SwitchConnection, why: string): void {
    this.admission.duplicates++;
    this.pendingConns.delete(conn);
    this.warnLimit.warn(conn.dpidHex, { dpid: conn.dpidHex, remote: conn.remote, connected: holder.remote },
      `refused a connection claiming a connected switch's datapath id: ${why}`);
    conn.close(`datapath id ${conn.dpidHex} is already connected from ${holder.remote}`);
  }

  /** Close the old connection first, so apps see switchDown(old) and then switchUp(new). */
  private takeOver(old: SwitchConnection, conn: SwitchConnection, reason: string): void {
    old.close(reason);
    this.install(conn);
  }

  private install(conn: SwitchConnection): void {
    clearTimeout(this.departed.get(conn.dpid));
    this.departed.delete(conn.dpid);
    this.pendingConns.delete(conn);
    this.live.set(conn.dpid, conn);
    if (this.role) void this.requestRole(conn);
    this.reconciler.switchUp(conn);
    this.dispatch((app) => app.switchUp?.(conn), 'switchUp');
  }

  /** After the grace period, free what the runtime and the apps keep for a switch that left. */
  private scheduleForget(dpid: bigint): void {
    clearTimeout(this.departed.get(dpid));
    if (!this.running) return;
    const t = setTimeout(() => {
      this.departed.delete(dpid);
      if (this.live.has(dpid)) return;
      this.reconciler.forget(dpid);
      this.dispatch((app) => app.switchGone?.(dpid), 'switchGone');
    }, this.forgetAfterMs);
    t.unref();
    this.departed.set(dpid, t);
  }

  /** Datapath ids that left and are within their grace period (tests, status). */
  departedSwitches(): bigint[] {
    return [...this.departed.keys()];
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
    const onFail = (err: Error & { code?: string; reason?: string }): void => {
      socket.destroy();
      retry(tlsOpts ? `TLS: ${describeTlsFailure(err)}` : err.message);
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

/** Loads and checks the TLS material (a garbage CA would otherwise refuse every switch, silently). */
function loadTls(t: TlsOptions): { key: Buffer; cert: Buffer; ca?: Buffer } {
  const load = (p: PemSource): Buffer => (Buffer.isBuffer(p) ? p : p.includes('-----BEGIN') ? Buffer.from(p) : readFileSync(p));
  const name = (p: PemSource, what: string): string => (Buffer.isBuffer(p) || p.includes('-----BEGIN') ? `(${what} given inline)` : p);
  const m = { key: load(t.key), cert: load(t.cert), ...(t.ca !== undefined ? { ca: load(t.ca) } : {}) };
  checkTlsMaterial(m, { key: name(t.key, 'key'), cert: name(t.cert, 'certificate'), ...(t.ca !== undefined ? { ca: name(t.ca, 'CA') } : {}) });
  return m;
}

/** "0000aabbccddeeff", "0x…" or "00:00:aa:…" → bigint. */
export function parseDpid(text: string): bigint {
  return BigInt(`0x${text.replace(/^0x/i, '').replace(/:/g, '')}`);
}
