#!/usr/bin/env node
// holdfast-lab: bring up a default lab in the foreground (Ctrl-C tears it down), or clean stale labs.
//   node dist/tools/lab/cli.js up [--hosts N] [--controller [tcp:]HOST:PORT] [--listen-port P] [--protocols OpenFlow13,...] [--json]
//   node dist/tools/lab/cli.js cleanup
import { parseArgs } from 'node:util';
import { cleanupStaleLabs, startLab, type LabController, type LabSpec } from './lab.js';

function parseController(s: string): LabController {
  const m = /^(?:tcp:)?([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`bad --controller "${s}" (want [tcp:]HOST:PORT)`);
  return { host: m[1], port: Number(m[2]) };
}

function defaultSpec(hosts: number, controller: LabController | null, listenPort?: number, protocols?: string[]): LabSpec {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 250) throw new Error('--hosts must be 1..250');
  return {
    name: 'cli',
    bridges: [{ name: 'br0', controller, listenPort, protocols }],
    hosts: Array.from({ length: hosts }, (_, i) => ({ name: `h${i + 1}`, bridge: 'br0', ip: `10.0.0.${i + 1}/24`, ofport: i + 1 })),
  };
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      hosts: { type: 'string', default: '2' },
      controller: { type: 'string' },
      'listen-port': { type: 'string' },
      protocols: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const listenPort = values['listen-port'] === undefined ? undefined : Number(values['listen-port']);
  const spec = defaultSpec(Number(values.hosts), values.controller ? parseController(values.controller) : null, listenPort, values.protocols?.split(','));
  const lab = await startLab(spec);
  const info = {
    id: lab.id,
    runDir: lab.runDir,
    ovsNetns: lab.ovsNetns,
    exposedListenPort: lab.exposedListenPort('br0') ?? null,
    hosts: spec.hosts.map((h) => ({ name: h.name, ...lab.host(h.name) })),
  };
  if (values.json) {
    console.log(JSON.stringify(info));
  } else {
    console.log(`lab ${info.id} up (run dir ${info.runDir}, switch namespace ${info.ovsNetns})`);
    if (info.exposedListenPort !== null) console.log(`br0 listens on 127.0.0.1:${info.exposedListenPort}`);
    for (const h of info.hosts) console.log(`  ${h.name}: ${h.cidr} ${h.mac} port ${h.ofport} (ip netns exec ${h.netns} ...)`);
    console.log(`ovs-ofctl: OVS_RUNDIR=${info.runDir} ovs-ofctl -O OpenFlow13 dump-flows br0`);
    console.log('Ctrl-C to tear down');
  }
  const done = async (): Promise<void> => {
    await lab.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void done());
  process.once('SIGTERM', () => void done());
  setInterval(() => { /* stay in the foreground */ }, 1 << 30);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'cleanup': {
      const removed = await cleanupStaleLabs();
      console.log(removed.length ? `removed stale labs: ${removed.join(' ')}` : 'no stale labs');
      return;
    }
    default:
      console.error('usage: cli.js up [--hosts N] [--controller [tcp:]HOST:PORT] [--listen-port P] [--protocols LIST] [--json] | cli.js cleanup');
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
