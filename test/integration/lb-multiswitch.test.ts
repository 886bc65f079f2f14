// A service on two switches joined by a link: each switch resolves the backends by ARP on its own
// (the replies travel on, so the far switch learns its port towards them), installs the service,
// and serves clients attached to it. A service limited to one switch is installed only there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHoldfast, type Running } from '../../tools/cli/start.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';
import { until } from '../helpers/lb-harness.js';

const DP0 = '00000000000000a0';
const DP1 = '00000000000000a1';

describe('a service across two switches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-multi-'));
  let hf: Running;
  let lab: Lab | undefined;

  beforeAll(async () => {
    hf = await startHoldfast({
      openflow: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, db: join(dir, 'h.db'),
      handleSignals: false, out: new PassThrough(),
    });
    const controller = { host: '127.0.0.1', port: hf.openflow.port };
    lab = await startLab({
      name: 'lb-multiswitch',
      bridges: [{ name: 'br0', datapathId: DP0, controller }, { name: 'br1', datapathId: DP1, controller }],
      hosts: [
        { name: 'b1', bridge: 'br0', ip: '10.0.0.11/24' },
        { name: 'b2', bridge: 'br0', ip: '10.0.0.12/24' },
        { name: 'c0', bridge: 'br0', ip: '10.0.0.1/24' },
        { name: 'c1', bridge: 'br1', ip: '10.0.0.2/24' },
      ],
    });
    // The link between the two switches: a pair of patch ports.
    await lab.vsctl(['add-port', 'br0', 'to-br1', '--', 'set', 'interface', 'to-br1', 'type=patch', 'options:peer=to-br0',
      '--', 'add-port', 'br1', 'to-br0', '--', 'set', 'interface', 'to-br0', 'type=patch', 'options:peer=to-br1']);
    for (const b of ['b1', 'b2']) await startServerProc((cmd) => lab!.spawn(b, cmd), { name: b, tcp: 8080 });
    await until('both switches', () => hf.controller.switches().length === 2);
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
    await hf?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves backends through the link and serves clients on both switches', async () => {
    hf.lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 32 });
    for (const ip of ['10.0.0.11', '10.0.0.12']) hf.lb.addBackend('web', { ip, port: 8080, weight: 1 });
    await until('backends known on both switches', () => hf.lb.listBackends('web').every((b) => b.state === 'active'
      && b.locations?.[DP0] !== undefined && b.locations?.[DP1] !== undefined), 20_000);
    const br1Link = Number((await lab!.vsctl(['get', 'interface', 'to-br0', 'ofport'])).trim());
    for (const b of hf.lb.listBackends('web')) expect(b.locations?.[DP1]).toBe(br1Link);
    await until('slots settled', () => hf.lb.getService('web').migrations.length === 0, 20_000);
    for (const c of ['c0', 'c1']) {
      const r = await startClientProc((cmd) => lab!.spawn(c, cmd), { target: '10.0.0.100:80', long: 5, newRate: 30, durationMs: 2_500 }).final(20_000);
      expect(r.long.failures, c).toEqual([]);
      expect(r.newConns.failed, c).toBe(0);
      expect(Object.keys(r.newConns.byBackend).sort(), c).toEqual(['b1', 'b2']);
    }
  }, 90_000);

  it('installs a service limited to one switch only there', async () => {
    hf.lb.addService({ name: 'only0', vip: '10.0.0.101', port: 80, slots: 8, switches: [DP0] });
    await until('group on br0', async () => (await lab!.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0'])).includes('10.0.0.101'));
    const br1 = await lab!.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br1']);
    expect(br1).not.toContain('10.0.0.101');
    expect(br1).toContain('10.0.0.100');
  }, 30_000);
});
