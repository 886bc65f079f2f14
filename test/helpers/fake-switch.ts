// A scriptable fake OpenFlow switch for tests: answers the controller's handshake like a minimal
// switch, records what it receives, and can send arbitrary (also hostile) bytes.
import net from 'node:net';
import { OfFramer } from '../../openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../openflow/messages.js';
import type { OfMessage, WireVersion } from '../../openflow/types.js';

export interface FakeSwitchOptions {
  dpid: bigint;
  /** Header version of our HELLO (default 4). */
  helloVersion?: number;
  /** Versions in our HELLO bitmap; null sends no bitmap. Default [4]. */
  bitmap?: number[] | null;
  /** Accept bundle opens (default true). */
  bundles?: boolean;
  /** Answer echo requests (default true). */
  answerEcho?: boolean;
  /** Reply with an error to flow mods whose priority is this value. */
  rejectPriority?: number;
}

export class FakeSwitch {
  readonly received: OfMessage[] = [];
  readonly rawReceived: Buffer[] = [];
  version: WireVersion = 4;
  answerEcho: boolean;
  answerAll = true;
  /** Sees every message from the controller first; returning true means it was answered here. */
  intercept: ((m: OfMessage) => boolean) | undefined;
  readonly closed: Promise<void>;
  private readonly framer = new OfFramer({ maxBuffered: 1 << 20 });
  private listeners: (() => void)[] = [];

  private constructor(readonly socket: net.Socket, readonly opts: FakeSwitchOptions) {
    this.answerEcho = opts.answerEcho ?? true;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.framer.push(chunk)) {
        if (!ev.ok) continue;
        this.rawReceived.push(ev.frame);
        const res = decodeMessage(ev.frame);
        if (!res.ok) continue;
        this.received.push(res.value);
        this.respond(res.value);
      }
      for (const l of this.listeners) l();
    });
  }

  static connect(port: number, opts: FakeSwitchOptions, host = '127.0.0.1'): Promise<FakeSwitch> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off('error', reject);
        const fs = new FakeSwitch(socket, opts);
        fs.sendRaw(fs.helloBytes());
        resolve(fs);
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  sendRaw(buf: Buffer): boolean {
    return this.socket.write(buf);
  }

  send(msg: OfMessage): void {
    this.sendRaw(encodeMessage(msg));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves with the first received message matching `pred` (already received ones count). */
  waitFor<T extends OfMessage>(pred: (m: OfMessage) => m is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (m: OfMessage) => boolean, timeoutMs?: number): Promise<OfMessage>;
  waitFor(pred: (m: OfMessage) => boolean, timeoutMs = 5000): Promise<OfMessage> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.received.find(pred);
        if (m) {
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake switch: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      const listener = (): void => void check();
      if (!check()) this.listeners.push(listener);
    });
  }

  private helloBytes(): Buffer {
    const bitmap = this.opts.bitmap === undefined ? [4] : this.opts.bitmap;
    const len = bitmap ? 16 : 8;
    const b = Buffer.alloc(len);
    b[0] = this.opts.helloVersion ?? 4;
    b.writeUInt16BE(len, 2);
    b.writeUInt32BE(1, 4);
    if (bitmap) {
      b.writeUInt16BE(1, 8);
      b.writeUInt16BE(8, 10);
      let word = 0;
      for (const v of bitmap) word |= 1 << v;
      b.writeUInt32BE(word >>> 0, 12);
    }
    return b;
  }

  private respond(m: OfMessage): void {
    if (!this.answerAll || this.intercept?.(m)) return;
    const version = this.version;
    const xid = m.xid;
    const reply = (msg: OfMessage): void => this.send(msg);
    const error = (errType: 'bad_request' | 'flow_mod_failed', code: number): void => {
      reply({ type: 'error', version, xid, errType, code, data: encodeMessage(m).subarray(0, 64) });
    };
    switch (m.type) {
      case 'hello':
        this.version = (m.version >= 4 && m.version <= 6 ? Math.min(m.version, 4) : 4) as WireVersion;
        return;
      case 'echo_request':
        if (this.answerEcho) reply({ type: 'echo_reply', version, xid, data: m.data });
        return;
      case 'features_request':
        reply({ type: 'features_reply', version, xid, datapathId: this.opts.dpid, nBuffers: 0, nTables: 4, auxiliaryId: 0, capabilities: 0 });
        return;
      case 'multipart_request':
        switch (m.body.kind) {
          case 'port_desc':
            reply({
              type: 'multipart_reply', version, xid, flags: 0, body: {
                kind: 'port_desc', ports: [{ portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'fake1', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 }],
              },
            });
            return;
          case 'desc':
            reply({ type: 'multipart_reply', version, xid, flags: 0, body: { kind: 'desc', desc: { mfrDesc: 'Fake Inc.', hwDesc: 'fake', swDesc: 'fake 0.1', serialNum: '1', dpDesc: 'fake' } } });
            return;
          default:
            error('bad_request', 2); // OFPBRC_BAD_MULTIPART
            return;
        }
      case 'bundle_control':
        if (this.opts.bundles === false) {
          error('bad_request', 1); // OFPBRC_BAD_TYPE
          return;
        }
        reply({ ...m, controlType: m.controlType.replace('_request', '_reply') as typeof m.controlType });
        return;
      case 'barrier_request':
        reply({ type: 'barrier_reply', version, xid });
        return;
      case 'flow_mod':
        if (this.opts.rejectPriority !== undefined && m.priority === this.opts.rejectPriority) error('flow_mod_failed', 5);
        return;
      default:
        return;
    }
  }
}
