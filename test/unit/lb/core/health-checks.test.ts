// Health checks decided by the core with a monitor address: TCP probes leave as packet-outs to the
// port the backend sits behind, on the clock; unanswered ones time out, and `fall` failures in a
// row take the backend down (its pins deleted, its slots moved). HTTP checks without a monitor
// address are asked of the shell and judged by the core when their outcome comes back.
import { describe, expect, it } from 'vitest';
import { parsePacket } from '../../../../openflow/packet/parse.js';
import { eventsOf, Rig, sent, SW1 } from './fixture.js';

const HEALTH = { type: 'tcp' as const, intervalMs: 1_000, timeoutMs: 500, rise: 2, fall: 3 };

describe('health checks (core)', () => {
  it('tcp through the switch: SYN probes on the clock; three timeouts take the backend down', () => {
    const rig = new Rig(1_000_000, { monitor: { ip: '10.0.0.250' } });
    rig.keep(rig.core.switchUp(SW1, rig.now));
    rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8, health: HEALTH }, rig.now));
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 4 }, rig.now));
    const probes: Buffer[] = [];
    const downs = [];
    for (let t = 0; t < 6_000; t += 50) {
      const fx = rig.keep(rig.core.tick(rig.advance(50)));
      for (const m of sent(fx)) {
        if (m.type === 'packet_out' && m.actions.some((a) => a.type === 'output' && a.port === 4)) probes.push(m.data);
      }
      downs.push(...eventsOf(fx, 'backend_health'));
      if (downs.length > 0) {
        expect(eventsOf(fx, 'backend_state').map((e) => e.to)).toEqual(['down']);
        expect(sent(fx).filter((m) => m.type === 'flow_mod' && m.command === 'delete')).toHaveLength(2);
        break;
      }
    }
    expect(probes).toHaveLength(3);
    const syn = parsePacket(probes[0]);
    expect(syn.ok && syn.packet.l3).toMatchObject({ kind: 'ipv4', src: '10.0.0.250', dst: '10.0.0.11' });
    expect(syn.ok && syn.packet.l4).toMatchObject({ kind: 'tcp', dstPort: 8080, flags: 0x02 });
    expect(downs).toEqual([
      { type: 'backend_health', service: 'web', backend: '10.0.0.11:8080', health: 'down', reason: expect.stringMatching(/no answer within 500 ms/), check: 'tcp' },
    ]);
    expect(rig.core.listBackends('web')[0]).toMatchObject({ state: 'down', health: { status: 'down', bad: 3 } });
  });

  it('http from the host: the shell runs the check, the core judges its outcome', () => {
    const rig = new Rig();
    rig.keep(rig.core.switchUp(SW1, rig.now));
    rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8, health: { ...HEALTH, type: 'http', fall: 1 } }, rig.now));
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 4 }, rig.now));
    const checks = [];
    for (let i = 0; i < 40 && checks.length === 0; i++) {
      checks.push(...rig.core.tick(rig.advance(50)).runtime.flatMap((r) => (r.kind === 'http_check' ? [r.check] : [])));
    }
    expect(checks).toEqual([{ token: 1, host: '10.0.0.11', port: 8080, path: '/', timeoutMs: 500 }]);
    // No second check while one is in flight.
    expect(rig.core.tick(rig.advance(2_000)).runtime).toEqual([]);
    const fx = rig.core.httpCheckDone(1, { kind: 'status', status: 503 }, rig.advance(20));
    expect(eventsOf(fx, 'backend_health').map((e) => [e.health, e.reason])).toEqual([['down', expect.stringMatching(/503/)]]);
    expect(rig.core.listBackends('web')[0].state).toBe('down');
    // An outcome nobody asked for changes nothing.
    expect(rig.core.httpCheckDone(99, { kind: 'status', status: 200 }, rig.now).empty).toBe(true);
  });
});
