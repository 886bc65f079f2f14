// Seeded generator of hostile OpenFlow messages for fuzzing the whole controller: messages that
// decode (so they reach the apps) with mutated contents aimed at the load balancer (packet-ins to
// a real service's marker MACs, ARP, flow-removed with its pin cookies, forged replies to its
// requests), plus a few byte-mutated seeds and lying length fields.
import { buildArpReply, buildArpRequest, buildIpv4Tcp, buildIpv4Udp } from '../../openflow/packet/build.js';
import { numberToIpv4 } from '../../openflow/packet/addr.js';
import { encodeMessage } from '../../openflow/messages.js';
import {
  OFP_NO_BUFFER, type FlowStats, type Match, type MessageOf, type MultipartReplyBody, type OfMessage,
} from '../../openflow/types.js';
import { markerMac, pinCookie } from '../../apps/lb/cookies.js';
import { sampleMessages } from '../fixtures/openflow/messages.js';
import { mulberry32 } from './prng.js';

export interface FuzzTarget {
  vip: string;
  port: number;
  serviceId: number;
  slots: number;
  /** Backend ids of the service (flow-removed and forged flow dumps carry their pin cookies). */
  backendIds: number[];
  /** IPs of real backends: ARP replies never claim them. Forged ARP replies for a backend are the
   * issue's separate forged-ARP item (apps/lb ARP admission), not part of this fuzz. */
  backendIps: string[];
}

export type FuzzKind = 'packet_in_marker' | 'packet_in_arp' | 'packet_in_other' | 'flow_removed' | 'port_status' | 'error'
  | 'multipart_reply' | 'seed_mutation';

const MAC = (r: () => number): string => Array.from({ length: 6 }, (_, i) => Math.floor(r() * 256) & (i === 0 ? 0xfe : 0xff))
  .map((b) => b.toString(16).padStart(2, '0')).join(':');

export class OfMutator {
  readonly r: () => number;
  readonly counts = new Map<FuzzKind, number>();
  private readonly seeds: Buffer[];
  private readonly backendIps: Set<number>;

  constructor(seed: number, readonly t: FuzzTarget) {
    this.r = mulberry32(seed);
    this.seeds = sampleMessages().filter((s) => s.msg.version === 4).map((s) => Buffer.from(encodeMessage(s.msg)));
    this.backendIps = new Set(t.backendIps.map((ip) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)));
  }

  int(n: number): number {
    return Math.floor(this.r() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  private ip(): string {
    return this.r() < 0.7 ? `10.${this.int(4)}.${this.int(256)}.${1 + this.int(254)}` : numberToIpv4(this.int(0x1_0000_0000));
  }

  /** Overwrites or flips 0-3 bytes, and sometimes truncates or extends. */
  private mutate(b: Buffer, from = 0): Buffer {
    const edits = this.int(4);
    for (let e = 0; e < edits && b.length > from; e++) {
      const at = from + this.int(b.length - from);
      if (this.r() < 0.5) b[at] ^= 1 << this.int(8);
      else b[at] = this.int(256);
    }
    const x = this.r();
    if (x < 0.08) return b.subarray(0, this.int(b.length + 1));
    if (x < 0.1) return Buffer.concat([b, Buffer.alloc(this.int(1400), this.int(256))]);
    return b;
  }

  private frame(): Buffer {
    const t = this.t;
    const slot = this.r() < 0.9 ? this.int(t.slots) : this.int(0x10000);
    const ethDst = markerMac(this.r() < 0.9 ? t.serviceId : this.int(0x1000000), slot);
    const common = {
      ethSrc: MAC(this.r), ethDst, src: this.ip(), dst: this.r() < 0.9 ? t.vip : this.ip(),
      srcPort: this.int(0x10000), dstPort: this.r() < 0.9 ? t.port : this.int(0x10000),
    };
    if (this.r() < 0.15) return buildIpv4Udp(common);
    const flags = this.pick([0x02, 0x02, 0x10, 0x18, 0x11, 0x04, 0x12, this.int(0x200)]);
    return buildIpv4Tcp({ ...common, flags, ...(this.r() < 0.2 ? { payload: Buffer.alloc(this.int(1200), 0x61) } : {}) });
  }

  private arp(): Buffer {
    const t = this.t;
    let b = this.r() < 0.5
      ? buildArpRequest({ senderMac: MAC(this.r), senderIp: this.ip(), targetIp: this.r() < 0.7 ? t.vip : this.ip() })
      : buildArpReply({ senderMac: MAC(this.r), senderIp: this.ip(), targetMac: MAC(this.r), targetIp: this.ip() });
    b = this.mutate(b, 6);
    // Never claim a real backend's address (see FuzzTarget.backendIps).
    if (b.length >= 32 && this.backendIps.has(b.readUInt32BE(28))) b[31] ^= 0x80;
    return b;
  }

  private packetIn(data: Buffer): MessageOf<'packet_in'> {
    const inPort = this.r() < 0.9 ? 1 + this.int(4) : this.int(0x1_0000_0000);
    return {
      type: 'packet_in', version: 4, xid: this.int(0x1_0000_0000), bufferId: this.r() < 0.95 ? OFP_NO_BUFFER : this.int(0x1_0000_0000),
      totalLen: this.r() < 0.9 ? data.length : this.int(0x10000), reason: this.pick(['no_match', 'action', 'action', 'invalid_ttl'] as const),
      tableId: this.int(4), cookie: BigInt(this.int(0x1_0000_0000)), match: this.r() < 0.95 ? [{ kind: 'basic', name: 'in_port', value: inPort }] : [],
      data,
    };
  }

  private clientMatch(): Match {
    const udp = this.r() < 0.2;
    return [
      { kind: 'basic', name: 'eth_type', value: 0x0800 },
      { kind: 'basic', name: 'ip_proto', value: udp ? 17 : 6 },
      { kind: 'basic', name: 'ipv4_src', value: this.ip() },
      { kind: 'basic', name: 'ipv4_dst', value: this.t.vip },
      { kind: 'basic', name: udp ? 'udp_src' : 'tcp_src', value: this.int(0x10000) },
      { kind: 'basic', name: udp ? 'udp_dst' : 'tcp_dst', value: this.t.port },
    ];
  }

  /** A pin-like cookie: of the real service and one of its backends, mostly. */
  private cookie(): bigint {
    const x = this.r();
    if (x < 0.7 && this.t.backendIds.length > 0) return pinCookie(this.t.serviceId, this.pick(this.t.backendIds));
    if (x < 0.85) return pinCookie(this.t.serviceId, this.int(0x1_0000_0000));
    if (x < 0.95) return pinCookie(this.int(0x1000000), this.int(0x1_0000_0000));
    return BigInt(this.int(0x1_0000_0000)) << 32n | BigInt(this.int(0x1_0000_0000));
  }

  private u64(): bigint {
    return this.r() < 0.8 ? BigInt(this.int(100_000)) : (BigInt(this.int(0x1_0000_0000)) << 32n) | BigInt(this.int(0x1_0000_0000));
  }

  flowStats(): FlowStats {
    return {
      tableId: this.int(4), durationSec: this.int(1000), durationNsec: 0, priority: this.int(0x10000), idleTimeout: this.int(300), hardTimeout: 0,
      flags: 1, cookie: this.cookie(), packetCount: this.u64(), byteCount: this.u64(), match: this.clientMatch(),
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1 + this.int(4), maxLen: 0 }] }],
    };
  }

  /** A forged reply body for one of the controller's multipart requests (or unsolicited). */
  replyBody(kind?: string): MultipartReplyBody {
    switch (kind ?? this.pick(['flow', 'aggregate', 'group', 'table', 'desc', 'port_desc'])) {
      case 'flow':
        return { kind: 'flow', flows: Array.from({ length: this.int(40) }, () => this.flowStats()) };
      case 'aggregate':
        return { kind: 'aggregate', packetCount: this.u64(), byteCount: this.u64(), flowCount: this.r() < 0.8 ? this.int(1000) : this.int(0x1_0000_0000) };
      case 'group': {
        const n = this.r() < 0.8 ? this.t.slots : this.int(300);
        return { kind: 'group', groups: [{
          groupId: this.r() < 0.8 ? this.t.serviceId : this.int(0x1_0000_0000), refCount: 1, packetCount: this.u64(), byteCount: this.u64(),
          durationSec: this.int(1000), durationNsec: 0, buckets: Array.from({ length: n }, () => ({ packetCount: this.u64(), byteCount: this.u64() })),
        }] };
      }
      case 'table':
        return { kind: 'table', tables: Array.from({ length: 1 + this.int(4) }, (_, tableId) => ({ tableId, activeCount: this.int(0x1_0000_0000), lookupCount: this.u64(), matchedCount: this.u64() })) };
      case 'port_desc':
        return { kind: 'port_desc', ports: Array.from({ length: this.int(8) }, () => this.port()) };
      default:
        return { kind: 'desc', desc: { mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: `3.${this.int(9)}.0`, serialNum: String(this.int(1e6)), dpDesc: 'x'.repeat(this.int(200)) } };
    }
  }

  private port(): MessageOf<'port_status'>['port'] {
    return {
      portNo: this.r() < 0.8 ? 1 + this.int(8) : this.int(0x1_0000_0000), hwAddr: MAC(this.r), name: `p${this.int(1e6)}`,
      config: this.int(0x100), state: this.int(8), curr: this.int(0x10000), advertised: 0, supported: 0, peer: 0,
      currSpeed: this.int(1e6), maxSpeed: this.int(1e6),
    };
  }

  /** One hostile message, encoded. */
  next(): Buffer {
    const x = this.r();
    let kind: FuzzKind;
    let msg: OfMessage | undefined;
    let raw: Buffer | undefined;
    if (x < 0.42) {
      kind = 'packet_in_marker';
      msg = this.packetIn(this.mutate(this.frame(), 6));
    } else if (x < 0.54) {
      kind = 'packet_in_arp';
      msg = this.packetIn(this.arp());
    } else if (x < 0.58) {
      kind = 'packet_in_other';
      msg = this.packetIn(Buffer.from(Array.from({ length: this.int(100) }, () => this.int(256))));
    } else if (x < 0.72) {
      kind = 'flow_removed';
      msg = {
        type: 'flow_removed', version: 4, xid: this.int(0x1_0000_0000), cookie: this.cookie(), priority: this.int(0x10000),
        reason: this.pick(['idle_timeout', 'hard_timeout', 'delete', 'group_delete'] as const), tableId: this.int(4),
        durationSec: this.int(1000), durationNsec: 0, idleTimeout: this.int(300), hardTimeout: 0, packetCount: this.u64(), byteCount: this.u64(),
        match: this.r() < 0.9 ? this.clientMatch() : [],
      };
    } else if (x < 0.8) {
      kind = 'port_status';
      msg = { type: 'port_status', version: 4, xid: this.int(0x1_0000_0000), reason: this.pick(['add', 'modify', 'delete'] as const), port: this.port() };
    } else if (x < 0.86) {
      kind = 'error';
      msg = {
        type: 'error', version: 4, xid: this.int(0x1_0000_0000), errType: this.int(14), code: this.int(20),
        data: this.r() < 0.5 ? this.seeds[this.int(this.seeds.length)]!.subarray(0, 64) : Buffer.alloc(this.int(80), this.int(256)),
      };
    } else if (x < 0.985) {
      kind = 'multipart_reply';
      msg = { type: 'multipart_reply', version: 4, xid: this.int(0x1_0000_0000), flags: this.r() < 0.1 ? 1 : 0, body: this.replyBody() };
    } else {
      // A decodable-or-not seed with flipped bytes: each undecodable one is a malformed message
      // (answered with an error; the connection is dropped after maxMalformed of them).
      kind = 'seed_mutation';
      const b = Buffer.from(this.seeds[this.int(this.seeds.length)]!);
      for (let e = 1 + this.int(3); e > 0; e--) b[8 + this.int(b.length - 8)] ^= 1 << this.int(8);
      raw = b;
    }
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return raw ?? Buffer.from(encodeMessage(msg!));
  }

  /** How a connection ends: a lying length field (too small, or a huge message that never
   * completes), garbage, or a plain close. */
  ending(): { kind: string; bytes: Buffer } {
    const x = this.r();
    const header = (type: number, length: number): Buffer => {
      const b = Buffer.alloc(8);
      b[0] = 4;
      b[1] = type;
      b.writeUInt16BE(length, 2);
      b.writeUInt32BE(this.int(0x1_0000_0000), 4);
      return b;
    };
    if (x < 0.2) return { kind: 'length below header', bytes: header(10, this.int(8)) };
    if (x < 0.4) return { kind: 'oversized, never completes', bytes: Buffer.concat([header(10, 0xffff), Buffer.alloc(this.int(2000), 0xab)]) };
    if (x < 0.5) return { kind: 'random bytes', bytes: Buffer.from(Array.from({ length: 200 + this.int(3000) }, () => this.int(256))) };
    return { kind: 'close', bytes: Buffer.alloc(0) };
  }
}
