// In the `ovs` profile a drain ends exactly when the backend's last connection has ended: the
// switch remembers every connection, and the controller counts what it remembers. Through the
// real `holdfast start` process and `holdfast backend drain --wait`.
import { afterEach, describe, expect, it } from 'vitest';
import { addBackend, backendKey, ProcRig, setUpServices, sleep, VIP, TCP_PORT } from '../helpers/proc-rig.js';
import { until } from '../helpers/wait-for.js';
import { startClientProc } from '../../tools/traffic/procs.js';
import type { BackendView } from '../../apps/lb/control.js';

describe('drain --wait in the ovs profile', () => {
  let rig: ProcRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('waits while one connection is open, and returns within seconds of the last one closing', async () => {
    rig = new ProcRig({ clients: ['c1', 'c2'], backends: ['b1', 'b2'] });
    await rig.start();
    await setUpServices(rig, 'nat', 'auto', ['b1']);
    // Every connection starts on b1 (the only backend); one of them is idle (a message every 10-30 s).
    const many = startClientProc((cmd) => rig!.spawn('c1', cmd), { target: `${VIP}:${TCP_PORT}`, long: 8, intervalMs: 200, durationMs: 120_000 });
    const one = startClientProc((cmd) => rig!.spawn('c2', cmd), { target: `${VIP}:${TCP_PORT}`, long: 1, intervalMs: 20_000, jitter: 0.5, durationMs: 120_000 });
    const b1 = backendKey(rig, 'b1', 'nat', 'tcp');
    const view = async () => (JSON.parse(await rig!.ok(['backend', 'list', 'tcp', '--json'])) as BackendView[]).find((b) => b.key === b1)!;
    await until('nine connections counted on b1', async () => (await view()).connections === 9, 10_000);
    await addBackend(rig, 'nat', 'b2');

    // Nine connections open: the drain does not end.
    let r = await rig.cli(['backend', 'drain', 'tcp', b1, '--wait', '--timeout', '4']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/gave up waiting after 4 s: .* draining with 9 connections left/);

    // Eight close (FIN); the idle one stays open: still draining, one connection left.
    const manyReport = await many.stop();
    expect(manyReport.long.failures).toEqual([]);
    await sleep(3_000);
    r = await rig.cli(['backend', 'drain', 'tcp', b1, '--wait', '--timeout', '3']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/draining with 1 connections? left/);
    expect((await view()).state).toBe('draining');

    // The last one closes: the drain ends within a few seconds (the entry's fin timeout, 2 s, plus
    // one count, 1 s): --wait gives up after 8.
    const oneReport = await one.stop();
    expect(oneReport.long.failures).toEqual([]);
    const closedAt = Date.now();
    r = await rig.cli(['backend', 'drain', 'tcp', b1, '--wait', '--timeout', '8']);
    const tookMs = Date.now() - closedAt;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/drained/);
    const v = await view();
    expect(v.state).toBe('drained');
    expect(v.connections).toBe(0);
    console.log(`drain ended ${tookMs} ms after the last connection closed`);

    // remove --now deletes what the switch remembers for the backend at once: b2 now holds every
    // connection; after the remove none of its entries is left on the switch.
    const b2 = backendKey(rig, 'b2', 'nat', 'tcp');
    const more = startClientProc((cmd) => rig!.spawn('c1', cmd), { target: `${VIP}:${TCP_PORT}`, long: 5, intervalMs: 200, durationMs: 60_000 });
    const b2View = async () => (JSON.parse(await rig!.ok(['backend', 'list', 'tcp', '--json'])) as BackendView[]).find((b) => b.key === b2);
    await until('five connections counted on b2', async () => (await b2View())?.connections === 5, 10_000);
    const tcp = JSON.parse(await rig.ok(['service', 'show', 'tcp', '--json'])) as { id: number };
    const b2Id = (await b2View())!.id;
    const cookie = `cookie=0x${((0x02n << 56n) | (BigInt(tcp.id) << 32n) | BigInt(b2Id)).toString(16)},`;
    const entries = async () => (await rig!.lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br0'])).split('\n').filter((l) => l.trim().startsWith(cookie)).length;
    expect(await entries()).toBe(5);
    await rig.ok(['backend', 'remove', 'tcp', b2, '--now']);
    await until('b2\'s entries deleted from the switch', async () => (await entries()) === 0, 3_000);
    await more.stop().catch(() => undefined); // its connections broke: that is what --now means
  }, 120_000);
});
