// Benchmark dispatcher: `npm run bench -- <name> [--seconds N] [--json]`.
import { formatCodecBench, runCodecBench } from './codec.js';

interface Bench { describe: string; run: (seconds: number, json: boolean) => void }

const benches: Record<string, Bench> = {
  codec: {
    describe: 'OpenFlow codec decode/encode rates (packet-in, flow-mod, packet-out, 50-flow stats reply)',
    run: (seconds, json) => {
      const results = runCodecBench({ seconds });
      console.log(json ? JSON.stringify({ bench: 'codec', node: process.version, results }, null, 2) : formatCodecBench(results));
    },
  },
};

function main(argv: string[]): number {
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--seconds');
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
    b.run(seconds, json);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
