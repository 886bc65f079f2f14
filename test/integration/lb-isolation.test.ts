// One bad service never freezes a switch: each service is its own reconciler owner with its own
// transaction, so a service whose pipeline a switch cannot take (here a 2,000-slot nat group, too
// big for one OpenFlow message, written into the state file by an older build that did not check)
// is marked failed on that switch, and every other service's changes — and L2 forwarding — still
// take effect.
import { afterEach, describe, expect, it } from 'vitest';
import { LbRig, until } from '../helpers/lb-harness.js';
import { Store } from '../../db/store.js';
import { SERVICE_DEFAULTS } from '../../apps/lb/model.js';
import { SlotTable } from '../../apps/lb/slot-table.js';
import { serviceVmac } from '../../apps/lb/cookies.js';

describe('a failing service does not block the others', () => {
  let rig: LbRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('marks the oversized service failed and serves the good one, backend adds included', async () => {
    rig = new LbRig({ clients: ['c1'], backends: ['b1', 'b2'] });
    // The state file already holds a service whose group cannot be sent (2,000 nat buckets > 64 KiB).
    const store = Store.open(rig.dbFile);
    const big = { ...SERVICE_DEFAULTS, name: 'big', vip: '10.0.0.200', port: 80, slots: 2000, id: 1, vmac: serviceVmac(1), createdAt: 0 };
    store.insertService(big);
    store.saveSlotTable('big', new SlotTable({ slots: 2000, windows: big.migration, maxQuerySlots: 64, tracking: 'migrations' }).snapshot());
    store.close();
    await rig.start();
    const { lb } = rig;
    lb.addBackend('big', { ip: rig.ip('b1'), port: 9090, weight: 1 });

    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16 });
    for (const b of ['b1', 'b2']) rig.spawn(b, ['socat', 'TCP-LISTEN:8080,fork,reuseaddr', `SYSTEM:echo ${b}`]);
    lb.addBackend('web', { ip: rig.ip('b1'), port: 8080, weight: 1 });
    await until('web serves from b1', async () => (await rig!.lab.exec('c1', ['socat', '-T2', '-', 'TCP:10.0.0.100:80'], { timeoutMs: 5000, input: '' })).stdout.trim() === 'b1', 15_000);
    const dpid = rig.controller.switches()[0]!.dpidHex;
    await until('big is marked failed on the switch', () => lb.getService('big').failedOn[dpid] !== undefined, 10_000);
    expect(lb.getService('big').failedOn[dpid]).toMatch(/65535|too (long|large)|length/i);
    // (big's 2,000 slot moves come first in the log: read all of it.)
    const all = [];
    for (let after = 0, page = lb.eventsSince(0, 1000); page.length > 0; after = page.at(-1)!.id, page = lb.eventsSince(after, 1000)) all.push(...page);
    const errs = all.filter((e) => e.event.type === 'error');
    expect(errs.some((e) => e.event.type === 'error' && e.event.service === 'big'), JSON.stringify(errs)).toBe(true);

    // A later change of the good service still takes effect while big keeps failing.
    lb.addBackend('web', { ip: rig.ip('b2'), port: 8080, weight: 1 });
    await until('web serves from b2 too', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await rig!.lab.exec('c1', ['socat', '-T2', '-', 'TCP:10.0.0.100:80'], { timeoutMs: 5000, input: '' })).stdout.trim());
      return seen.has('b1') && seen.has('b2');
    }, 20_000);
    // L2 forwarding went in too: hosts reach each other.
    expect((await rig.lab.exec('c1', ['ping', '-c1', '-W2', rig.ip('b2')])).code).toBe(0);
    // The failed service can be removed; the good one carries on.
    lb.removeService('big');
    expect(lb.listServices().map((s) => s.name)).toEqual(['web']);
  }, 90_000);
});
