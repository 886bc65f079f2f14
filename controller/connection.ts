// One switch connection: framing, handshake, keepalive, request/reply, transactions, and the
// bounded send queue. It implements SwitchHandle; the Controller owns the set of connections.
import type { Socket } from 'node:net';
import { Writer } from '../openflow/buf.js';
import { decodeMessage, encodeMessage, OFPT, writeMessage } from '../openflow/messages.js';
import { OfFramer } from '../openflow/framing.js';
import {
  OFPBF, OFPCML_NO_BUFFER, type MessageOf, type MultipartReplyBody, type MultipartRequestBody,
  type OfDecodeError, type OfMessage, type Port, type WireVersion,
} from '../openflow/types.js';
import { dpidToHex, type OfMessageInput, type SwitchCapabilities, type SwitchHandle } from './app.js';
import { emptyCapabilities, switchCapabilities } from './capabilities.js';
import { OfDisconnectedError, OfProtocolError, OfRequestError } from './errors.js';
import {
  encodeRawError, negotiateVersion, OFPBRC_BAD_LEN, OFPBRC_BAD_TYPE, OFPBRC_BAD_VERSION, OFPET_BAD_REQUEST,
  OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE, SUPPORTED_VERSIONS, versionName,
} from './hello.js';
import { EchoMonitor } from './keepalive.js';
import type { Logger } from './log.js';
import { hostOf, type LogLimiter } from './log-limit.js';
import { RequestTracker, XidAllocator } from './requests.js';

/**
 * Ports kept per switch. Open vSwitch numbers ports up to 65279 but real bridges and hardware
 * switches have far fewer; without a bound a switch could grow the map (and the heap) without end
 * by announcing new port numbers (200,000 port-status adds held 60 MB). Past it, new ports are
 * not recorded (apps still see the port-status message), with a rate-limited warning.
 */
export const MAX_PORTS = 8192;

export interface ConnectionOptions {
  echoIntervalMs: number;
  echoTimeoutMs: number;
  requestTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Soft bound on bytes queued towards the switch: over it, send() drops and reports false. */
  maxQueueBytes: number;
  /** Bound on bytes held for one incoming message. */
  maxMessageBytes: number;
  /** Malformed messages tolerated (each answered with OFPT_ERROR) before disconnecting. */
  maxMalformed: number;
}

export interface ConnectionEvents {
  /**
   * The switch said who it is (FEATURES_REPLY): a reason string refuses it before anything else
   * is asked or sent, undefined lets the handshake go on.
   */
  admit?(conn: SwitchConnection): string | undefined;
  ready(conn: SwitchConnection): void;
  closed(conn: SwitchConnection, reason: string): void;
  /** An async message for apps (packet_in, flow_removed, port_status, unsolicited error). */
  message(conn: SwitchConnection, msg: OfMessage): void;
}

export interface ConnectionStats {
  rxMessages: number;
  txMessages: number;
  malformed: number;
  echoRequestsSent: number;
  echoRepliesReceived: number;
  echoRequestsAnswered: number;
  lastEchoRttMs: number | null;
  droppedSends: number;
  /** By message type, for /metrics: packet-ins, flow-removed and errors received (errors that
   * answer a request included), flow-mods sent (those inside bundles included). */
  packetIns: number;
  flowRemoved: number;
  errors: number;
  flowMods: number;
  /** Group-mods sent (several controllers: a new leader's first change to a switch may be one). */
  groupMods: number;
}

type State = 'hello' | 'handshake' | 'ready' | 'closed';

/** Shared by all connections: what one peer (or a churn of them) can make us log is bounded. */
export interface ConnectionLogLimits {
  /** Warnings, per message and switch (its dpid, or its host before the handshake). */
  warn: LogLimiter;
  /** "switch connected"/"switch disconnected", for all switches together. */
  churn: LogLimiter;
}

// Type codes the per-message counters below look at. Literals, not loads from OFPT: V8 folds a
// literal module constant into the compare, where a value destructured from an object stays a
// context-slot load per frame. Each is typed as the registry's code, so a literal that drifted
// from its declaration does not compile.
const OFPT_ERROR: typeof OFPT.ERROR = 1;
const OFPT_PACKET_IN: typeof OFPT.PACKET_IN = 10;
const OFPT_FLOW_REMOVED: typeof OFPT.FLOW_REMOVED = 11;
const OFPT_FLOW_MOD: typeof OFPT.FLOW_MOD = 14;
const OFPT_GROUP_MOD: typeof OFPT.GROUP_MOD = 15;
const OFPT_BUNDLE_ADD_MESSAGE: typeof OFPT.BUNDLE_ADD_MESSAGE = 34;
/** A bundle-add message's inner message starts after its 16-byte header and bundle fields. */
const BUNDLE_INNER_AT = 16;

/** Flow-mods among whole OpenFlow messages laid end to end (one tick's write), bundled ones too:
 * the hot path's pre-encoded pins never pass through an encoder that could count them. */
export function countFlowMods(buf: Uint8Array): number {
  const n = { flowMods: 0, groupMods: 0 };
  countMods(buf, n);
  return n.flowMods;
}

/** Adds the flow-mods (bundled ones too) and group-mods in `buf` to `into`, in one pass. Counts
 * in locals and adds once: `into` is the connection's stats object, and a property store per
 * message (one per pin) costs more than the scan itself. */
export function countMods(buf: Uint8Array, into: { flowMods: number; groupMods: number }): void {
  let flowMods = 0;
  let groupMods = 0;
  for (let at = 0; at + 8 <= buf.length;) {
    const len = (buf[at + 2]! << 8) | buf[at + 3]!;
    const type = buf[at + 1];
    if (type === OFPT_FLOW_MOD) flowMods++;
    else if (type === OFPT_GROUP_MOD) groupMods++;
    else if (type === OFPT_BUNDLE_ADD_MESSAGE && at + BUNDLE_INNER_AT + 2 <= buf.length) {
      const inner = buf[at + BUNDLE_INNER_AT + 1];
      if (inner === OFPT_FLOW_MOD) flowMods++;
      else if (inner === OFPT_GROUP_MOD) groupMods++;
    }
    if (len < 8) break;
    at += len;
  }
  into.flowMods += flowMods;
  into.groupMods += groupMods;
}

/** Hard bound = this × soft bound: a switch that lets even our control replies pile up is not reading. */
const HARD_QUEUE_FACTOR = 4;
/** Bytes of answers that are written at once, even in the middle of handling one socket read. */
const MID_READ_FLUSH_BYTES = 16 * 1024;

export class SwitchConnection implements SwitchHandle {
  private state: State = 'hello';
  private readonly framer: OfFramer;
  private readonly tracker = new RequestTracker();
  private readonly xids = new XidAllocator(1);
  /** This tick's outgoing bytes: every write appends here and one socket write per tick sends
   * them in order (fewer syscalls, no per-message buffers on the hot path). */
  private readonly out = new Writer(64 * 1024);
  private flushScheduled = false;
  /** Created when the HELLO exchange is done: from then on the switch must answer echoes. */
  private echo: EchoMonitor | undefined;
  /** Liveness probes waiting for the next echo reply (see probeLiveness). */
  private readonly echoWaiters = new Set<(alive: boolean) => void>();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private nextBundleId = 1;
  private closeReason = '';
  private _version: WireVersion = 6;
  private _dpid = 0n;
  private _dpidHex = '';
  private readonly _ports = new Map<number, Port>();
  private _capabilities: SwitchCapabilities = emptyCapabilities();
  private _connectedAt = new Date();
  private readonly drainWaiters: (() => void)[] = [];
  readonly stats: ConnectionStats = {
    rxMessages: 0, txMessages: 0, malformed: 0, echoRequestsSent: 0, echoRepliesReceived: 0,
    echoRequestsAnswered: 0, lastEchoRttMs: null, droppedSends: 0, packetIns: 0, flowRemoved: 0, errors: 0, flowMods: 0, groupMods: 0,
  };
  readonly remote: string;
  readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
    private readonly events: ConnectionEvents,
    log: Logger,
    private readonly limits?: ConnectionLogLimits,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.log = log.child({ remote: this.remote });
    this.framer = new OfFramer({ maxBuffered: opts.maxMessageBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close(this.closeReason || 'connection closed by switch'));
    socket.on('drain', () => this.wakeDrainWaiters());
    this.handshakeTimer = setTimeout(() => this.close(`handshake not done within ${opts.handshakeTimeoutMs} ms`), opts.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.writeRaw(encodeMessage({ type: 'hello', version: 6, xid: this.xids.next(), versions: [...SUPPORTED_VERSIONS] }));
  }

  // ---- SwitchHandle ------------------------------------------------------------------------

  get dpid(): bigint { return this._dpid; }
  get dpidHex(): string { return this._dpidHex; }
  get version(): WireVersion { return this._version; }
  get ports(): ReadonlyMap<number, Port> { return this._ports; }
  get capabilities(): SwitchCapabilities { return this._capabilities; }
  get connectedAt(): Date { return this._connectedAt; }
  get connected(): boolean { return this.state === 'ready'; }
  get isClosed(): boolean { return this.state === 'closed'; }

  queueDepth(): number {
    return this.socket.writableLength + this.out.offset;
  }

  send(msg: OfMessageInput): boolean {
    if (!this.canQueue()) return false;
    this.writeRaw(this.encode(msg, msg.xid ?? this.xids.next()));
    return true;
  }

  sendBatch(msgs: readonly OfMessageInput[]): boolean {
    if (!this.canQueue()) return false;
    // Encode straight into this tick's write; on an encode error nothing of the batch stays.
    const w = this.out;
    const start = w.offset;
    const version = this._version;
    try {
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        writeMessage(w, { ...m, version, xid: m.xid ?? this.xids.next() } as OfMessage);
      }
    } catch (err) {
      w.offset = start;
      throw err;
    }
    this.stats.txMessages += msgs.length;
    this.scheduleFlush();
    return true;
  }

  sendPrebuilt(length: number, fill: (buf: Buffer, at: number, xid: number) => void): boolean {
    if (!this.canQueue()) return false;
    const at = this.out.reserve(length);
    fill(this.out.buffer, at, this.xids.next());
    this.stats.txMessages++;
    this.scheduleFlush();
    return true;
  }

  async request(msg: OfMessageInput, timeoutMs = this.opts.requestTimeoutMs): Promise<OfMessage> {
    const xid = msg.xid ?? this.xids.next();
    const buf = this.encode(msg, xid);
    await this.drain();
    const reply = this.tracker.expectReply(xid, msg.type, timeoutMs);
    this.writeRaw(buf);
    return reply;
  }

  async multipart(body: MultipartRequestBody, timeoutMs = this.opts.requestTimeoutMs): Promise<MultipartReplyBody[]> {
    const xid = this.xids.next();
    const buf = this.encode({ type: 'multipart_request', flags: 0, body }, xid);
    await this.drain();
    const parts = this.tracker.expectMultipart(xid, 'multipart_request', timeoutMs);
    this.writeRaw(buf);
    return parts;
  }

  async barrier(timeoutMs = this.opts.requestTimeoutMs): Promise<void> {
    const reply = await this.request({ type: 'barrier_request' }, timeoutMs);
    if (reply.type !== 'barrier_reply') throw new OfProtocolError(`barrier answered with ${reply.type}`);
  }

  async transaction(msgs: readonly OfMessageInput[], timeoutMs = this.opts.requestTimeoutMs): Promise<void> {
    if (msgs.length === 0) return;
    if (this._capabilities.bundles) {
      try {
        await this.bundleTransaction(msgs, timeoutMs);
        return;
      } catch (err) {
        if (!(err instanceof BundleRefused)) throw err;
        this.warn({ err: err.cause.message }, 'switch refused a bundle open; using ordered messages + barrier');
        this._capabilities = { ...this._capabilities, bundles: false };
      }
    }
    await this.orderedTransaction(msgs, timeoutMs);
  }

  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new OfDisconnectedError(this.closeReason));
    if (this.socket.writableLength <= this.opts.maxQueueBytes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiters.push(() => (this.state === 'closed' ? reject(new OfDisconnectedError(this.closeReason)) : resolve()));
    });
  }

  close(reason = 'closed by controller'): void {
    this.shutdown(reason, false);
  }

  // ---- transactions ------------------------------------------------------------------------

  private async bundleTransaction(msgs: readonly OfMessageInput[], timeoutMs: number): Promise<void> {
    const bundleId = this.nextBundleId++ >>> 0;
    const flags = OFPBF.ATOMIC | OFPBF.ORDERED;
    try {
      const open = await this.request({ type: 'bundle_control', bundleId, controlType: 'open_request', flags }, timeoutMs);
      if (open.type !== 'bundle_control' || open.controlType !== 'open_reply') {
        throw new OfProtocolError(`bundle open answered with ${open.type}`);
      }
    } catch (err) {
      if (err instanceof OfRequestError && isUnsupported(err)) throw new BundleRefused(err);
      throw err;
    }
    const errors: OfRequestError[] = [];
    try {
      await this.watchedBatch(msgs, errors, () => this.xids.next(), (m, xid) => {
        const inner = { ...m, version: this._version, xid } as OfMessage;
        return encodeMessage({ type: 'bundle_add_message', version: this._version, xid, bundleId, flags, message: inner });
      }, () => this.request({ type: 'bundle_control', bundleId, controlType: 'commit_request', flags }, timeoutMs));
    } catch (err) {
      // The switch reports the offending message's own error before the commit's BUNDLE_FAILED.
      if (errors.length > 0) throw errors[0];
      throw err;
    }
    if (errors.length > 0) throw errors[0];
  }

  private async orderedTransaction(msgs: readonly OfMessageInput[], timeoutMs: number): Promise<void> {
    const errors: OfRequestError[] = [];
    // Replies are ordered: once the barrier is answered, every error for the batch has arrived.
    await this.watchedBatch(msgs, errors, (m) => m.xid ?? this.xids.next(), (m, xid) => this.encode(m, xid), () => this.barrier(timeoutMs));
    if (errors.length > 0) throw errors[0];
  }

  /**
   * A transaction's body: writes the messages (chunked), each watched for an error of its own
   * (pushed to `errors` as it arrives), then `finish` (the commit, the barrier) after which no more
   * can come. The xids are released whatever happens; what the errors mean is the caller's.
   */
  private async watchedBatch(
    msgs: readonly OfMessageInput[], errors: OfRequestError[], xidOf: (m: OfMessageInput) => number,
    encode: (m: OfMessageInput, xid: number) => Buffer, finish: () => Promise<unknown>,
  ): Promise<void> {
    const xids: number[] = [];
    try {
      await this.writeChunked(msgs.length, (i) => {
        const xid = xidOf(msgs[i]);
        xids.push(xid);
        this.tracker.watch(xid, msgs[i].type, (e) => errors.push(e));
        return encode(msgs[i], xid);
      });
      await finish();
    } finally {
      for (const x of xids) this.tracker.release(x);
    }
  }

  /** Encode and write n messages in ~64 KiB writes, waiting for the queue to drain when over its bound. */
  private async writeChunked(n: number, encodeAt: (i: number) => Buffer): Promise<void> {
    let bufs: Buffer[] = [];
    let size = 0;
    for (let i = 0; i < n; i++) {
      const b = encodeAt(i);
      bufs.push(b);
      size += b.length;
      if (size >= 65536 || i === n - 1) {
        await this.drain();
        this.writeRaw(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs, size), bufs.length);
        bufs = [];
        size = 0;
      }
    }
  }

  // ---- writing -----------------------------------------------------------------------------

  private encode(msg: OfMessageInput, xid: number): Buffer {
    return encodeMessage({ ...msg, version: this._version, xid } as OfMessage);
  }

  private canQueue(): boolean {
    if (this.state !== 'ready' && this.state !== 'handshake') return false;
    if (this.socket.writableLength + this.out.offset > this.opts.maxQueueBytes) {
      this.stats.droppedSends++;
      return false;
    }
    return true;
  }

  /** Appends to this tick's write, so a burst of sends becomes one syscall. */
  private writeRaw(buf: Buffer, count = 1): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.stats.txMessages += count;
    this.out.bytes(buf);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const w = this.out;
    if (w.offset === 0) return;
    const bytes = w.finish();
    countMods(bytes, this.stats);
    if (!this.socket.destroyed) this.socket.write(Buffer.from(bytes));
    w.reset();
  }

  /** For replies the runtime owes the switch (echo, errors): a switch that lets them pile up is dropped. */
  private writeControl(buf: Buffer): void {
    if (this.socket.writableLength > this.opts.maxQueueBytes * HARD_QUEUE_FACTOR) {
      this.close(`switch is not reading (${this.socket.writableLength} bytes queued)`);
      return;
    }
    this.writeRaw(buf);
  }

  private wakeDrainWaiters(): void {
    if (this.state !== 'closed' && this.socket.writableLength > this.opts.maxQueueBytes) return;
    const ws = this.drainWaiters.splice(0);
    for (const w of ws) w();
  }

  // ---- reading -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const events = this.framer.push(chunk);
    for (let i = 0; i < events.length; i++) {
      if (this.isClosed) return; // a frame may have closed the connection
      const ev = events[i];
      if (ev.ok) this.onFrame(ev.frame);
      else this.onStreamBroken(ev.error);
      // A large read can hold hundreds of packet-ins: send their answers as they pile up rather
      // than after the whole read, so the first ones do not wait for the last.
      if (this.out.offset >= MID_READ_FLUSH_BYTES) this.flush();
    }
  }

  /** The framer cannot resync after a lying length: answer if we can, then drop the switch. */
  private onStreamBroken(err: OfDecodeError): void {
    this.stats.malformed++;
    this.warn({ kind: err.kind, detail: err.message }, 'unframeable input from switch; disconnecting');
    if (err.xid !== undefined) {
      this.writeRaw(encodeRawError(this.errorVersion(err.version), err.xid, OFPET_BAD_REQUEST, OFPBRC_BAD_LEN, Buffer.alloc(0)));
    }
    this.closeAfterFlush(`malformed stream: ${err.message}`);
  }

  private onFrame(frame: Buffer): void {
    this.stats.rxMessages++;
    if (this.state === 'hello') {
      this.onHello(frame);
      return;
    }
    if (frame[0] !== this._version) {
      this.malformed(frame, OFPBRC_BAD_VERSION, `message version ${frame[0]} after negotiating ${this._version}`);
      return;
    }
    const type = frame[1];
    if (type === OFPT_PACKET_IN) this.stats.packetIns++;
    else if (type === OFPT_FLOW_REMOVED) this.stats.flowRemoved++;
    else if (type === OFPT_ERROR) this.stats.errors++;
    const res = decodeMessage(frame);
    if (!res.ok) {
      const code = res.error.kind === 'bad_value' ? OFPBRC_BAD_TYPE : OFPBRC_BAD_LEN;
      this.malformed(frame, code, `${res.error.kind}: ${res.error.message}`);
      return;
    }
    // Types up to OFPT_CONTROLLER_STATUS (35, OpenFlow 1.5) exist; the codec may just not model them.
    if (res.value.type === 'raw' && frame[1] > 35) {
      this.malformed(frame, OFPBRC_BAD_TYPE, `unknown message type ${frame[1]}`);
      return;
    }
    this.onMessage(res.value);
  }

  private malformed(frame: Buffer, code: number, detail: string): void {
    this.stats.malformed++;
    this.warn({ type: frame[1], detail }, 'malformed message from switch');
    this.writeControl(encodeRawError(this.errorVersion(frame[0]), frame.readUInt32BE(4), OFPET_BAD_REQUEST, code, frame));
    if (this.stats.malformed > this.opts.maxMalformed) {
      this.closeAfterFlush(`more than ${this.opts.maxMalformed} malformed messages`);
    }
  }

  private errorVersion(theirs: number | undefined): number {
    return this.state === 'hello' ? (theirs ?? 6) : this._version;
  }

  private onHello(frame: Buffer): void {
    if (frame[1] !== 0) {
      this.malformed(frame, OFPBRC_BAD_TYPE, `expected HELLO first, got type ${frame[1]}`);
      this.closeAfterFlush('switch did not start with HELLO');
      return;
    }
    const n = negotiateVersion(frame);
    if (!n.ok) {
      this.warn({ switchVersion: versionName(frame[0]), reason: n.reason }, 'incompatible OpenFlow version; disconnecting');
      const text = Buffer.from(`incompatible: ${n.reason}`);
      this.writeRaw(encodeRawError(Math.min(frame[0], 6), frame.readUInt32BE(4), OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE, text));
      this.closeAfterFlush(`incompatible version (${n.reason})`);
      return;
    }
    this._version = n.version;
    this.state = 'handshake';
    this.startKeepalive();
    this.handshake().catch((err: Error) => this.close(`handshake failed: ${err.message}`));
  }

  private async handshake(): Promise<void> {
    const features = await this.request({ type: 'features_request' });
    if (features.type !== 'features_reply') throw new OfProtocolError(`features_request answered with ${features.type}`);
    this._dpid = features.datapathId;
    this._dpidHex = dpidToHex(features.datapathId);
    const refusal = this.events.admit?.(this);
    if (refusal !== undefined) {
      this.close(refusal);
      return;
    }
    this.send({ type: 'set_config', flags: 0, missSendLen: OFPCML_NO_BUFFER });
    const [portParts, descParts, groupFeatures, bundles] = await Promise.all([
      this.multipart({ kind: 'port_desc' }),
      this.multipart({ kind: 'desc' }).catch(() => [] as MultipartReplyBody[]),
      this.multipart({ kind: 'group_features' }).catch(() => [] as MultipartReplyBody[]),
      this.probeBundles(),
    ]);
    for (const p of portParts) if (p.kind === 'port_desc') for (const port of p.ports) this.setPort(port);
    const desc = descParts.find((p) => p.kind === 'desc')?.desc ?? null;
    const gf = groupFeatures.find((p) => p.kind === 'group_features')?.features ?? null;
    this._capabilities = switchCapabilities({
      nTables: features.nTables, nBuffers: features.nBuffers, features: features.capabilities, desc, groupFeatures: gf, bundles,
    });
    await this.barrier();
    if (this.isClosed) return;
    clearTimeout(this.handshakeTimer);
    this._connectedAt = new Date();
    this.state = 'ready';
    this.churn({ version: versionName(this._version), ports: this._ports.size, bundles }, 'switch connected');
    this.events.ready(this);
  }

  /** A bundle open then discard: the only reliable way to learn whether the switch does bundles. */
  private async probeBundles(): Promise<boolean> {
    const bundleId = 0xfffffff0;
    try {
      const r = await this.request({ type: 'bundle_control', bundleId, controlType: 'open_request', flags: OFPBF.ATOMIC });
      if (r.type !== 'bundle_control') return false;
      await this.request({ type: 'bundle_control', bundleId, controlType: 'discard_request', flags: OFPBF.ATOMIC });
      return true;
    } catch (err) {
      if (err instanceof OfDisconnectedError) throw err;
      this.log.debug({ err: (err as Error).message }, 'bundle probe failed; no bundles');
      return false;
    }
  }

  private onMessage(msg: OfMessage): void {
    if (msg.type === 'echo_request') {
      this.stats.echoRequestsAnswered++;
      this.writeControl(encodeMessage({ type: 'echo_reply', version: this._version, xid: msg.xid, data: msg.data }));
      return;
    }
    if (msg.type === 'echo_reply') {
      this.onEchoReply(msg.xid);
      return;
    }
    if (this.tracker.handle(msg)) return;
    switch (msg.type) {
      case 'port_status':
        if (msg.reason === 'delete') this._ports.delete(msg.port.portNo);
        else this.setPort(msg.port);
        if (this.state === 'ready') this.events.message(this, msg);
        return;
      case 'packet_in':
      case 'flow_removed':
      case 'error':
        if (this.state === 'ready') this.events.message(this, msg);
        else this.log.debug({ type: msg.type }, 'async message before handshake completed; ignored');
        return;
      case 'hello':
      case 'barrier_reply':
        return;
      default:
        this.log.debug({ type: msg.type, xid: msg.xid }, 'unsolicited message ignored');
    }
  }

  // ---- keepalive ---------------------------------------------------------------------------

  private startKeepalive(): void {
    this.echo = new EchoMonitor(this.opts.echoIntervalMs, this.opts.echoTimeoutMs, Date.now());
    const tick = Math.max(10, Math.min(this.opts.echoIntervalMs, this.opts.echoTimeoutMs) / 2);
    this.keepaliveTimer = setInterval(() => this.keepalive(), tick);
    this.keepaliveTimer.unref();
  }

  /** Only echo replies keep a switch: other traffic, however steady, does not (see keepalive.ts). */
  private keepalive(): void {
    if (!this.echo) return;
    const now = Date.now();
    const a = this.echo.tick(now);
    if (a.kind === 'dead') {
      this.close(`echo requests unanswered for ${a.waitedMs} ms (${a.unanswered} outstanding; echo timeout ${this.opts.echoTimeoutMs} ms)`);
    } else if (a.kind === 'send') {
      this.sendEcho(now);
    }
  }

  private sendEcho(now: number): void {
    const xid = this.xids.next();
    if (!this.echo?.sent(xid, now)) return;
    this.stats.echoRequestsSent++;
    this.writeControl(encodeMessage({ type: 'echo_request', version: this._version, xid, data: Buffer.alloc(0) }));
  }

  private onEchoReply(xid: number): void {
    const rtt = this.echo?.reply(xid, Date.now());
    if (rtt === undefined) return; // not an answer to anything we asked
    this.stats.echoRepliesReceived++;
    this.stats.lastEchoRttMs = rtt;
    for (const w of [...this.echoWaiters]) w(true);
  }

  /**
   * Is the switch on the other end answering right now? Sends an echo request at once and
   * resolves true on the next echo reply within `timeoutMs`, false otherwise (or when closed).
   * Used before letting another connection take this switch's datapath id.
   */
  probeLiveness(timeoutMs: number): Promise<boolean> {
    if (this.state !== 'ready') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (alive: boolean): void => {
        clearTimeout(timer);
        this.echoWaiters.delete(done);
        resolve(alive);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.echoWaiters.add(done);
      this.sendEcho(Date.now());
    });
  }

  private setPort(port: Port): void {
    if (this._ports.size >= MAX_PORTS && !this._ports.has(port.portNo)) {
      this.warn({ port: port.portNo, max: MAX_PORTS }, 'switch announced more ports than the controller keeps; port not recorded');
      return;
    }
    this._ports.set(port.portNo, port);
  }

  // ---- logging -------------------------------------------------------------------------------

  /** A warning this peer caused: rate-limited per message and per switch when limits are given. */
  private warn(fields: Record<string, unknown>, msg: string): void {
    const all = { remote: this.remote, dpid: this._dpidHex || undefined, ...fields };
    if (this.limits) this.limits.warn.warn(this._dpidHex || hostOf(this.remote), all, msg);
    else this.log.warn(all, msg);
  }

  private churn(fields: Record<string, unknown>, msg: string): void {
    const all = { remote: this.remote, dpid: this._dpidHex, ...fields };
    if (this.limits) this.limits.churn.info('', all, msg);
    else this.log.info(all, msg);
  }

  private closeAfterFlush(reason: string): void {
    this.shutdown(reason, true);
  }

  /** flush: let what we just queued (an error) reach the switch, but never wait long for a hostile peer. */
  private shutdown(reason: string, flush: boolean): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.closeReason = reason;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.keepaliveTimer);
    for (const w of [...this.echoWaiters]) w(false);
    this.tracker.failAll(new OfDisconnectedError(reason));
    this.wakeDrainWaiters();
    if (flush) this.flush();
    if (flush && !this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 200).unref();
    } else if (!this.socket.destroyed) {
      this.socket.destroy();
    }
    if (wasReady) this.churn({ reason }, 'switch disconnected');
    else this.log.debug({ reason }, 'connection closed before handshake completed');
    this.events.closed(this, reason);
  }
}

class BundleRefused extends Error {
  constructor(override readonly cause: OfRequestError) {
    super(`bundle open refused: ${cause.message}`);
  }
}

/** Errors meaning "this switch does not do bundles" rather than "this bundle is wrong". */
function isUnsupported(err: OfRequestError): boolean {
  return err.errType === 'bad_request' || err.errType === 'bundle_failed' && err.codeName === 'bad_type';
}

export type { MessageOf };
