// Two nat services that share a backend ip:port each get their reverse path: the backend's replies
// to a client go back from the VIP that client used. The static reverse rule names one VIP; in the
// `ovs` profile the switch learns each connection's reply entry with its own VIP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';

describe('two nat services sharing a backend (ovs profile)', () => {
  const rig = new LbRig({ clients: ['c1', 'c2'], backends: ['b1', 'b2'] });
  beforeAll(async () => {
    await rig.start();
    rig.lb.addService({ name: 'one', vip: '10.0.0.100', port: 80, slots: 16 });
    rig.lb.addService({ name: 'two', vip: '10.0.0.101', port: 8000, slots: 16 });
    for (const b of ['b1', 'b2']) await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080, udp: 5353 });
    // b1:8080 is in both services; b2 only in "two".
    rig.lb.addBackend('one', { ip: rig.ip('b1'), port: 8080, weight: 1 });
    rig.lb.addBackend('two', { ip: rig.ip('b1'), port: 8080, weight: 1 });
    rig.lb.addBackend('two', { ip: rig.ip('b2'), port: 8080, weight: 1 });
    await until('settled', () => ['one', 'two'].every((s) => rig.lb.listBackends(s).every((b) => b.state === 'active')
      && rig.lb.getService(s).migrations.length === 0), 20_000);
  }, 60_000);
  afterAll(() => rig.stop());

  it('clients of each VIP get their answers from that VIP, long and short connections', async () => {
    const one = startClientProc((cmd) => rig.spawn('c1', cmd), { target: '10.0.0.100:80', long: 10, intervalMs: 100, newRate: 20, durationMs: 5_000 }).final(30_000);
    const two = startClientProc((cmd) => rig.spawn('c2', cmd), { target: '10.0.0.101:8000', long: 10, intervalMs: 100, newRate: 20, durationMs: 5_000 }).final(30_000);
    const [r1, r2] = await Promise.all([one, two]);
    for (const r of [r1, r2]) {
      expect(r.long.failures, JSON.stringify(r.long.failures.slice(0, 3))).toEqual([]);
      expect(r.newConns.failed).toBe(0);
      expect(r.newConns.ok).toBeGreaterThan(50);
    }
    // Service one has only b1; service two reached b1 as well (the shared backend answered both VIPs).
    expect(Object.keys(r1.newConns.byBackend)).toEqual(['b1']);
    expect(r2.newConns.byBackend.b1 ?? 0).toBeGreaterThan(0);
    expect(r2.newConns.byBackend.b2 ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
