// A backend that changes its MAC (a replaced NIC, a moved VM) is found again by the periodic ARP
// probes; its buckets and its pins follow it, so its established connections carry on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';

describe('a backend that moves', () => {
  const rig = new LbRig({ clients: ['c1'], backends: ['b1', 'b2'], lb: { healthIntervalMs: 300 } });
  beforeAll(async () => {
    await rig.start();
    rig.lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16, migration: { minMs: 300, quietMs: 200, maxMs: 2_000 } });
    for (const b of ['b1', 'b2']) {
      await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080 });
      rig.lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
    }
    await until('settled', () => rig.lb.getService('web').migrations.length === 0
      && rig.lb.listBackends('web').every((b) => b.state === 'active'), 20_000);
  }, 60_000);
  afterAll(async () => {
    await rig.stop();
  });

  it('re-resolves the new MAC and its pins follow it', async () => {
    const key = `${rig.ip('b1')}:8080`;
    const before = rig.lb.listBackends('web').find((b) => b.key === key)!.resolvedMac;
    const client = startClientProc((cmd) => rig.spawn('c1', cmd), {
      target: '10.0.0.100:80', long: 20, intervalMs: 100, newRate: 10, durationMs: 9_000, stallMs: 3_000, reportMs: 250,
    });
    await sleep(1_500);
    // Drain b1 first, so its connections are held by pins (not by its buckets) when it moves.
    rig.lb.drainBackend('web', key);
    await until('b1 has only pins left', () => {
      const b1 = rig.lb.listBackends('web').find((b) => b.key === key)!;
      return b1.slots === 0 && rig.lb.getService('web').migrations.length === 0 && b1.pins > 0;
    }, 10_000);
    const newMac = '02:00:00:00:aa:01';
    const r = await rig.lab.exec('b1', ['ip', 'link', 'set', 'dev', rig.lab.host('b1').veth, 'address', newMac]);
    expect(r.code, r.stderr).toBe(0);
    await until('b1 found at its new MAC', () => rig.lb.listBackends('web').find((b) => b.key === key)?.resolvedMac === newMac, 5_000);
    const b1Replies = () => client.progress().at(-1)?.long.repliesByBackend.b1 ?? 0;
    const atMove = b1Replies();
    expect(before).not.toBe(newMac);
    const report = await client.final(30_000);
    expect(report.long.failures, JSON.stringify(report.long.failures.slice(0, 3))).toEqual([]);
    expect(report.newConns.failed).toBe(0);
    expect(report.long.connsByBackend.b1 ?? 0).toBeGreaterThan(0);
    // b1's pinned connections went on answering after the move.
    expect((report.long.repliesByBackend.b1 ?? 0) - atMove).toBeGreaterThan(100);
  }, 60_000);
});
