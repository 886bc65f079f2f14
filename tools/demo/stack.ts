// The controller side of the demo: exactly what `holdfast start` runs (state file, OpenFlow runtime
// with the L2 and load-balancer apps, management server and live view), on a free OpenFlow port
// when 6653 is taken.
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import type { LoadBalancer } from '../../apps/lb/app.js';
import type { Controller } from '../../controller/index.js';
import type { HostPort } from '../cli/args.js';
import { startHoldfast } from '../cli/start.js';

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


export async function startDemoStack(o: { api: HostPort; openflow?: HostPort; db: string }): Promise<DemoStack> {
  const openflow = o.openflow ?? ((await portFree(PREFERRED_OPENFLOW)) ? PREFERRED_OPENFLOW : { host: PREFERRED_OPENFLOW.host, port: 0 });
  // The same wiring as `holdfast start`; its "listening" lines are the demo's to print.
  const r = await startHoldfast({ openflow, api: o.api, db: o.db, handleSignals: false, out: new PassThrough() });
  let stopping: Promise<void> | undefined;
  return { controller: r.controller, lb: r.lb, openflow: r.openflow, api: r.api, apiUrl: r.apiUrl, stop: () => (stopping ??= r.stop()) };
}
