// The operator's path end to end: a real `holdfast start` process, a real Open vSwitch bridge
// pointed at it, services and backends added with the CLI, traffic from a client namespace, a
// `backend drain --wait` that returns once the drain is complete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';
import { removeDir, startHoldfastProcess, type HoldfastProcess } from '../helpers/holdfast-process.js';
import { until } from '../helpers/lb-harness.js';

describe('holdfast start with a real switch, driven by the CLI', () => {
  let hf: HoldfastProcess;
  let lab: Lab | undefined;

  beforeAll(async () => {
    hf = await startHoldfastProcess();
    lab = await startLab({
      name: 'operator-path',
      bridges: [{ name: 'br0', controller: { host: '127.0.0.1', port: hf.openflowPort } }],
      hosts: [
        { name: 'c1', bridge: 'br0', ip: '10.0.0.1/24' },
        { name: 'b1', bridge: 'br0', ip: '10.0.0.11/24' },
        { name: 'b2', bridge: 'br0', ip: '10.0.0.12/24' },
      ],
    });
    for (const b of ['b1', 'b2']) await startServerProc((cmd) => lab!.spawn(b, cmd), { name: b, tcp: 8080 });
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
    await hf?.stop();
    if (hf) removeDir(hf.dir);
  });

  it('serves a service set up entirely through the CLI, and drains with --wait', async () => {
    await until('the switch in holdfast status', async () => {
      const r = await hf.cli(['status', '--json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { switches: unknown[] }).switches.length === 1;
    });
    const add = await hf.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80', '--slots', '32']);
    expect(add.code, add.stderr).toBe(0);
    for (const ip of ['10.0.0.11', '10.0.0.12']) {
      const r = await hf.cli(['backend', 'add', 'web', `${ip}:8080`]);
      expect(r.code, r.stderr).toBe(0);
    }
    await until('backends resolved by ARP and active', async () => {
      const r = await hf.cli(['backend', 'list', 'web', '--json']);
      const list = JSON.parse(r.stdout) as { state: string; slots: number }[];
      return list.length === 2 && list.every((b) => b.state === 'active' && b.slots > 0);
    }, 20_000);

    const client = startClientProc((cmd) => lab!.spawn('c1', cmd), {
      target: '10.0.0.100:80', long: 10, intervalMs: 100, newRate: 20, durationMs: 6_000,
    });
    await new Promise((r) => setTimeout(r, 1_500));
    // Drain b1 while the client runs; --wait returns when b1 is drained (its connections end with the client).
    const drain = hf.cli(['backend', 'drain', 'web', '10.0.0.11:8080', '--wait', '--timeout', '60']);
    const report = await client.final(30_000);
    expect(report.long.failures).toEqual([]);
    expect(report.newConns.failed).toBe(0);
    expect(Object.keys(report.newConns.byBackend).sort()).toEqual(['b1', 'b2']);
    const drained = await drain;
    expect(drained.code, drained.stderr).toBe(0);
    const r = await hf.cli(['backend', 'list', 'web', '--json']);
    const b1 = (JSON.parse(r.stdout) as { key: string; state: string; pins: number }[]).find((b) => b.key === '10.0.0.11:8080');
    expect(b1?.state).toBe('drained');
    expect(b1?.pins).toBe(0);
  }, 120_000);
});
