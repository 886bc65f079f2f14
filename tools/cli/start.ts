// `holdfast start`: the store, the OpenFlow runtime, the load balancer and the management server,
// wired together and shut down cleanly on SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { LoadBalancer, type LoadBalancerOptions } from '../../apps/lb/app.js';
import { Controller, type ControllerOptions, type TlsOptions } from '../../controller/index.js';
import { checkTlsMaterial } from '../../controller/tls-check.js';
import { assertBindAllowed } from '../../controller/management/auth.js';
import type { ManagementServer } from '../../controller/management/server.js';
import { startLbManagementServer } from '../../apps/lb/web/server.js';
import { Store } from '../../db/store.js';
import type { HostPort } from './args.js';
import { CliError } from './errors.js';
import type { EtcdOptions } from './start-cluster.js';

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

export interface Running {
  controller: Controller;
  lb: LoadBalancer;
  openflow: { host: string; port: number };
  api: { host: string; port: number };
  apiUrl: string;
  /** Stops everything in reverse order; never throws. */
  stop(): Promise<void>;
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

/** Starts everything; the returned handle stops it. */
export async function startHoldfast(o: StartOptions): Promise<Running> {
  // Refuse an open API before touching anything else.
  try {
    assertBindAllowed(o.api.host, o.token);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const { tls, apiPems } = loadStartTls(o);
  const level = o.logLevel as LogLevel | undefined;

  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch { /* keep closing the rest */ }
    }
  };
  try {
    let store: Store;
    try {
      store = Store.open(o.db, { initEmpty: o.initDb === true });
    } catch (err) {
      // Store errors name the file and say what to do; anything else gets the file added.
      const msg = (err as Error).message;
      throw new CliError(msg.includes(o.db) ? msg : `cannot open the state file ${o.db}: ${msg}`);
    }
    cleanups.push(() => store.close());

    const controller = new Controller({
      listeners: [{ host: o.openflow.host, port: o.openflow.port, tls: tls !== undefined }], tls, logLevel: level,
      ...o.admission,
      ...o.tuning?.controller,
      ...(o.tuning?.auditIntervalMs !== undefined ? { auditIntervalMs: o.tuning.auditIntervalMs } : {}),
    });
    // Everything that is not a service's traffic is ordinary L2 forwarding (NORMAL or learning).
    controller.use(new L2Forwarding(controller.reconciler));
    let lb: LoadBalancer;
    try {
      lb = new LoadBalancer({
        ...(o.monitor ? { monitor: o.monitor } : {}), ...o.tuning?.lb, controller, store, log: controller.log.child({ component: 'lb' }),
      });
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    lb.start();
    cleanups.push(() => lb.stop());
    try {
      await controller.start();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CliError(`cannot listen for OpenFlow on ${o.openflow.host}:${o.openflow.port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`);
    } finally {
      cleanups.push(() => controller.stop());
    }
    // Runs before the controller closes its switch connections: query slots of `openflow13`
    // switches go back to forwarding, so nothing in the data path waits for us while we are gone.
    cleanups.push(() => lb.park());

    let mgmt: ManagementServer;
    try {
      mgmt = await startLbManagementServer({
        host: o.api.host, port: o.api.port, token: o.token, control: lb, switches: controller,
        ...(apiPems ? { tls: apiPems } : {}), log: controller.log.child({ component: 'management' }),
      });
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    cleanups.push(() => mgmt.close());

    const of = controller.addresses()[0] ?? { host: o.openflow.host, port: o.openflow.port, tls: false };
    const out = o.out ?? process.stdout;
    const apiUrl = `${apiPems ? 'https' : 'http'}://${urlHost(mgmt.address.host)}:${mgmt.address.port}`;
    out.write(`openflow listening on ${urlHost(of.host)}:${of.port}${of.tls ? ' (TLS)' : ''}\n`);
    out.write(`api listening on ${apiUrl}\n`);
    out.write(`live view: ${apiUrl}/${o.token ? '#token=<your token>' : ''}\n`);
    out.write(`state in ${o.db}\n`);
    if (lb.health.monitor) out.write(`health probes from ${lb.health.monitor.ip} (${lb.health.monitor.mac})\n`);
    return { controller, lb, openflow: { host: of.host, port: of.port }, api: mgmt.address, apiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The `start` verb: runs until SIGINT/SIGTERM, then shuts down in order. */
export async function runStart(o: StartOptions): Promise<void> {
  const running = o.etcd
    ? await (await import('./start-cluster.js')).startClusterMember({ ...o, etcd: o.etcd })
    : await startHoldfast(o);
  if (o.handleSignals === false) return;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (): void => {
      if (stopping) process.exit(130); // a second Ctrl-C: do not wait
      stopping = true;
      running.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
