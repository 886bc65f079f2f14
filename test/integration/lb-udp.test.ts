// UDP flows spread over backends by their ports too: Open vSwitch's default selection (dp_hash)
// hashes UDP without its ports, so on OpenFlow 1.5 the service's group asks for the `hash` method
// over the 5-tuple. 30 flows from one client over 3 equal backends: each backend gets some
// (all 30 on one backend, as before the fix, has odds of about 1 in 70,000 by chance).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';

describe('UDP services on a real Open vSwitch (OpenFlow 1.5)', () => {
  const rig = new LbRig({ clients: ['c1'], backends: ['b1', 'b2', 'b3'] });
  beforeAll(async () => {
    await rig.start();
    rig.lb.addService({ name: 'dns', vip: '10.0.0.100', port: 53, proto: 'udp', slots: 64 });
    for (const b of ['b1', 'b2', 'b3']) {
      await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, udp: 5353 });
      rig.lb.addBackend('dns', { ip: rig.ip(b), port: 5353, weight: 1 });
    }
    await until('backends active, slots settled', () => rig.lb.getService('dns').migrations.length === 0
      && rig.lb.listBackends('dns').every((b) => b.state === 'active'), 20_000);
  }, 60_000);
  afterAll(async () => {
    await rig.stop();
  });

  it('spreads UDP flows from one client over every backend, each flow staying on one', async () => {
    expect(rig.controller.switches()[0].version).toBe(6);
    const groups = await rig.lab.ofctl(['-O', 'OpenFlow15', 'dump-groups', 'br0']);
    expect(groups).toContain('selection_method=hash,fields(ip_src,ip_dst,udp_src,udp_dst)');
    const c = startClientProc((cmd) => rig.spawn('c1', cmd), { udpTarget: '10.0.0.100:53', udpFlows: 30, durationMs: 3_000 });
    const r = await c.final(20_000);
    expect(r.udp.stickinessViolations).toBe(0);
    expect(r.udp.failures).toEqual([]);
    for (const b of ['b1', 'b2', 'b3']) expect(r.udp.flowsByBackend[b] ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
