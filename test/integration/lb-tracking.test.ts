// `--tracking all` through a real switch, in the profile where it changes the data path
// (`openflow13`: every flow is pinned by the controller at its first packet), nat and dsr: every
// connection survives the pool changes, idle or busy, and no connection attempt fails — including
// those to a backend that resolved after the last pool change (its nat reverse rule is installed
// although no bucket changed).
import { afterEach, describe, expect, it } from 'vitest';
import {
  addBackend, describeOutcome, onBoth, outcome, ProcRig, setUpServices, sleep, startWorkload,
} from '../helpers/proc-rig.js';

describe.each(['nat', 'dsr'] as const)('--tracking all (openflow13 profile, %s)', (mode) => {
  let rig: ProcRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('pins every flow: 0 broken, 0 failed connects across add and drain', async () => {
    rig = new ProcRig({ clients: ['c1', 'c2'], backends: ['b1', 'b2', 'b3'] });
    await rig.start();
    await setUpServices(rig, mode, 'openflow13', ['b1', 'b2'], ['--tracking', 'all']);
    const work = startWorkload(rig, 40_000, { perHost: 25 });
    await sleep(5_000);
    await addBackend(rig, mode, 'b3');
    await sleep(5_000);
    await onBoth(rig, mode, 'drain', 'b1');
    const o = await outcome(work);
    console.log(describeOutcome(`tracking all ${mode}`, o));
    expect(o.longOpened).toBe(100);
    expect(o.busyBroken + o.idleBroken, JSON.stringify([...o.busyReports, ...o.idleReports].flatMap((r) => r.long.failures).slice(0, 5))).toBe(0);
    expect(o.newFailed).toBe(0);
    expect(o.newOk).toBeGreaterThan(400);
    expect(o.udpFailures).toBe(0);
    expect(o.stickiness).toBe(0);
    // b3 resolved after the pool was set up and took new connections (both directions worked).
    expect(o.busyReports.some((r) => (r.newConns.byBackend.b3 ?? 0) > 0)).toBe(true);
    const tcp = await rig.service('tcp');
    expect(tcp.counters.pinsInstalled).toBeGreaterThanOrEqual(o.newOk);
  }, 150_000);
});
