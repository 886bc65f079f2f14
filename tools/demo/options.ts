// The demo's command line: where the controller listens, its state file, and how long to run.
import { Command, CommanderError } from 'commander';
import { isLoopbackHost } from '../../controller/management/auth.js';
import { parseHostPort, parseIntArg, type HostPort } from '../cli/args.js';
import { CliError } from '../cli/errors.js';

export interface DemoOptions {
  api: HostPort;
  /** Where switches connect; undefined: 127.0.0.1:6653 when free, else any free loopback port. */
  openflow?: HostPort;
  db: string;
  /** 0: run until SIGINT/SIGTERM. */
  durationMs: number;
  /** How often client progress is reported and a summary line printed. */
  reportMs: number;
}

export type DemoArgs = { kind: 'run'; options: DemoOptions } | { kind: 'help'; text: string };

export const DEFAULT_API = '127.0.0.1:8080';
export const DEFAULT_DB = './holdfast-demo.db';

/** Parses argv (without node and script); throws CliError with one line on bad input. */
export function parseDemoArgs(argv: string[]): DemoArgs {
  let help: string | undefined;
  const program = new Command('npm run demo --')
    .description('Holdfast demo: Open vSwitch lab, controller, a service with 3 backends, 2 clients with steady traffic')
    .option('--api <host:port>', 'management API and live view', DEFAULT_API)
    .option('--openflow <host:port>', 'OpenFlow listener (default 127.0.0.1:6653, or a free port when taken)')
    .option('--db <file>', 'SQLite state file', DEFAULT_DB)
    .option('--duration-ms <ms>', 'stop by itself after this long (0: run until Ctrl-C)', '0')
    .option('--report-ms <ms>', 'client progress and summary period', '2000')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (help = s), writeErr: () => {} })
    .allowExcessArguments(false);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return { kind: 'help', text: help ?? program.helpInformation() };
      throw new CliError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const o = program.opts<{ api: string; openflow?: string; db: string; durationMs: string; reportMs: string }>();
  const api = parseHostPort(o.api, '--api address', '127.0.0.1');
  // The demo sets no API token, so its API stays on loopback (holdfast start has --token).
  if (!isLoopbackHost(api.host)) throw new CliError(`bad --api address "${o.api}": the demo's API listens on loopback only (e.g. 127.0.0.1:8080)`);
  return {
    kind: 'run',
    options: {
      api,
      openflow: o.openflow === undefined ? undefined : parseHostPort(o.openflow, '--openflow address', '127.0.0.1'),
      db: o.db,
      durationMs: parseIntArg(o.durationMs, '--duration-ms', 0, 7 * 24 * 3600_000),
      reportMs: parseIntArg(o.reportMs, '--report-ms', 200, 600_000),
    },
  };
}
