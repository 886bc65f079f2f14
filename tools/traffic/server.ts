// Backend server CLI: node dist/tools/traffic/server.js --name b1 --tcp 8080 --udp 8080 [--bind 0.0.0.0]
// Prints {"type":"listening",...} and then "ready" on stdout once listening; on SIGTERM/SIGINT it
// stops listening, ends connections with FIN, prints {"type":"server-final",...} and exits 0.
import { parseServerArgs, TrafficArgError } from './args.js';
import { startBackend } from './backend.js';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof TrafficArgError)) throw err;
    process.stderr.write(`server: ${err.message}\n`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return;
  }
  const opts = parsed.options;
  let backend;
  try {
    backend = await startBackend(opts);
  } catch (err) {
    process.stderr.write(`server ${opts.name}: cannot listen on ${opts.bind}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ type: 'listening', name: opts.name, bind: opts.bind, tcp: backend.tcpPort ?? null, udp: backend.udpPort ?? null })}\nready\n`);
  let stopping = false;
  const stop = (sig: NodeJS.Signals): void => {
    if (stopping) process.exit(0); // a second signal: do not wait for slow peers
    stopping = true;
    void backend.close().then(() => {
      process.stdout.write(`${JSON.stringify({ type: 'server-final', name: opts.name, signal: sig, ...backend.counters })}\n`, () => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
