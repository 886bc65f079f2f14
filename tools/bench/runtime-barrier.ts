// Barrier round-trip time against Open vSwitch: N sequential barriers (p50/p99/mean), then the
// same N with 64 in flight (throughput). Run: npm run bench -- runtime-barrier  (or node dist/tools/bench/runtime-barrier.js)
import { isMain, runAsScript } from './report.js';
import { percentile, startRuntimeBenchEnv } from './runtime-common.js';

export interface BarrierBenchResult {
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  pipelinedPerSec: number;
}

export async function runBarrierBench(n = 5000): Promise<BarrierBenchResult> {
  const env = await startRuntimeBenchEnv();
  try {
    const { sw } = env;
    for (let i = 0; i < 300; i++) await sw.barrier(); // warm up
    const rtts: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await sw.barrier();
      rtts.push((performance.now() - t) * 1000);
    }
    rtts.sort((a, b) => a - b);
    const inFlight = 64;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next++ < n) await sw.barrier();
    }));
    const secs = (performance.now() - t0) / 1000;
    return {
      n,
      p50Us: percentile(rtts, 50), p99Us: percentile(rtts, 99), maxUs: rtts[rtts.length - 1],
      meanUs: rtts.reduce((a, b) => a + b, 0) / n,
      pipelinedPerSec: n / secs,
    };
  } finally {
    await env.stop();
  }
}

export function formatBarrierBench(r: BarrierBenchResult): string {
  return [
    `barrier round-trip against Open vSwitch (sequential, n=${r.n}):`,
    `  p50 ${r.p50Us.toFixed(0)} µs   p99 ${r.p99Us.toFixed(0)} µs   mean ${r.meanUs.toFixed(0)} µs   max ${r.maxUs.toFixed(0)} µs`,
    `  pipelined (64 in flight): ${r.pipelinedPerSec.toFixed(0)} barriers/s`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('runtime-barrier', argv, () => runBarrierBench(Number(argv.find((a) => !a.startsWith('--')) ?? 5000)), formatBarrierBench);
}
