// The controller's structured logger: pino, quiet by default ('warn'), level from the option or
// the HOLDFAST_LOG environment variable. Every module takes a child logger with its own bindings.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Log level; defaults to $HOLDFAST_LOG, else 'warn'. */
  level?: LevelWithSilent;
  /** Extra bindings on every line (e.g. { component: 'controller' }). */
  name?: string;
  /** Where to write (defaults to stderr, so stdout stays for command output). */
  destination?: NodeJS.WritableStream;
}

export function resolveLogLevel(explicit?: string, env: string | undefined = process.env.HOLDFAST_LOG): LevelWithSilent {
  const candidate = (explicit ?? env ?? 'warn').toLowerCase();
  return (LEVELS.includes(candidate) ? candidate : 'warn') as LevelWithSilent;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = resolveLogLevel(opts.level);
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: false });
  return pino({ level, name: opts.name ?? 'holdfast', base: { pid: process.pid } }, dest);
}
