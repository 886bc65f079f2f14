// Benchmark dispatcher: `npm run bench -- <name> [--seconds N] [--json]`.
import { formatCodecBench, runCodecBench } from './codec.js';
import { crashVsFailoverOptionsFrom, formatCrashVsFailover, runCrashVsFailoverBench } from './crash-vs-failover.js';
import { connMemoryOptionsFrom, formatConnMemory, runConnMemoryBench } from './conn-memory.js';
import { formatBarrierBench, runBarrierBench } from './runtime-barrier.js';
import { formatFlowModBench, runFlowModBench } from './runtime-flowmods.js';
import { formatFailover, runFailoverBench } from './failover.js';
import { formatHealthBench, runHealthBench } from './health.js';
import { formatHotpath, runHotpathBench } from './lb-hotpath.js';
import { formatPins, runPinsBench } from './lb-pins.js';
import { formatPoolChange, runPoolChangeBench } from './lb-poolchange.js';
import { formatQueryReply, queryReplyOptionsFrom, runQueryReplyBench } from './lb-queryreply.js';
import { printResult } from './report.js';

interface Bench { describe: string; run: (seconds: number, json: boolean) => void | Promise<void> }

const benches: Record<string, Bench> = {
  'runtime-barrier': {
    describe: 'barrier round-trip time against Open vSwitch in a lab (p50/p99 over 5000, plus pipelined rate)',
    run: async (_seconds, json) => printResult('runtime-barrier', await runBarrierBench(5000), formatBarrierBench, json),
  },
  'runtime-flowmods': {
    describe: 'flow-mods installed per second into Open vSwitch (20000 flows, batched + barrier, and one bundle)',
    run: async (_seconds, json) => printResult('runtime-flowmods', await runFlowModBench(20_000), formatFlowModBench, json),
  },
  'lb-queryreply': {
    describe: 'load balancer packet-ins → pin + packet-out per second from emulated switches, then latency at half that rate',
    run: async (seconds, json) => printResult('lb-queryreply', await runQueryReplyBench({ ...queryReplyOptionsFrom([]), seconds: Math.max(seconds, 5), latencySeconds: Math.max(seconds, 5) }), formatQueryReply, json),
  },
  health: {
    describe: 'health checks: controller CPU and switch packet rates for 1,000 backends checked every second (tcp probes, emulated switch)',
    run: async (seconds, json) => printResult('health', await runHealthBench({ backends: 1000, intervalMs: 1000, seconds: Math.max(seconds, 10) }), formatHealthBench, json),
  },
  'lb-hotpath': {
    describe: 'load balancer query/reply hot path CPU cost per stage in one process (no sockets)',
    run: async (seconds, json) => printResult('lb-hotpath', { stages: await runHotpathBench(seconds) }, (r) => formatHotpath(r.stages), json),
  },
  'lb-pins': {
    describe: 'memory per pin in the load balancer pin map, 1M flows (run node with --expose-gc)',
    run: (_seconds, json) => printResult('lb-pins', runPinsBench(1_000_000), formatPins, json),
  },
  'lb-poolchange': {
    describe: 'pool change → first new connection on the new backend on Open vSwitch (10 runs static, 10 ARP; root)',
    run: async (_seconds, json) => printResult('lb-poolchange', await runPoolChangeBench({ runs: 10, modes: ['static', 'arp'], every: 2 }), formatPoolChange, json),
  },
  'conn-memory': {
    describe: 'ovs profile (learned 5-tuple entries) vs plain select group vs conntrack: conn/s and ovs-vswitchd CPU per 1k connections; 100k remembered connections (RSS, install, count); root',
    run: async (_seconds, json) => printResult('conn-memory', await runConnMemoryBench(connMemoryOptionsFrom([])), formatConnMemory, json),
  },
  failover: {
    describe: 'cluster of 3 controllers (etcd, Open vSwitch): leader SIGKILL -> new leader elected, master role, state loaded, first flow-mod/group-mod (10 runs; root)',
    run: async (_seconds, json) => printResult('failover', await runFailoverBench({ runs: 10 }), formatFailover, json),
  },
  'crash-vs-failover': {
    describe: 'openflow13 nat, drain under load: no kill vs single controller SIGKILLed (back after 3.5 s, 10 s) vs cluster of 3 losing its leader; broken connections, waiting new ones, udp, drain (root; --rounds 2 --tracking migrations|all --outages 3500,10000)',
    run: async (_seconds, json) => printResult('crash-vs-failover', await runCrashVsFailoverBench(crashVsFailoverOptionsFrom(process.argv.slice(2))), formatCrashVsFailover, json),
  },
  codec: {
    describe: 'OpenFlow codec decode/encode rates (packet-in, flow-mod, packet-out, 50-flow stats reply)',
    run: (seconds, json) => printResult('codec', { results: runCodecBench({ seconds }) }, (r) => formatCodecBench(r.results), json),
  },
};

async function main(argv: string[]): Promise<number> {
  // Anything after a flag other than --json is that flag's value (--seconds N, a bench's own flags).
  const names = argv.filter((a, i) => !a.startsWith('--') && !(argv[i - 1]?.startsWith('--') && argv[i - 1] !== '--json'));
  const si = argv.indexOf('--seconds');
  const seconds = si >= 0 ? Number(argv[si + 1]) : 1;
  const json = argv.includes('--json');
  if (names.length === 0 || !Number.isFinite(seconds) || seconds <= 0) {
    console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--seconds N] [--json]`);
    for (const [n, b] of Object.entries(benches)) console.error(`  ${n.padEnd(8)} ${b.describe}`);
    return 2;
  }
  for (const n of names) {
    const b = benches[n];
    if (!b) {
      console.error(`unknown benchmark "${n}"`);
      return 2;
    }
    await b.run(seconds, json);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => { console.error(err.message); process.exitCode = 1; });
