// Load generator CLI: node dist/tools/traffic/client.js --target 10.0.0.100:80 --long 50 --new-rate 20 ...
// stdout: {"type":"progress",...} lines every --report-ms, then exactly one {"type":"final",...} line.
// stderr: one "FAILURE ..." line per failure as it happens (the first 200, then every 100th).
// Exit status: 0 when the final report is ok, 1 when not, 2 for bad arguments.
import { CLIENT_USAGE, parseClientArgs, TrafficArgError } from './args.js';
import { startLoad } from './load.js';
import { formatFailure, type FinalReport, type StopReason } from './stats.js';

const STDERR_FAILURES = 200;

function writeLine(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function main(): void {
  let parsed;
  try {
    parsed = parseClientArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof TrafficArgError)) throw err;
    process.stderr.write(`client: ${err.message}\n`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${CLIENT_USAGE}\n`);
    return;
  }
  let logged = 0;
  const run = startLoad(parsed.options, {
    progress: writeLine,
    failure: (f) => {
      logged++;
      if (logged <= STDERR_FAILURES || logged % 100 === 0) process.stderr.write(`${formatFailure(f)}${logged > STDERR_FAILURES ? ` (failure #${logged})` : ''}\n`);
    },
  });
  const finish = (report: FinalReport): void => {
    if (!report.ok) process.stderr.write(`client: NOT OK: ${report.problems.join('; ')}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(report.ok ? 0 : 1));
  };
  void run.done.then(finish);
  let signalled = false;
  const onSignal = (sig: StopReason): void => {
    if (signalled) {
      // Second signal: report what we have now instead of waiting for outstanding replies.
      finish(run.stats.final(sig));
      return;
    }
    signalled = true;
    void run.stop(sig);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

main();
