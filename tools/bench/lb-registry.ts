// Flow registry benchmark: memory per remembered flow and get/set rates.
// Run: node --expose-gc dist/tools/bench/lb-registry.js [--flows N] [--json]
// Memory: heap used after a full gc, before and after inserting N distinct flows (client IP and
// port spread like real clients), divided by N. Rates: best of three timed rounds after a warm-up.
import { pathToFileURL } from 'node:url';
import { FlowRegistry } from '../../apps/lb/flow-registry.js';
import { gcExposed, heapAfterGc } from './lb-common.js';

export interface RegistryBenchResult {
  flows: number;
  bytesPerFlow: number;
  heapGrowthBytes: number;
  insertPerSec: number;
  getHitPerSec: number;
  getMissPerSec: number;
  setExistingPerSec: number;
  gcExposed: boolean;
}

/** Distinct keys from a deterministic generator: 10.x.y.z clients, ephemeral ports. */
function makeKeys(n: number): { ips: Uint32Array; ports: Uint16Array } {
  const ips = new Uint32Array(n);
  const ports = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const client = i >>> 4; // 16 flows per client IP
    ips[i] = (0x0a000000 + client) >>> 0;
    ports[i] = 32768 + (i & 15) * 1747 + (Math.imul(client, 0x9e3779b1) >>> 0) % 1747; // distinct per client
  }
  return { ips, ports };
}

function timed(op: () => number): { perSec: number; ops: number } {
  const t0 = process.hrtime.bigint();
  const ops = op();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSec: ops / dt, ops };
}

export function runRegistryBench(opts: { flows?: number } = {}): RegistryBenchResult {
  const n = opts.flows ?? 1_000_000;
  const { ips, ports } = makeKeys(n);
  const now = 1_000;
  const ttlMs = 600_000; // no rotation during the run: every entry stays live

  // Warm the code paths on a throwaway registry.
  const warm = new FlowRegistry({ ttlMs });
  for (let i = 0; i < 200_000; i++) warm.set(ips[i % n], ports[i % n], i & 7, now);
  for (let i = 0; i < 200_000; i++) warm.get(ips[i % n], ports[i % n], now);

  const heap0 = heapAfterGc();
  const reg = new FlowRegistry({ ttlMs });
  const insert = timed(() => { for (let i = 0; i < n; i++) reg.set(ips[i], ports[i], i & 7, now); return n; });
  const heap1 = heapAfterGc();
  if (reg.size !== n) throw new Error(`expected ${n} distinct flows, registry holds ${reg.size}`);

  let best = { hit: 0, miss: 0, set: 0 };
  for (let round = 0; round < 3; round++) {
    let sink = 0;
    const hit = timed(() => { for (let i = 0; i < n; i++) { const j = (i * 7919) % n; sink += reg.get(ips[j], ports[j], now) ?? 0; } return n; });
    const miss = timed(() => { for (let i = 0; i < n; i++) sink += reg.get(ips[i] + 0x01000000, ports[i], now) ?? 1; return n; }); // 11.x.y.z: never a key
    const set = timed(() => { for (let i = 0; i < n; i++) { const j = (i * 7919) % n; reg.set(ips[j], ports[j], (i + round) & 7, now); } return n; });
    if (sink === -1) console.log(sink);
    best = { hit: Math.max(best.hit, hit.perSec), miss: Math.max(best.miss, miss.perSec), set: Math.max(best.set, set.perSec) };
  }
  return {
    flows: n,
    heapGrowthBytes: heap1 - heap0,
    bytesPerFlow: (heap1 - heap0) / n,
    insertPerSec: insert.perSec,
    getHitPerSec: best.hit,
    getMissPerSec: best.miss,
    setExistingPerSec: best.set,
    gcExposed: gcExposed(),
  };
}

export function formatRegistryBench(r: RegistryBenchResult): string {
  const f = (x: number): string => Math.round(x).toLocaleString('en-US');
  return [
    `flows                ${f(r.flows)}`,
    `heap growth          ${f(r.heapGrowthBytes)} bytes${r.gcExposed ? '' : ' (no --expose-gc: approximate)'}`,
    `bytes per flow       ${r.bytesPerFlow.toFixed(1)}`,
    `insert (new flows)   ${f(r.insertPerSec)} /s`,
    `get (hit)            ${f(r.getHitPerSec)} /s`,
    `get (miss)           ${f(r.getMissPerSec)} /s`,
    `set (existing flow)  ${f(r.setExistingPerSec)} /s`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const fi = argv.indexOf('--flows');
  const flows = fi >= 0 ? Number(argv[fi + 1]) : 1_000_000;
  const r = runRegistryBench({ flows });
  console.log(argv.includes('--json') ? JSON.stringify({ bench: 'lb-registry', node: process.version, ...r }, null, 2) : formatRegistryBench(r));
}
