// CPU cost of the query/reply hot path inside one process, stage by stage, without sockets or the
// scheduler (the machine is shared and noisy; this is the ceiling one core can reach). A real
// SwitchConnection runs over a fake socket that only counts bytes; packet-in frames are pushed
// into its read path in 64 KiB-ish chunks, as the kernel would deliver them.
//   read:       framing + decode of packet-ins (no app)
//   decide:     + LoadBalancer.packetIn up to ServiceState.decide, replies not encoded (sendBatch stubbed)
//   full:       + pin flow-mod and packet-out written by the app (pre-encoded templates) into the runtime's write
// Usage: node dist/tools/bench/lb-hotpath.js [--seconds 2] [--only 0|1|2] [--json]
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SwitchConnection, type ConnectionEvents } from '../../controller/connection.js';
import { Controller, createLogger, type SwitchHandle } from '../../controller/index.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { markerMac } from '../../apps/lb/cookies.js';
import { Store } from '../../db/store.js';
import { encodeMessage } from '../../openflow/messages.js';
import { buildIpv4Tcp } from '../../openflow/packet/build.js';
import { fmtInt, numArg } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

class CountingSocket extends EventEmitter {
  bytes = 0;
  writes = 0;
  destroyed = false;
  writableLength = 0;
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  write(b: Buffer): boolean {
    this.bytes += b.length;
    this.writes++;
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

/** perSec from wall time; cpuPerSec from the process's CPU time (robust to a busy machine's
 * scheduling, inflated a little by GC helper threads). */
export interface HotpathStage { stage: string; perSec: number; usPerPacketIn: number; cpuPerSec: number; cpuUsPerPacketIn: number }

/** Packet-in frames of fresh TCP SYNs (distinct client ip:port), packed into chunks. */
function chunks(serviceId: number, vip: string, count: number, firstSeq: number): Buffer[] {
  const frame = buildIpv4Tcp({ ethSrc: '02:00:00:00:00:01', ethDst: markerMac(serviceId, 0), src: '10.1.0.1', dst: vip, srcPort: 1, dstPort: 80, flags: 0x02 });
  const tpl = encodeMessage({
    type: 'packet_in', version: 4, xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 'group', tableId: 0,
    cookie: 0n, match: [{ kind: 'basic', name: 'in_port', value: 1 }], data: frame,
  });
  const fo = tpl.length - frame.length;
  const perChunk = Math.floor(65536 / tpl.length);
  const out: Buffer[] = [];
  for (let s = firstSeq; s < firstSeq + count;) {
    const n = Math.min(perChunk, firstSeq + count - s);
    const b = Buffer.alloc(n * tpl.length);
    for (let i = 0; i < n; i++, s++) {
      const o = i * tpl.length;
      tpl.copy(b, o);
      b.writeUInt32BE(s >>> 0, o + 4);
      b[o + fo + 4] = (s % 256) >>> 8;
      b[o + fo + 5] = s % 256;
      b.writeUInt32BE(((10 << 24) | (1 << 16)) + 1 + Math.floor(s / 60000), o + fo + 26);
      b.writeUInt16BE(1024 + (s % 60000), o + fo + 34);
    }
    out.push(b);
  }
  return out;
}

/** `only`: run just that stage (0 read, 1 decide, 2 full) from a fresh state; maps grow over stages. */
export async function runHotpathBench(seconds: number, only?: number): Promise<HotpathStage[]> {
  const store = Store.open(':memory:');
  const controller = new Controller({ listeners: [], auditIntervalMs: 0, logLevel: 'silent' });
  const lb = new LoadBalancer({ controller, store, pinAuditIntervalMs: 3_600_000 });
  const svc = lb.addService({ name: 'bench', vip: '10.99.0.1', port: 80, slots: 256, tracking: 'all' });
  for (let i = 1; i <= 3; i++) lb.addBackend('bench', { ip: `10.98.0.${i}`, port: 8080, weight: 1, mac: `02:00:00:00:02:0${i}`, switchPort: i + 1 });

  let app: (sw: SwitchHandle, msg: Parameters<LoadBalancer['packetIn']>[1]) => void = () => undefined;
  const events: ConnectionEvents = { ready: () => undefined, closed: () => undefined, message: (c, m) => { if (m.type === 'packet_in') app(c, m); } };
  const sock = new CountingSocket();
  const conn = new SwitchConnection(sock as unknown as Socket, {
    echoIntervalMs: 1e9, echoTimeoutMs: 1e9, requestTimeoutMs: 1e9, handshakeTimeoutMs: 1e9, maxQueueBytes: 4 << 20, maxMessageBytes: 0xffff, maxMalformed: 16,
  }, events, createLogger({ level: 'silent', name: 'bench' }));
  const internals = conn as unknown as { onData(c: Buffer): void; flush(): void; state: string; _version: number };
  const hello = Buffer.from('04000010000000010001000800000010', 'hex'); // HELLO, bitmap {1.3}
  internals.onData(hello);
  internals.state = 'ready'; // the handshake is not under test
  internals._version = 4;

  let seq = 0;
  const measure = (stage: string): HotpathStage => {
    // Warm up, then time batches of 100k packet-ins until `seconds` pass.
    const batch = 100_000;
    let cpu = 0;
    const run = (): number => {
      const cs = chunks(svc.id, svc.vip, batch, seq);
      seq += batch;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const c of cs) {
        internals.onData(c);
        internals.flush(); // one socket write per chunk, as the per-tick flush does
      }
      const t = performance.now() - t0;
      const c1 = process.cpuUsage(c0);
      cpu = c1.user + c1.system;
      return t;
    };
    run();
    let ms = 0;
    let cpuUs = 0;
    let n = 0;
    while (ms < seconds * 1000) {
      ms += run();
      cpuUs += cpu;
      n += batch;
    }
    return { stage, perSec: (n / ms) * 1000, usPerPacketIn: (ms * 1000) / n, cpuPerSec: (n / cpuUs) * 1e6, cpuUsPerPacketIn: cpuUs / n };
  };

  const stages: HotpathStage[] = [];
  const want = (i: number) => only === undefined || only === i;
  if (want(0)) stages.push(measure('read (framing + decode)'));
  const sendBatch = conn.sendBatch.bind(conn);
  const sendPrebuilt = conn.sendPrebuilt.bind(conn);
  conn.sendBatch = () => true;
  conn.sendPrebuilt = () => true;
  conn.send = () => true;
  app = (sw, m) => lb.packetIn(sw, m);
  if (want(1)) stages.push(measure('+ app decision (no encode)'));
  conn.sendBatch = sendBatch;
  conn.sendPrebuilt = sendPrebuilt;
  delete (conn as Partial<SwitchConnection>).send;
  const bytes0 = sock.bytes;
  if (want(2)) stages.push(measure('+ build and encode pin + packet-out (full)'));
  if (want(2) && sock.bytes === bytes0) throw new Error('full stage wrote nothing: the app did not answer');
  store.close();
  return stages;
}

export function formatHotpath(stages: HotpathStage[]): string {
  return ['query/reply hot path in one process (no sockets), cumulative stages:',
    ...stages.map((s) => `  ${s.stage.padEnd(44)} wall ${fmtInt(s.perSec).padStart(10)}/s ${s.usPerPacketIn.toFixed(2).padStart(6)} µs` +
      `   cpu ${fmtInt(s.cpuPerSec).padStart(10)}/s ${s.cpuUsPerPacketIn.toFixed(2).padStart(6)} µs per packet-in`)].join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const only = numArg(argv, 'only', Number.NaN);
  runAsScript('lb-hotpath', argv, async () => ({ stages: await runHotpathBench(numArg(argv, 'seconds', 2), Number.isNaN(only) ? undefined : only) }),
    (r) => formatHotpath(r.stages));
}
