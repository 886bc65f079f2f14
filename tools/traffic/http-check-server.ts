// A small HTTP server for health-check tests and demos: answers every request with the status code
// read from a file at that moment (default 200), so a test flips a backend between healthy (200)
// and failing (500) without restarting it. Prints "ready" once listening.
//   node dist/tools/traffic/http-check-server.js --port 9090 [--bind IP] [--status-file FILE] [--name NAME]
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg('port') ?? '9090');
const bind = arg('bind') ?? '0.0.0.0';
const statusFile = arg('status-file');
const name = arg('name') ?? 'http';

function currentStatus(): number {
  if (!statusFile) return 200;
  try {
    const n = Number(readFileSync(statusFile, 'utf8').trim());
    return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 200;
  } catch {
    return 200;
  }
}

const server = createServer((req, res) => {
  const status = currentStatus();
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`${name} ${status} ${req.url ?? ''}\n`);
});
server.listen(port, bind, () => process.stdout.write('ready\n'));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));
