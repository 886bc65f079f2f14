// First end-to-end check of the load balancer on a real Open vSwitch: ARP for the VIP, backend
// resolution, the select group spreading new connections, nat rewriting both ways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/index.js';
import { LoadBalancer } from '../../apps/lb/app.js';
import { L2Forwarding } from '../../apps/l2/forwarding.js';
import { Store } from '../../db/store.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { until } from '../helpers/wait-for.js';


describe('load balancer smoke (nat, real Open vSwitch)', () => {
  let lab: Lab | undefined;
  let controller: Controller;
  let lb: LoadBalancer;
  let store: Store;
  const dir = mkdtempSync(join(tmpdir(), 'hf-smoke-'));

  beforeAll(async () => {
    store = Store.open(join(dir, 'h.db'));
    controller = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0 });
    await controller.start();
    controller.use(new L2Forwarding(controller.reconciler));
    lb = new LoadBalancer({ controller, store });
    lb.start();
    const port = controller.addresses()[0].port;
    lab = await startLab({
      name: 'lb-smoke',
      bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port } }],
      hosts: [
        { name: 'c1', bridge: 'br0', ip: '10.0.0.1/24' },
        { name: 'b1', bridge: 'br0', ip: '10.0.0.11/24' },
        { name: 'b2', bridge: 'br0', ip: '10.0.0.12/24' },
        { name: 'b3', bridge: 'br0', ip: '10.0.0.13/24' },
      ],
    });
    await until('switch', () => controller.switches().length === 1);
  });

  afterAll(async () => {
    lb?.stop();
    await lab?.stop();
    await controller?.stop();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads new connections over three backends', async () => {
    const l = lab!;
    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16, migration: { minMs: 200, quietMs: 100, maxMs: 2000 } });
    for (const b of ['b1', 'b2', 'b3']) {
      l.spawn(b, ['socat', 'TCP-LISTEN:8080,fork,reuseaddr', `SYSTEM:echo ${b}`]);
      lb.addBackend('web', { ip: l.host(b).ip, port: 8080, weight: 1 });
    }
    await until('backends active', () => lb.listBackends('web').every((b) => b.state === 'active'));
    await until('migrations done', () => lb.getService('web').migrations.length === 0);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await l.exec('c1', ['socat', '-T2', '-', 'TCP:10.0.0.100:80'], { timeoutMs: 5000, input: '' });
      const name = r.stdout.trim();
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    console.log(Object.fromEntries(seen), await l.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0']));
    expect([...seen.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
  });
});
