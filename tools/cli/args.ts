// Parsing of the CLI's own argument forms (HOST:PORT, IP[:PORT], numbers, API URLs), with
// messages that say what was expected.
import { isIP, isIPv4 } from 'node:net';
import { CliError } from './errors.js';

export interface HostPort { host: string; port: number }

export function parsePort(text: string, what: string, allowZero = false): number {
  if (!/^\d+$/.test(text)) throw new CliError(`bad ${what} "${text}": expected a number from ${allowZero ? 0 : 1} to 65535`);
  const n = Number(text);
  if (n > 65535 || (!allowZero && n === 0)) throw new CliError(`bad ${what} "${text}": expected a number from ${allowZero ? 0 : 1} to 65535`);
  return n;
}

export function parseIntArg(text: string, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) throw new CliError(`bad ${what} "${text}": expected a whole number from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`bad ${what} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

/** "HOST:PORT", "[v6]:PORT" or ":PORT" (all addresses); port 0 picks a free port. */
export function parseHostPort(text: string, what: string, defaultHost = '0.0.0.0'): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d*)$/.exec(text.trim());
  if (!m || m[3] === '') throw new CliError(`bad ${what} "${text}": expected HOST:PORT (e.g. 127.0.0.1:8080)`);
  const host = m[1] ?? (m[2] || defaultHost);
  if (m[1] !== undefined && isIP(m[1]) !== 6) throw new CliError(`bad ${what} "${text}": "${m[1]}" is not an IPv6 address`);
  if (m[1] === undefined && host !== 'localhost' && !isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new CliError(`bad ${what} "${text}": "${host}" is not a host name or address`);
  }
  return { host, port: parsePort(m[3]!, `${what} port`, true) };
}

export interface BackendRef { ip: string; port?: number; key: string }

/** "IP" or "IP:PORT", as operators name backends. */
export function parseBackendRef(text: string): BackendRef {
  const m = /^([^:]+)(?::(\d+))?$/.exec(text.trim());
  if (!m || !isIPv4(m[1]!)) throw new CliError(`bad backend "${text}": expected IP or IP:PORT (e.g. 10.0.0.11:8080)`);
  const ip = m[1]!;
  if (m[2] === undefined) return { ip, key: ip };
  const port = parsePort(m[2], 'backend port');
  return { ip, port, key: `${ip}:${port}` };
}

export function parseMac(text: string): string {
  const t = text.trim().toLowerCase().replace(/-/g, ':');
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(t)) throw new CliError(`bad MAC "${text}": expected six hex pairs like 02:00:00:00:00:0b`);
  return t;
}

/** A datapath id: up to 16 hex digits (optionally 0x-prefixed or colon-separated), or a decimal number. */
export function parseDpid(text: string): string {
  const t = text.trim().toLowerCase();
  let hex: string | undefined;
  if (/^0x[0-9a-f]{1,16}$/.test(t)) hex = t.slice(2);
  else if (/^[0-9a-f]{2}(:[0-9a-f]{2}){7}$/.test(t)) hex = t.replace(/:/g, '');
  else if (/^[0-9a-f]{16}$/.test(t)) hex = t;
  else if (/^\d{1,20}$/.test(t) && BigInt(t) < 2n ** 64n) hex = BigInt(t).toString(16);
  if (hex === undefined) throw new CliError(`bad switch "${text}": expected a datapath id (16 hex digits, 0x..., or a number)`);
  return hex.padStart(16, '0');
}

/** The API base URL from "--api", accepting "HOST:PORT" without a scheme. */
export function parseApiUrl(text: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`bad API address "${text}": expected a URL like http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`bad API address "${text}": expected http:// or https://`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}
