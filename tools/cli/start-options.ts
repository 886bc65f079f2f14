// What `holdfast start` is given, and the checks of it made before anything listens: shared by
// the single controller (start.ts) and a cluster member (start-cluster.ts), which start.ts loads
// on demand; kept apart so neither imports the other.
import { readFileSync } from 'node:fs';
import type { LoadBalancerOptions } from '../../apps/lb/app.js';
import type { ControllerOptions, TlsOptions } from '../../controller/index.js';
import { assertBindAllowed } from '../../controller/management/auth.js';
import { checkTlsMaterial } from '../../controller/tls-check.js';
import type { HostPort } from './args.js';
import { CliError } from './errors.js';

export interface EtcdOptions {
  endpoints: string[];
  /** Keys of this cluster live under it (several clusters may share an etcd). */
  prefix: string;
  leaseTtlSeconds: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface StartOptions {
  openflow: HostPort;
  api: HostPort;
  db: string;
  token?: string;
  tls?: { cert: string; key: string; ca: string };
  /** The management API over HTTPS: certificate and key files (PEM). */
  apiTls?: { cert: string; key: string };
  /** Make an existing but empty state file (0 bytes, or SQLite with no tables) a new database. */
  initDb?: boolean;
  /** Switch admission (see ControllerOptions.allowDpids and takeoverProbeMs). */
  admission?: { allowDpids?: bigint[]; takeoverProbeMs?: number };
  logLevel?: string;
  /** Keep the state in etcd and run as one member of a cluster of controllers (start-cluster.ts). */
  etcd?: EtcdOptions;
  /** The health monitor's address (LoadBalancerOptions.monitor). */
  monitor?: { ip: string; mac?: string };
  /** Where the "listening" lines go (default stdout). */
  out?: NodeJS.WritableStream;
  /** Install SIGINT/SIGTERM handlers and resolve only after shutdown (default true). */
  handleSignals?: boolean;
  /** Timers of the load balancer and the reconciler's audit period (tests and tools tune them);
   * `controller`: the runtime's keepalive and how long a departed switch's state is kept. */
  tuning?: {
    lb?: Partial<Omit<LoadBalancerOptions, 'controller' | 'store' | 'log'>>;
    auditIntervalMs?: number;
    controller?: Pick<ControllerOptions, 'echoIntervalMs' | 'echoTimeoutMs' | 'forgetSwitchAfterMs'>;
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Refuses an open API (another host may reach it, and there is no token): one clear line. */
export function checkApiBind(o: Pick<StartOptions, 'api' | 'token'>): void {
  try {
    assertBindAllowed(o.api.host, o.token);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Reads and checks the OpenFlow and API TLS material, before anything listens: a bad file is one clear line. */
export function loadStartTls(o: Pick<StartOptions, 'tls' | 'apiTls'>): { tls: TlsOptions | undefined; apiPems: { cert: Buffer; key: Buffer } | undefined } {
  const pems = o.tls && {
    cert: readPem(o.tls.cert, 'certificate'), key: readPem(o.tls.key, 'key'), ca: readPem(o.tls.ca, 'CA certificate'),
  };
  if (o.tls && pems) {
    // Checked here, with the file names, before anything listens: a bad file is one clear line.
    try {
      checkTlsMaterial(pems, o.tls);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const tls: TlsOptions | undefined = pems;
  const apiPems = o.apiTls && { cert: readPem(o.apiTls.cert, 'certificate'), key: readPem(o.apiTls.key, 'key') };
  if (o.apiTls && apiPems) {
    try {
      checkTlsMaterial(apiPems, o.apiTls);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  return { tls, apiPems };
}

