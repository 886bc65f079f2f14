// The fake switch on the wire: connects to a controller, answers its handshake like a minimal
// switch (handshake.ts), applies the flow-mods and group-mods it receives to its FlowTable
// (bundles committed atomically), records everything it receives, and can be scripted: intercept
// messages, stop answering, send any bytes (hostile ones included), inject packets whose
// packet-ins the table decides.
import type net from 'node:net';
import { OfFramer } from '../../openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../openflow/messages.js';
import type { OfMessage, WireVersion } from '../../openflow/types.js';
import { OFPFF } from '../../openflow/types.js';
import { FlowTable, type ApplyResult, type FlowRemoval, type FlowTableOptions, type Verdict } from './flow-table.js';
import { connectToController, controlReplies, errorFor, helloBytes, negotiated, port, type SwitchIdentity } from './handshake.js';
import { frameOfPacket, packetOfFrame, type Packet } from './fields.js';

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
  /** Reply with an error to (unbundled) flow mods whose priority is this value. */
  rejectPriority?: number;
  /** The flow table's options (tables, clock, bucket choice). Default: 4 tables, Date.now. */
  table?: FlowTableOptions;
  /** Answer flow and group dumps from the table (default false: refused, as a bare switch would). */
  dumps?: boolean;
  /** Identity overrides (description, ports). */
  identity?: Partial<SwitchIdentity>;
}

const BUNDLE_MSG_FAILED = 13;

export class FakeSwitch {
  readonly received: OfMessage[] = [];
  /** Where the controller's packet-outs went (their actions run on the fake's table); unreadable frames are skipped. */
  readonly packetOuts: Verdict[] = [];
  readonly rawReceived: Buffer[] = [];
  /** The switch's flow and group tables, as the controller's messages left them. */
  readonly table: FlowTable;
  version: WireVersion = 4;
  answerEcho: boolean;
  answerAll = true;
  /** Sees every message from the controller first; returning true means it was answered here. */
  intercept: ((m: OfMessage) => boolean) | undefined;
  readonly closed: Promise<void>;
  private readonly framer = new OfFramer({ maxBuffered: 1 << 20 });
  private listeners: (() => void)[] = [];
  private readonly identity: SwitchIdentity;
  private readonly bundles = new Map<number, OfMessage[]>();

  private constructor(readonly socket: net.Socket, readonly opts: FakeSwitchOptions) {
    this.answerEcho = opts.answerEcho ?? true;
    this.table = new FlowTable({ tables: 4, clock: Date.now, ...opts.table });
    this.identity = {
      dpid: opts.dpid, nTables: opts.table?.tables ?? 4, capabilities: 0,
      ports: [port(1, 'fake1', '02:00:00:00:00:01')],
      desc: { mfrDesc: 'Fake Inc.', hwDesc: 'fake', swDesc: 'fake 0.1', serialNum: '1', dpDesc: 'fake' },
      ...opts.identity,
    };
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

  static async connect(portNo: number, opts: FakeSwitchOptions, host = '127.0.0.1'): Promise<FakeSwitch> {
    const socket = await connectToController(host, portNo, helloBytes(opts.helloVersion ?? 4, opts.bitmap === undefined ? [4] : opts.bitmap));
    return new FakeSwitch(socket, opts);
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

  /**
   * A packet arrives on a port: the table decides where it goes, and what it sends to the
   * controller goes out as packet-ins (whole frames, rebuilt with the rewritten fields).
   */
  inject(packet: Packet): Verdict {
    const v = this.table.trace(packet);
    for (const pi of v.packetIns) {
      const data = frameOfPacket(pi.packet);
      this.send({
        type: 'packet_in', version: this.version, xid: 0, bufferId: 0xffffffff, totalLen: data.length,
        reason: pi.reason === 'no_match' ? 'no_match' : pi.reason === 'group' ? 'group' : 'action', tableId: pi.tableId, cookie: pi.cookie,
        match: [{ kind: 'basic', name: 'in_port', value: Number(packet.in_port ?? 0) }], data,
      });
    }
    return v;
  }

  /** Expires timed-out flows by the table's clock, telling the controller of those that asked. */
  expire(): FlowRemoval[] {
    const removed = this.table.expire();
    this.notifyRemoved(removed);
    return removed;
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

  private notifyRemoved(removed: FlowRemoval[]): void {
    const now = Date.now();
    for (const { entry: e, reason } of removed) {
      if (!(e.flags & OFPFF.SEND_FLOW_REM)) continue;
      const ms = Math.max(0, now - e.installedAt);
      this.send({
        type: 'flow_removed', version: this.version, xid: 0, cookie: e.cookie, priority: e.priority, reason, tableId: e.tableId,
        durationSec: Math.floor(ms / 1000), durationNsec: (ms % 1000) * 1e6, idleTimeout: e.idleTimeout, hardTimeout: e.hardTimeout,
        packetCount: BigInt(e.packets), byteCount: 0n, match: e.match,
      });
    }
  }

  /** Applies a table change; a failure goes back as the switch's error for that message. */
  private applyOne(m: OfMessage): ApplyResult {
    const r = this.table.apply(m);
    if (r.ok) this.notifyRemoved(r.removed);
    else this.send(errorFor(m, this.version, r.errType, r.code));
    return r;
  }

  private respond(m: OfMessage): void {
    if (!this.answerAll || this.intercept?.(m)) return;
    if (m.type === 'hello') {
      this.version = negotiated(m);
      return;
    }
    const version = this.version;
    const control = controlReplies(m, this.identity, version, {
      answerEcho: this.answerEcho, bundles: this.opts.bundles ?? true, ...(this.opts.dumps ? { dumps: { flows: () => this.table.flowStats(), groupDescs: () => this.table.groupDescs() } } : {}),
    });
    if (control !== null) {
      for (const r of control) this.send(r);
      if (m.type === 'bundle_control' && m.controlType === 'open_request') this.bundles.set(m.bundleId, []);
      if (m.type === 'bundle_control' && m.controlType === 'discard_request') this.bundles.delete(m.bundleId);
      return;
    }
    switch (m.type) {
      case 'bundle_add_message': {
        const list = this.bundles.get(m.bundleId) ?? [];
        list.push(m.message);
        this.bundles.set(m.bundleId, list);
        return;
      }
      case 'bundle_control': {
        // Commit: every message or none.
        const list = this.bundles.get(m.bundleId) ?? [];
        this.bundles.delete(m.bundleId);
        const before = this.table.snapshot();
        const removed: FlowRemoval[] = [];
        for (const inner of list) {
          const r = this.table.apply(inner);
          if (!r.ok) {
            this.table.restore(before);
            this.send(errorFor(inner, version, r.errType, r.code));
            this.send(errorFor(m, version, 'bundle_failed', BUNDLE_MSG_FAILED));
            return;
          }
          removed.push(...r.removed);
        }
        this.notifyRemoved(removed);
        this.send({ ...m, controlType: 'commit_reply' });
        return;
      }
      case 'flow_mod':
        if (this.opts.rejectPriority !== undefined && m.priority === this.opts.rejectPriority) {
          this.send(errorFor(m, version, 'flow_mod_failed', 5));
          return;
        }
        this.applyOne(m);
        return;
      case 'group_mod':
        this.applyOne(m);
        return;
      case 'packet_out': {
        let packet: Packet;
        try {
          packet = packetOfFrame(m.data, m.inPort);
        } catch {
          return;
        }
        this.packetOuts.push(this.table.packetOut(packet, m.actions));
        return;
      }
      default:
        return;
    }
  }
}
