// The real load balancer for tests of what sits on its control surface (management server, API
// routes, CLI, apply plans): apps/lb's LoadBalancer with a real Controller and a SQLite store in
// memory, so those tests see the real validation, states, slot tables and events, not a copy.
// `testLb` has no switch and no OpenFlow listener, and starts no timers (nothing runs but the
// commands); `testLbWithSwitch` starts the controller on a free loopback port, starts the load
// balancer's timers and connects one fake switch (tools/fake-switch) that tests can script.
import { Controller } from '../../controller/index.js';
import { LoadBalancer, type LoadBalancerOptions } from '../../apps/lb/app.js';
import { Store } from '../../db/store.js';
import { FakeSwitch, type FakeSwitchOptions } from '../../tools/fake-switch/index.js';
import { until } from './wait-for.js';

export type TestLbOptions = Partial<Omit<LoadBalancerOptions, 'controller' | 'store'>>;

export interface TestLb {
  readonly lb: LoadBalancer;
  readonly controller: Controller;
  readonly store: Store;
  /** Stops the timers, the controller (and its switches) and closes the store. */
  close(): Promise<void>;
}

export interface TestLbWithSwitch extends TestLb {
  readonly sw: FakeSwitch;
}

/** The load balancer with no switch: commands decide and store; nothing is sent anywhere. */
export function testLb(opts: TestLbOptions = {}): TestLb {
  const controller = new Controller({ listeners: [], logLevel: 'silent' });
  const store = Store.open(':memory:');
  const lb = new LoadBalancer({ ...opts, controller, store });
  return {
    lb, controller, store,
    async close() {
      lb.stop();
      await controller.stop();
      store.close();
    },
  };
}

/** The load balancer running (timers started) with one fake switch connected and known to it.
 * The switch answers flow and group dumps from its table (the reconciler checks what it sent). */
export async function testLbWithSwitch(opts: TestLbOptions = {}, sw: Partial<FakeSwitchOptions> = {}): Promise<TestLbWithSwitch> {
  const controller = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], logLevel: 'silent' });
  const store = Store.open(':memory:');
  const lb = new LoadBalancer({ ...opts, controller, store });
  await controller.start();
  lb.start();
  const fake = await FakeSwitch.connect(controller.addresses()[0]!.port, { dpid: 0x1n, dumps: true, ...sw });
  await until('the fake switch to connect', () => controller.switches().length === 1);
  return {
    lb, controller, store, sw: fake,
    async close() {
      lb.stop();
      fake.close();
      await controller.stop();
      store.close();
    },
  };
}
