// `holdfast start`: the store, the OpenFlow runtime, the load balancer and the management server,
// wired together and shut down cleanly on SIGINT/SIGTERM.
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { Controller } from '../../controller/index.js';
import type { ManagementServer } from '../../controller/management/server.js';
import { startLbManagementServer } from '../../apps/lb/web/server.js';
import { Store } from '../../db/store.js';
import { CliError } from './errors.js';
import { checkApiBind, loadStartTls, urlHost, type LogLevel, type StartOptions } from './start-options.js';

export { loadStartTls, urlHost, type LogLevel, type StartOptions } from './start-options.js';

export interface Running {
  controller: Controller;
  lb: LoadBalancer;
  openflow: { host: string; port: number };
  api: { host: string; port: number };
  apiUrl: string;
  /** Stops everything in reverse order; never throws. */
  stop(): Promise<void>;
}

/** Starts everything; the returned handle stops it. */
export async function startHoldfast(o: StartOptions): Promise<Running> {
  // Refuse an open API before touching anything else.
  checkApiBind(o);
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
