// Codec benchmark: decode and encode rates of the messages on the controller's hot paths
// (packet-in in, pin flow-mod and packet-out out) and of a 50-flow stats reply (reconcile dumps).
// One core, one process; every figure is the best of a few timed rounds after a warm-up.
import { decodeMessage, encodeMessage } from '../../openflow/messages.js';
import type { FlowStats, Match, OfMessage } from '../../openflow/types.js';
import { OFP_NO_BUFFER, OFPG, OFPP } from '../../openflow/types.js';

export interface CodecBenchResult {
  name: string;
  bytes: number;
  decode: Rate;
  encode: Rate;
}

export interface CodecBenchOptions {
  /** Seconds of measurement per figure (split over rounds). */
  seconds?: number;
}

/** A 60-byte Ethernet/IPv4/TCP SYN: what a query slot sends to the controller. */
function synFrame(): Buffer {
  const b = Buffer.alloc(60);
  Buffer.from(
    '020000000001' + '020000000002' + '0800' + // Ethernet
    '45000028000040004006' + '0000' + 'c0000201' + 'c633640a' + // IPv4 192.0.2.1 → 198.51.100.10
    '9c400050' + '00000001' + '00000000' + '50022000' + '00000000', // TCP 40000 → 80, SYN
    'hex').copy(b);
  return b;
}

function fiveTuple(src: string, sport: number): Match {
  return [
    { kind: 'basic', name: 'eth_type', value: 0x0800 },
    { kind: 'basic', name: 'ip_proto', value: 6 },
    { kind: 'basic', name: 'ipv4_src', value: src },
    { kind: 'basic', name: 'ipv4_dst', value: '198.51.100.10' },
    { kind: 'basic', name: 'tcp_src', value: sport },
    { kind: 'basic', name: 'tcp_dst', value: 80 },
  ];
}

export function benchMessages(): { name: string; msg: OfMessage }[] {
  const packetIn: OfMessage = {
    type: 'packet_in', version: 4, xid: 0, bufferId: OFP_NO_BUFFER, totalLen: 60, reason: 'group', tableId: 0,
    cookie: 0x0100_0007_0000_0000n, match: [{ kind: 'basic', name: 'in_port', value: 1 }], data: synFrame(),
  };
  const flowMod: OfMessage = {
    type: 'flow_mod', version: 4, xid: 7, cookie: 0x0100_0007_0002_0001n, cookieMask: 0n, tableId: 0, command: 'add',
    idleTimeout: 30, hardTimeout: 0, priority: 300, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 1,
    match: fiveTuple('192.0.2.1', 40000),
    instructions: [{ type: 'apply_actions', actions: [
      { type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:0a' } },
      { type: 'output', port: 3, maxLen: 0 },
    ] }],
  };
  const packetOut: OfMessage = {
    type: 'packet_out', version: 4, xid: 8, bufferId: OFP_NO_BUFFER, inPort: OFPP.CONTROLLER,
    actions: [{ type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:0a' } }, { type: 'output', port: 3, maxLen: 0 }],
    data: synFrame(),
  };
  const flows: FlowStats[] = Array.from({ length: 50 }, (_, i) => ({
    tableId: 0, durationSec: i, durationNsec: 1000 * i, priority: 300, idleTimeout: 30, hardTimeout: 0, flags: 1,
    cookie: 0x0100_0007_0002_0000n + BigInt(i), packetCount: BigInt(i * 10), byteCount: BigInt(i * 1500),
    match: fiveTuple(`192.0.2.${i + 1}`, 40000 + i),
    instructions: [{ type: 'apply_actions', actions: [
      { type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:0a' } },
      { type: 'output', port: 3, maxLen: 0 },
    ] }],
  }));
  const flowStats: OfMessage = { type: 'multipart_reply', version: 4, xid: 9, flags: 0, body: { kind: 'flow', flows } };
  return [
    { name: 'packet-in (60 B frame)', msg: packetIn },
    { name: 'flow-mod (pin: 5-tuple, set_field, output)', msg: flowMod },
    { name: 'packet-out (60 B frame)', msg: packetOut },
    { name: 'flow-stats reply (50 flows)', msg: flowStats },
  ];
}

export interface Rate {
  /** Operations per second of wall-clock time. */
  wall: number;
  /** Operations per second of this process's CPU time (user + system): robust on a shared machine. */
  cpu: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `op` in batches for about `ms` of wall time, in rounds; returns the best round's rates. */
function rate(op: () => number, ms: number): Rate {
  let sink = 0;
  let batch = 1000;
  // Size the batch to ~5 ms so timer reads don't dominate.
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += op();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt >= 5) break;
    batch *= 2;
  }
  const best: Rate = { wall: 0, cpu: 0 };
  const rounds = 3;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const c0 = cpuMs();
    let elapsed = 0;
    while (elapsed < ms / rounds) {
      for (let i = 0; i < batch; i++) sink += op();
      n += batch;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    const cpu = cpuMs() - c0;
    best.wall = Math.max(best.wall, (n * 1000) / elapsed);
    best.cpu = Math.max(best.cpu, (n * 1000) / Math.max(cpu, 1e-3));
  }
  if (sink === -1) console.log(sink); // keep the results observable
  return best;
}

export function runCodecBench(opts: CodecBenchOptions = {}): CodecBenchResult[] {
  const ms = (opts.seconds ?? 1) * 1000;
  const out: CodecBenchResult[] = [];
  for (const { name, msg } of benchMessages()) {
    const bytes = Buffer.from(encodeMessage(msg));
    const check = decodeMessage(bytes);
    if (!check.ok) throw new Error(`${name}: benchmark message does not decode: ${check.error.message}`);
    // Warm-up so the JIT has compiled both paths before timing.
    rate(() => (decodeMessage(bytes).ok ? 1 : 0), 200);
    rate(() => encodeMessage(msg).length, 200);
    out.push({
      name,
      bytes: bytes.length,
      decode: rate(() => (decodeMessage(bytes).ok ? 1 : 0), ms),
      encode: rate(() => encodeMessage(msg).length, ms),
    });
  }
  return out;
}

export function formatCodecBench(results: CodecBenchResult[]): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12);
  const lines = [
    `${''.padEnd(44)} ${''.padStart(6)} ${'per CPU-second'.padStart(25)} ${'per wall-second'.padStart(25)}`,
    `${'message'.padEnd(44)} ${'bytes'.padStart(6)} ${'decode'.padStart(12)} ${'encode'.padStart(12)} ${'decode'.padStart(12)} ${'encode'.padStart(12)}`,
  ];
  for (const r of results) {
    lines.push(`${r.name.padEnd(44)} ${String(r.bytes).padStart(6)} ${fmt(r.decode.cpu)} ${fmt(r.encode.cpu)} ${fmt(r.decode.wall)} ${fmt(r.encode.wall)}`);
  }
  return lines.join('\n');
}
