// Anyone on a switch port can send ARP replies. A client that floods forged replies claiming a
// backend's address (to the service's virtual MAC, where the controller's resolution answers go)
// must not re-point the backend: answers nobody asked for are ignored, and one that would move a
// backend that still answers is refused and reported once, not once per packet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';

/** Sends `count` ARP replies from `dev`: "IP spa is at MAC sha", addressed to `dst`. */
const FORGER = `
import socket, struct, sys, time
dev, dst, sha, spa, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
ip = lambda a: socket.inet_aton(a)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
frame = mac(dst) + mac(sha) + struct.pack('!H', 0x0806) + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2) + mac(sha) + ip(spa) + mac(dst) + ip('0.0.0.0')
for i in range(count):
    s.send(frame)
    if i % 100 == 99: time.sleep(0.005)
print('sent', count)
`;

describe('forged ARP answers', () => {
  const rig = new LbRig({ clients: ['c1'], backends: ['b1', 'b2'], lb: { healthIntervalMs: 300 } });
  beforeAll(async () => {
    await rig.start();
    rig.lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16 });
    for (const b of ['b1', 'b2']) {
      await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080 });
      rig.lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
    }
    await until('settled', () => rig.lb.listBackends('web').every((b) => b.state === 'active'), 20_000);
  }, 60_000);
  afterAll(() => rig.stop());

  it('5,000 forged replies neither move the backend nor flood the event log', async () => {
    const key = `${rig.ip('b1')}:8080`;
    const real = rig.lb.listBackends('web').find((b) => b.key === key)!.resolvedMac;
    const lastEvent = rig.lb.eventsSince(0, 1000).at(-1)!.id;
    const client = startClientProc((cmd) => rig.spawn('c1', cmd), { target: '10.0.0.100:80', long: 10, intervalMs: 100, newRate: 20, durationMs: 8_000 });
    await sleep(1_000);
    const vmac = rig.lb.getService('web').vmac;
    const r = await rig.lab.exec('c1', ['python3', '-c', FORGER, rig.lab.host('c1').veth, vmac, '02:66:66:66:66:66', rig.ip('b1'), '5000'], { timeoutMs: 30_000 });
    expect(r.stdout, r.stderr).toContain('sent 5000');
    await sleep(2_000);
    const b1 = rig.lb.listBackends('web').find((b) => b.key === key)!;
    expect(b1.resolvedMac).toBe(real);
    expect(b1.state).toBe('active');
    const events = rig.lb.eventsSince(lastEvent, 1000);
    expect(events.filter((e) => e.event.type === 'backend_resolved')).toEqual([]);
    // Reported, but once (the forger raced real answers for a second or two), not per packet.
    expect(events.length).toBeLessThan(10);
    const report = await client.final(30_000);
    expect(report.long.failures).toEqual([]);
    expect(report.newConns.failed).toBe(0);
    expect(report.newConns.byBackend.b1 ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
