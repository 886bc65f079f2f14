// The controller side of the demo: state file, OpenFlow runtime with the L2 and load-balancer apps,
// and the management server (API, WebSocket, live view). Same pieces as `holdfast start`, plus L2
// forwarding (the lab's bridge is fail_mode=secure: without it, the backends' ARP for the clients
// would be dropped) and handles the demo needs (the load balancer, the switch count).
import { createServer } from 'node:net';
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { Controller } from '../../controller/index.js';
import { startManagementServer } from '../../controller/management/server.js';
import { Store } from '../../db/store.js';
import type { HostPort } from '../cli/args.js';
import { CliError } from '../cli/errors.js';

export interface DemoStack {
  readonly controller: Controller;
  readonly lb: LoadBalancer;
  readonly openflow: HostPort;
  readonly api: HostPort;
  readonly apiUrl: string;
  /** Stops everything in reverse order; never throws; idempotent. */
  stop(): Promise<void>;
}

export const PREFERRED_OPENFLOW: HostPort = { host: '127.0.0.1', port: 6653 };

/** True when nothing listens on host:port right now. */
function portFree(at: HostPort): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(at.port, at.host, () => s.close(() => resolve(true)));
  });
}

function listenError(what: string, at: HostPort, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.message;
  return new CliError(`cannot listen for ${what} on ${at.host}:${at.port}: ${why}`);
}

export async function startDemoStack(o: { api: HostPort; openflow?: HostPort; db: string }): Promise<DemoStack> {
  const cleanups: (() => unknown)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch { /* keep closing the rest */ }
    }
  })());
  try {
    let store: Store;
    try {
      store = Store.open(o.db);
    } catch (err) {
      throw new CliError(`cannot open the state file ${o.db}: ${(err as Error).message}`);
    }
    cleanups.push(() => store.close());

    const ofAt = o.openflow ?? ((await portFree(PREFERRED_OPENFLOW)) ? PREFERRED_OPENFLOW : { host: PREFERRED_OPENFLOW.host, port: 0 });
    const controller = new Controller({ listeners: [{ host: ofAt.host, port: ofAt.port }] });
    try {
      await controller.start();
    } catch (err) {
      throw listenError('OpenFlow', ofAt, err);
    } finally {
      cleanups.push(() => controller.stop());
    }
    controller.use(new L2Forwarding(controller.reconciler));
    const lb = new LoadBalancer({ controller, store, log: controller.log.child({ component: 'lb' }) });
    lb.start();
    cleanups.push(() => lb.stop());

    let mgmt;
    try {
      mgmt = await startManagementServer({ host: o.api.host, port: o.api.port, control: lb, log: controller.log.child({ component: 'management' }) });
    } catch (err) {
      // Its messages already say where and why.
      throw new CliError((err as Error).message);
    }
    cleanups.push(() => mgmt.close());
    const bound = controller.addresses()[0]!;
    const api = mgmt.address;
    const apiUrl = `http://${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port}`;
    return { controller, lb, openflow: { host: bound.host, port: bound.port }, api, apiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
