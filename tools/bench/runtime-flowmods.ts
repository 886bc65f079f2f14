// Flow-mods installed per second into Open vSwitch: N distinct flows (ipv4_dst /32 → output),
// sent batched through sendBatch (waiting on drain under backpressure), a barrier at the end;
// and the same N as one transaction (atomic bundle). Counted back with an aggregate stats request.
// Run: npm run bench -- runtime-flowmods  (or node dist/tools/bench/runtime-flowmods.js [N])
import type { OfMessageInput, SwitchHandle } from '../../controller/index.js';
import { applyActions, flowAdd, flowDelete, output } from '../../openflow/builders.js';
import { oxm } from '../../openflow/oxm.js';
import { OFPG, OFPP, OFPTT_ALL } from '../../openflow/types.js';
import { isMain, runAsScript } from './report.js';
import { startRuntimeBenchEnv } from './runtime-common.js';

export interface FlowModBenchRun { mode: 'batched' | 'bundle'; flows: number; seconds: number; perSec: number }
export interface FlowModBenchResult { n: number; runs: FlowModBenchRun[] }

function flowMods(n: number, salt: number): OfMessageInput[] {
  return Array.from({ length: n }, (_, i): OfMessageInput => flowAdd({
    cookie: 0xbe00n, priority: 1000 + salt,
    match: [oxm('eth_type', 0x800), oxm('ipv4_dst', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)],
    instructions: applyActions([output(1 + (i % 8))]),
  }));
}

async function countFlows(sw: SwitchHandle): Promise<number> {
  const parts = await sw.multipart({ kind: 'aggregate', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0xbe00n, cookieMask: 0xffffn, match: [] } });
  const p = parts[0];
  return p?.kind === 'aggregate' ? p.flowCount : -1;
}

async function clear(sw: SwitchHandle): Promise<void> {
  sw.send(flowDelete({ cookie: 0xbe00n, tableId: OFPTT_ALL }, { strict: false, cookieMask: 0xffffn }));
  await sw.barrier();
}

export async function runFlowModBench(n = 20_000, repeats = 3): Promise<FlowModBenchResult> {
  const env = await startRuntimeBenchEnv();
  const runs: FlowModBenchRun[] = [];
  try {
    const { sw } = env;
    for (let r = 0; r < repeats; r++) {
      for (const mode of ['batched', 'bundle'] as const) {
        await clear(sw);
        const msgs = flowMods(n, r);
        const t0 = performance.now();
        if (mode === 'batched') {
          for (let i = 0; i < msgs.length; i += 500) {
            const chunk = msgs.slice(i, i + 500);
            while (!sw.sendBatch(chunk)) await sw.drain();
          }
          await sw.barrier(120_000);
        } else {
          await sw.transaction(msgs, 120_000);
        }
        const seconds = (performance.now() - t0) / 1000;
        const flows = await countFlows(sw);
        if (flows !== n) throw new Error(`${mode}: expected ${n} flows installed, switch has ${flows}`);
        runs.push({ mode, flows, seconds, perSec: n / seconds });
      }
    }
    await clear(sw);
    return { n, runs };
  } finally {
    await env.stop();
  }
}

export function formatFlowModBench(r: FlowModBenchResult): string {
  const lines = [`flow-mods into Open vSwitch (${r.n} distinct flows per run, verified by aggregate stats):`];
  for (const mode of ['batched', 'bundle'] as const) {
    const rates = r.runs.filter((x) => x.mode === mode).map((x) => x.perSec).sort((a, b) => a - b);
    const label = mode === 'batched' ? 'sendBatch + barrier' : 'one atomic bundle';
    lines.push(`  ${label.padEnd(20)} median ${rates[Math.floor(rates.length / 2)].toFixed(0)} flows/s  (runs: ${rates.map((x) => x.toFixed(0)).join(', ')})`);
  }
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('runtime-flowmods', argv, () => runFlowModBench(Number(argv.find((a) => !a.startsWith('--')) ?? 20_000)), formatFlowModBench);
}
