// An emulated OpenFlow 1.3 switch for the load balancer benchmarks, run as a child process (so the
// controller keeps its own core): it completes the handshake, answers the runtime's requests, then
// blasts (bounded window) or paces PACKET_INs carrying TCP SYNs of distinct client flows from the
// query slots of one service, and counts the pin flow-mods and packet-outs that come back.
// Hot paths parse only OpenFlow headers and skip the fake switch's flow table; the packet-out's
// frame carries its sequence number in the TCP sequence field, so each reply is matched to its
// packet-in without a lookup table. The connection and the handshake and housekeeping answers are
// the fake switch's (tools/fake-switch/handshake.ts).
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeMessage, decodeMessage, OFPT } from '../../openflow/messages.js';
import { buildIpv4Tcp } from '../../openflow/packet/build.js';
import { markerMac } from '../../apps/lb/cookies.js';
import { connectToController, controlReplies, helloBytes, port, type ControlOptions, type SwitchIdentity } from '../fake-switch/handshake.js';

export interface EmulatorConfig {
  host: string;
  port: number;
  dpid: string;
  serviceId: number;
  slots: number;
  vip: string;
  vport: number;
  /** Distinct per emulator: the first octet pair of its client addresses (10.<index+1>.x.x). */
  index: number;
  /**
   * Emulated idle expiry: once this many pins were installed, each new pin makes the oldest one
   * expire (FLOW_REMOVED, reason idle timeout), so the controller's pin map stays at this size
   * as in a steady state. 0: pins never expire.
   */
  livePins: number;
  /** Health benchmark: answer TCP SYNs sent from this MAC (the monitor's) with a SYN-ACK packet-in,
   * as a backend behind the switch would. */
  answerProbesFrom?: string;
}

/** Health benchmark counters: what the controller sent the switch and what the switch sent back. */
export interface SwitchCounters { packetOuts: number; probeSyns: number; probeRsts: number; packetIns: number; otherMessages: number }

export type EmulatorCommand =
  | { cmd: 'blast'; seconds: number; window: number }
  | { cmd: 'paced'; seconds: number; rate: number }
  | { cmd: 'counters' }
  | { cmd: 'exit' };

export interface RunResult {
  mode: 'blast' | 'paced';
  elapsedMs: number;
  sent: number;
  flowMods: number;
  packetOuts: number;
  /** Packet-ins whose packet-out came back (each with its pin flow-mod before it, same batch). */
  completed: number;
  /** FLOW_REMOVED messages sent (emulated idle expiry). */
  expired: number;
  /** Window slots given up after a stall (controller dropped under backpressure). */
  abandoned: number;
  /** CPU time of the emulator process during the run, as a share of one core. */
  cpuShare: number;
  /** Paced mode: send → packet-out receipt, microseconds, one per completed packet-in. */
  latencyUs?: number[];
}

export type EmulatorEvent =
  | { ev: 'connected' }
  | { ev: 'pipeline' }
  | { ev: 'result'; result: RunResult }
  | { ev: 'counters'; counters: SwitchCounters; cpuMs: number }
  | { ev: 'error'; message: string };

const VERSION = 4;
/** Where the frame's TCP sequence number sits: Ethernet 14 + IPv4 20 + 4. */
const SEQ_IN_FRAME = 38;
const BATCH = 64;

class Emulator {
  private readonly socket: net.Socket;
  private pending: Buffer | null = null;
  private readonly template: Buffer;
  private readonly frameOff: number;
  private readonly out: Buffer;
  private seq = 0;
  private sent = 0;
  private flowMods = 0;
  private packetOuts = 0;
  private completed = 0;
  private abandoned = 0;
  private mode: 'idle' | 'blast' | 'paced' = 'idle';
  private window = 0;
  /** Send times (performance.now ms) by seq modulo the ring size. */
  private readonly sentAt = new Float64Array(1 << 20);
  private latencies: number[] = [];
  private lastProgress = 0;
  private pipelineSeen = false;
  /** Live pins as ready-made FLOW_REMOVED messages, oldest at `expireNext`. */
  private readonly live: (Buffer | undefined)[];
  private expireNext = 0;
  private expiring: Buffer[] = [];
  private expired = 0;
  readonly switchCounters: SwitchCounters = { packetOuts: 0, probeSyns: 0, probeRsts: 0, packetIns: 0, otherMessages: 0 };
  private readonly monitorMac: Buffer | undefined;

  private readonly identity: SwitchIdentity;
  /** The pipeline is not kept (pins bypass the table on the hot path): dumps are empty. */
  private readonly controlOptions: ControlOptions = { dumps: { flows: () => [], groupDescs: () => [] } };

  constructor(private readonly cfg: EmulatorConfig, private readonly report: (e: EmulatorEvent) => void, socket: net.Socket) {
    this.live = new Array<Buffer | undefined>(cfg.livePins);
    this.monitorMac = cfg.answerProbesFrom ? Buffer.from(cfg.answerProbesFrom.split(':').map((x) => parseInt(x, 16))) : undefined;
    const frame = buildIpv4Tcp({
      ethSrc: '02:00:00:00:00:01', ethDst: markerMac(cfg.serviceId, 0), src: `10.${cfg.index + 1}.0.1`, dst: cfg.vip,
      srcPort: 1024, dstPort: cfg.vport, flags: 0x02,
    });
    this.template = encodeMessage({
      type: 'packet_in', version: VERSION, xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 'group', tableId: 0,
      cookie: 0n, match: [{ kind: 'basic', name: 'in_port', value: 1 }], data: frame,
    });
    this.frameOff = this.template.length - frame.length;
    this.out = Buffer.alloc(this.template.length * BATCH);
    for (let i = 0; i < BATCH; i++) this.template.copy(this.out, i * this.template.length);
    this.identity = {
      dpid: BigInt(`0x${cfg.dpid}`), nTables: 254, capabilities: 0x4f,
      ports: [1, 2, 3, 4].map((p) => port(p, `emu${p}`, `02:00:00:00:01:0${p}`, 10_000_000)),
      desc: { mfrDesc: 'Holdfast bench', hwDesc: 'emulator', swDesc: 'lb-emulator', serialNum: cfg.dpid, dpDesc: 'emulated switch' },
      groupFeatures: { types: 0xf, capabilities: 0, maxGroups: [65535, 65535, 65535, 65535], actions: [0x1ffffff, 0x1ffffff, 0x1ffffff, 0x1ffffff] },
    };
    this.socket = socket;
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => report({ ev: 'error', message: err.message }));
    this.socket.on('close', () => report({ ev: 'error', message: 'controller closed the connection' }));
  }

  // ---- sending ------------------------------------------------------------------------------

  /** Writes n packet-ins of fresh flows (n ≤ BATCH) in one socket write. */
  private sendBurst(n: number, now: number): void {
    const t = this.template.length;
    const out = this.out;
    const base = (10 << 24) | ((this.cfg.index + 1) << 16);
    for (let i = 0; i < n; i++) {
      const s = this.seq++;
      const o = i * t;
      const f = o + this.frameOff;
      out.writeUInt32BE(s >>> 0, o + 4); // xid
      const slot = s % this.cfg.slots;
      out[f + 4] = slot >>> 8;
      out[f + 5] = slot & 0xff;
      // A distinct client ip:port per packet-in: 60000 ports per address.
      out.writeUInt32BE((base + 1 + Math.floor(s / 60000)) >>> 0, f + 26);
      out.writeUInt16BE(1024 + (s % 60000), f + 34);
      out.writeUInt32BE(s >>> 0, f + SEQ_IN_FRAME);
      this.sentAt[s & (this.sentAt.length - 1)] = now;
    }
    this.sent += n;
    this.socket.write(Buffer.from(out.subarray(0, n * t)));
  }

  private fillWindow(): void {
    if (this.mode !== 'blast') return;
    let room = this.window - (this.sent - this.completed - this.abandoned);
    if (room < BATCH / 2) return;
    const now = performance.now();
    while (room > 0) {
      const n = Math.min(room, BATCH);
      this.sendBurst(n, now);
      room -= n;
    }
  }

  async blast(seconds: number, window: number): Promise<RunResult> {
    this.reset('blast');
    this.window = window;
    const start = performance.now();
    this.lastProgress = start;
    this.fillWindow();
    // Stall guard: a controller that dropped replies (backpressure) would freeze the window.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (now - start >= seconds * 1000) {
          clearInterval(timer);
          resolve();
          return;
        }
        if (now - this.lastProgress > 200) {
          this.abandoned += this.sent - this.completed - this.abandoned;
          this.lastProgress = now;
          this.fillWindow();
        }
      }, 20);
    });
    return this.finish(start);
  }

  async paced(seconds: number, rate: number): Promise<RunResult> {
    this.reset('paced');
    const start = performance.now();
    const end = start + seconds * 1000;
    await new Promise<void>((resolve) => {
      // setImmediate loop: sends what is due since the last turn, so bursts stay a few packets.
      const step = (): void => {
        const now = performance.now();
        if (now >= end) {
          resolve();
          return;
        }
        let due = Math.floor(((now - start) / 1000) * rate) - this.sent;
        while (due > 0) {
          const n = Math.min(due, BATCH);
          this.sendBurst(n, now);
          due -= n;
        }
        setImmediate(step);
      };
      step();
    });
    // Let the tail of replies arrive.
    await new Promise((r) => setTimeout(r, 100));
    return this.finish(start, end);
  }

  private cpuAtStart = process.cpuUsage();

  private reset(mode: 'blast' | 'paced'): void {
    this.mode = mode;
    this.cpuAtStart = process.cpuUsage();
    this.sent = this.flowMods = this.packetOuts = this.completed = this.abandoned = this.expired = 0;
    this.latencies = [];
  }

  private finish(start: number, end = performance.now()): RunResult {
    const mode = this.mode as 'blast' | 'paced';
    this.mode = 'idle';
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      cpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - start),
      mode, elapsedMs: end - start, sent: this.sent, flowMods: this.flowMods, packetOuts: this.packetOuts,
      completed: this.completed, abandoned: this.abandoned, expired: this.expired,
      ...(mode === 'paced' ? { latencyUs: this.latencies } : {}),
    };
  }

  // ---- receiving ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    let b = chunk;
    if (this.pending) {
      b = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const now = performance.now();
    let off = 0;
    let progressed = false;
    while (off + 8 <= b.length) {
      const len = b.readUInt16BE(off + 2);
      if (len < 8) throw new Error(`bad OpenFlow length ${len}`);
      if (off + len > b.length) break;
      const type = b[off + 1];
      if (type === OFPT.PACKET_OUT) {
        this.packetOuts++;
        this.switchCounters.packetOuts++;
        const actionsLen = b.readUInt16BE(off + 16);
        const f = off + 24 + actionsLen;
        if (this.monitorMac && f + 54 <= off + len && b.compare(this.monitorMac, 0, 6, f + 6, f + 12) === 0) this.answerProbe(b.subarray(f, off + len));
        // Only our TCP frames complete packet-ins (the app may also send ARP probes).
        if (f + SEQ_IN_FRAME + 4 <= off + len && b.readUInt16BE(f + 12) === 0x0800 && this.mode !== 'idle') {
          this.completed++;
          progressed = true;
          if (this.mode === 'paced') {
            const s = b.readUInt32BE(f + SEQ_IN_FRAME);
            this.latencies.push(Math.round((now - this.sentAt[s & (this.sentAt.length - 1)]) * 1000));
          }
        }
      } else if (type === OFPT.FLOW_MOD && this.mode !== 'idle') {
        this.flowMods++;
        if (this.live.length > 0) this.track(b, off);
      } else {
        this.switchCounters.otherMessages++;
        this.control(b.subarray(off, off + len));
      }
      off += len;
    }
    if (off < b.length) this.pending = Buffer.from(b.subarray(off));
    if (this.expiring.length > 0) {
      this.socket.write(Buffer.concat(this.expiring));
      this.expired += this.expiring.length;
      this.expiring = [];
    }
    if (progressed) {
      this.lastProgress = now;
      this.fillWindow();
    }
  }

  /** A probe from the monitor: a SYN gets the SYN-ACK a listening backend sends (as a packet-in
   * from the port the probe went out of), an RST ends it. */
  private answerProbe(frame: Buffer): void {
    if (frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return;
    const flags = frame[47];
    if (flags & 0x04) {
      this.switchCounters.probeRsts++;
      return;
    }
    if ((flags & 0x12) !== 0x02) return;
    this.switchCounters.probeSyns++;
    const reply = buildIpv4Tcp({
      ethSrc: bufMac(frame, 0), ethDst: bufMac(frame, 6), src: ipOf(frame, 30), dst: ipOf(frame, 26),
      srcPort: frame.readUInt16BE(36), dstPort: frame.readUInt16BE(34), flags: 0x12, seq: 777, ackNum: (frame.readUInt32BE(38) + 1) >>> 0,
    });
    this.switchCounters.packetIns++;
    this.socket.write(encodeMessage({
      type: 'packet_in', version: VERSION, xid: 0, bufferId: 0xffffffff, totalLen: reply.length, reason: 'action', tableId: 0,
      cookie: 0n, match: [{ kind: 'basic', name: 'in_port', value: 1 }], data: reply,
    }));
  }

  /**
   * A pin flow-mod arrived: keep its FLOW_REMOVED ready (ofp_flow_mod and ofp_flow_removed both
   * carry their match at offset 48), and expire the oldest live pin when the ring is full.
   */
  private track(b: Buffer, off: number): void {
    const matchLen = (b.readUInt16BE(off + 50) + 7) & ~7;
    const fr = Buffer.alloc(48 + matchLen);
    fr[0] = VERSION;
    fr[1] = OFPT.FLOW_REMOVED;
    fr.writeUInt16BE(fr.length, 2);
    b.copy(fr, 8, off + 8, off + 16); // cookie
    b.copy(fr, 16, off + 30, off + 32); // priority
    fr[18] = 0; // OFPRR_IDLE_TIMEOUT
    b.copy(fr, 28, off + 26, off + 30); // idle and hard timeouts
    b.copy(fr, 48, off + 48, off + 48 + matchLen);
    const i = this.expireNext;
    const old = this.live[i];
    if (old) this.expiring.push(old);
    this.live[i] = fr;
    this.expireNext = (i + 1) % this.live.length;
  }

  /** Everything that is not the hot path: the handshake and the runtime's requests. */
  private control(frame: Buffer): void {
    if (frame[1] === OFPT.GROUP_MOD && !this.pipelineSeen) {
      this.pipelineSeen = true;
      this.report({ ev: 'pipeline' });
    }
    if (frame[1] === 0) return; // HELLO (ours was sent on connect)
    const r = decodeMessage(frame);
    if (!r.ok) return;
    const m = r.value;
    const replies = controlReplies(m, this.identity, VERSION, this.controlOptions);
    if (replies !== null) {
      for (const reply of replies) this.socket.write(encodeMessage(reply));
      return;
    }
    if (m.type === 'bundle_control') {
      // Commit: the pipeline is not applied here, and the commit means the service is on.
      this.socket.write(encodeMessage({ ...m, controlType: 'commit_reply' }));
      if (!this.pipelineSeen) {
        this.pipelineSeen = true;
        this.report({ ev: 'pipeline' });
      }
    }
  }
}

function bufMac(b: Buffer, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipOf(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** Child-process entry: config as JSON in argv[2], commands over IPC. */
function main(): void {
  const send = (e: EmulatorEvent): void => void process.send?.(e);
  const cfg = JSON.parse(process.argv[2] ?? '{}') as EmulatorConfig;
  let emu: Emulator | undefined;
  connectToController(cfg.host, cfg.port, helloBytes(VERSION, [VERSION])).then((socket) => {
    emu = new Emulator(cfg, send, socket);
    send({ ev: 'connected' });
  }, (err: Error) => send({ ev: 'error', message: err.message }));
  process.on('message', (c: EmulatorCommand) => {
    if (c.cmd === 'exit') process.exit(0);
    if (!emu) {
      send({ ev: 'error', message: 'not connected yet' });
      return;
    }
    if (c.cmd === 'counters') {
      const u = process.cpuUsage();
      send({ ev: 'counters', counters: { ...emu.switchCounters }, cpuMs: (u.user + u.system) / 1000 });
      return;
    }
    const run = c.cmd === 'blast' ? emu.blast(c.seconds, c.window) : emu.paced(c.seconds, c.rate);
    run.then((result) => send({ ev: 'result', result }), (err: Error) => send({ ev: 'error', message: err.message }));
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.send) main();
