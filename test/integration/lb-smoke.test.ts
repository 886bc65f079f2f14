// First end-to-end check of the load balancer on a real Open vSwitch: ARP for the VIP, backend
// resolution, the select group spreading new connections, nat rewriting both ways.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, until } from '../helpers/lb-harness.js';

describe('load balancer smoke (nat, real Open vSwitch)', () => {
  const rig = new LbRig({ clients: ['c1'], backends: ['b1', 'b2', 'b3'] });
  beforeAll(() => rig.start(), 60_000);
  afterAll(() => rig.stop());

  it('spreads new connections over three backends', async () => {
    const { lb, lab } = rig;
    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16, migration: { minMs: 200, quietMs: 100, maxMs: 2000 } });
    for (const b of ['b1', 'b2', 'b3']) {
      rig.spawn(b, ['socat', 'TCP-LISTEN:8080,fork,reuseaddr', `SYSTEM:echo ${b}`]);
      lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
    }
    await until('backends active', () => lb.listBackends('web').every((b) => b.state === 'active'));
    await until('migrations done', () => lb.getService('web').migrations.length === 0);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await lab.exec('c1', ['socat', '-T2', '-', 'TCP:10.0.0.100:80'], { timeoutMs: 5000, input: '' });
      const name = r.stdout.trim();
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
  });
});
