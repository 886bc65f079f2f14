// Command-line parsing and validation for the traffic server and client, apart from sockets so it
// can be tested; every error is one line that names the option and what was expected.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { BACKEND_NAME_RE } from './protocol.js';

export class TrafficArgError extends Error {
  override name = 'TrafficArgError';
}

export interface Endpoint { host: string; port: number }

export interface ServerOptions {
  name: string;
  bind: string;
  tcpPort?: number;
  udpPort?: number;
}

export interface ClientOptions {
  target?: Endpoint;
  udpTarget?: Endpoint;
  long: number;
  intervalMs: number;
  /** Fraction of intervalMs by which each gap varies either way (0 = fixed period). */
  jitter: number;
  newRate: number;
  udpFlows: number;
  /** 0: run until SIGTERM/SIGINT. */
  durationMs: number;
  /** 0: no progress lines. */
  reportMs: number;
  stallMs: number;
  /** Long connection i opens at i * startStaggerMs / long after the start. */
  startStaggerMs: number;
  /** New connections beyond this many in flight are skipped (and counted), so a stalled path cannot exhaust FDs. */
  maxInflight: number;
  bindIp?: string;
}

export type Parsed<T> = { kind: 'run'; options: T } | { kind: 'help'; text: string };

export const SERVER_USAGE = `usage: server --name NAME [--tcp PORT] [--udp PORT] [--bind ADDR]   (port 0: any free port)
  TCP: replies "<NAME> <line>" to every line; a first line "GET ..." gets an HTTP/1.0 answer and a close.
  UDP: replies "<NAME> <payload>" to every datagram. Prints "ready" once listening.`;

export const CLIENT_USAGE = `usage: client [--target IP:PORT] [--udp-target IP:PORT] [--long N] [--interval-ms MS] [--jitter F]
              [--new-rate R] [--udp-flows U] [--duration-ms MS] [--report-ms MS] [--stall-ms MS]
              [--start-stagger-ms MS] [--max-inflight N] [--bind-ip IP]
  Prints {"type":"progress",...} every --report-ms and one {"type":"final",...} line at the end.
  Exit status: 0 no failures, 1 failures, 2 bad arguments.`;

function fail(msg: string): never {
  throw new TrafficArgError(msg);
}

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, usage: string): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    // Node's messages run over several lines; the first says what was wrong.
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    fail(`${msg} (${usage.split('\n')[0]})`);
  }
}

export function parseIntOption(text: string | undefined, opt: string, min: number, max: number, dflt?: number): number {
  if (text === undefined) {
    if (dflt === undefined) fail(`--${opt} is required`);
    return dflt;
  }
  if (!/^\d+$/.test(text.trim())) fail(`bad --${opt} "${text}": expected a whole number from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) fail(`bad --${opt} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

function parseFraction(text: string | undefined, opt: string, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) fail(`bad --${opt} "${text}": expected a number from 0 to 1`);
  return n;
}

export function parseIpOption(text: string, opt: string): string {
  if (!isIP(text)) fail(`bad --${opt} "${text}": expected an IPv4 or IPv6 address`);
  return text;
}

/** "IP:PORT" or "[IPv6]:PORT". */
export function parseEndpoint(text: string, opt: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (!m) fail(`bad --${opt} "${text}": expected IP:PORT (e.g. 10.0.0.100:80)`);
  const host = m[1] ?? m[2]!;
  if (!isIP(host) || (m[1] !== undefined && isIP(host) !== 6)) fail(`bad --${opt} "${text}": "${host}" is not an IP address`);
  return { host, port: parseIntOption(m[3], `${opt} port`, 1, 65535) };
}

export function parseServerArgs(argv: string[]): Parsed<ServerOptions> {
  const v = parse(argv, { name: { type: 'string' }, tcp: { type: 'string' }, udp: { type: 'string' }, bind: { type: 'string' } }, SERVER_USAGE);
  if (v.help) return { kind: 'help', text: SERVER_USAGE };
  const name = v.name as string | undefined;
  if (name === undefined) fail('--name is required (the backend name put in every reply)');
  if (!BACKEND_NAME_RE.test(name)) fail(`bad --name "${name}": expected 1 to 64 letters, digits or _.:@+- (no spaces)`);
  // Port 0 picks a free port; the "listening" line printed before "ready" says which.
  const tcpPort = v.tcp === undefined ? undefined : parseIntOption(v.tcp as string, 'tcp', 0, 65535);
  const udpPort = v.udp === undefined ? undefined : parseIntOption(v.udp as string, 'udp', 0, 65535);
  if (tcpPort === undefined && udpPort === undefined) fail('nothing to serve: give --tcp PORT and/or --udp PORT');
  const bind = v.bind === undefined ? '0.0.0.0' : parseIpOption(v.bind as string, 'bind');
  return { kind: 'run', options: { name, bind, tcpPort, udpPort } };
}

export function parseClientArgs(argv: string[]): Parsed<ClientOptions> {
  const names = ['target', 'udp-target', 'long', 'interval-ms', 'jitter', 'new-rate', 'udp-flows', 'duration-ms', 'report-ms', 'stall-ms', 'start-stagger-ms', 'max-inflight', 'bind-ip'];
  const v = parse(argv, Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])), CLIENT_USAGE);
  if (v.help) return { kind: 'help', text: CLIENT_USAGE };
  const s = (k: string): string | undefined => v[k] as string | undefined;
  const o: ClientOptions = {
    target: s('target') === undefined ? undefined : parseEndpoint(s('target')!, 'target'),
    udpTarget: s('udp-target') === undefined ? undefined : parseEndpoint(s('udp-target')!, 'udp-target'),
    long: parseIntOption(s('long'), 'long', 0, 20_000, 0),
    intervalMs: parseIntOption(s('interval-ms'), 'interval-ms', 1, 3_600_000, 100),
    jitter: parseFraction(s('jitter'), 'jitter', 0.25),
    newRate: parseIntOption(s('new-rate'), 'new-rate', 0, 10_000, 0),
    udpFlows: parseIntOption(s('udp-flows'), 'udp-flows', 0, 20_000, 0),
    durationMs: parseIntOption(s('duration-ms'), 'duration-ms', 0, 86_400_000, 0),
    reportMs: parseIntOption(s('report-ms'), 'report-ms', 0, 3_600_000, 0),
    stallMs: parseIntOption(s('stall-ms'), 'stall-ms', 1, 3_600_000, 3000),
    startStaggerMs: parseIntOption(s('start-stagger-ms'), 'start-stagger-ms', 0, 3_600_000, 0),
    maxInflight: parseIntOption(s('max-inflight'), 'max-inflight', 1, 20_000, 500),
    bindIp: s('bind-ip') === undefined ? undefined : parseIpOption(s('bind-ip')!, 'bind-ip'),
  };
  if (o.long === 0 && o.newRate === 0 && o.udpFlows === 0) fail('nothing to do: give --long N, --new-rate R and/or --udp-flows U');
  if ((o.long > 0 || o.newRate > 0) && !o.target) fail('--target IP:PORT is required with --long or --new-rate');
  if (o.udpFlows > 0 && !o.udpTarget) fail('--udp-target IP:PORT is required with --udp-flows');
  if (o.bindIp !== undefined) {
    for (const t of [o.target, o.udpTarget]) {
      if (t && isIP(t.host) !== isIP(o.bindIp)) fail(`--bind-ip ${o.bindIp} and target ${t.host} are not the same address family`);
    }
  }
  return { kind: 'run', options: o };
}
