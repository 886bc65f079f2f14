// etcd under a running cluster of three real `holdfast start --etcd` processes, with a real Open
// vSwitch and 200 long-lived connections (half idle) plus new connections and UDP flows:
// - the single etcd is stopped with SIGTERM for 8 s and started again on the same data dir: the
//   data path never notices, a pool change during the outage is refused unmade with a 503 that
//   says why (through the leader and through a follower), reads still answer, the leader stays the
//   same (no role change on the switch), writes are accepted again shortly after etcd is back, and
//   etcd holds exactly the state before plus the acknowledged changes (a new leader loads it);
// - a three-member etcd: one member SIGKILLed changes nothing (writes go on, no leader change),
//   then the controller leader is SIGKILLed mid-drain: a follower leads, the drain completes,
//   nothing breaks.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceView } from '../../apps/lb/control.js';
import { asProc, ClusterRig, leadersBesides } from '../helpers/cluster-rig.js';
import { describeOutcome, expectNothingBroke, onBoth, outcome, setUpServices, sleep, startWorkload, type ProcRig } from '../helpers/proc-rig.js';
import { until } from '../helpers/wait-for.js';

const CLIENTS = ['c1', 'c2'];
const BACKENDS = ['b1', 'b2', 'b3'];

/** What a pool's state is, independent of counters and timing: each backend's address, weight and state. */
async function poolState(rig: ProcRig): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of ['tcp', 'udp']) {
    const v: ServiceView = await rig.service(s);
    out[s] = v.backends.map((b) => `${b.key} weight ${b.weight} ${b.state}`).sort();
  }
  return out;
}


describe('a cluster of controllers while etcd fails', () => {
  let rig: ClusterRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('etcd stopped for 8 s and started again: forwarding goes on, changes are refused unmade with a clear 503, the leader stays, nothing is lost', async () => {
    rig = new ClusterRig({ clients: CLIENTS, backends: BACKENDS });
    await rig.start();
    const leader = rig.members[0]!;
    const generation = leader.leadership()!.generation;
    await setUpServices(rig, 'nat', 'auto', BACKENDS);
    const before = await rig.rolesSettled(1, 2);
    expect(before.filter((r) => r === 'master'), before.join(' ')).toHaveLength(1);

    const work = startWorkload(rig, 40_000);
    await sleep(6_000);
    // Acknowledged before the outage: it must be in etcd afterwards.
    await onBoth(rig, 'nat', 'weight', 'b2', '2');
    const expected = await poolState(rig);

    const etcd = rig.etcd!.members[0]!;
    await etcd.halt('SIGTERM');
    const downAt = Date.now();
    await sleep(1_000);

    // A change while etcd is away: refused unmade, quickly, saying why; the same through a follower.
    const t0 = Date.now();
    const refused = await rig.cli(['backend', 'weight', 'tcp', `${rig.ip('b3')}:8080`, '5']);
    const refusedMs = Date.now() - t0;
    console.log(`etcd down: a change answered in ${refusedMs} ms: exit ${refused.code}: ${refused.stderr.trim()}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not made/);
    expect(refused.stderr).toMatch(/etcd/);
    expect(refusedMs).toBeLessThan(3_000);
    const viaFollower = await asProc(rig.members[1]!).cli(['backend', 'weight', 'tcp', `${rig.ip('b3')}:8080`, '5']);
    expect(viaFollower.code).not.toBe(0);
    expect(viaFollower.stderr).toMatch(/not made/);
    // Reads still answer, from the leader's copy, and show nothing of the refused change.
    expect(await poolState(rig)).toEqual(expected);

    await sleep(Math.max(0, 8_000 - (Date.now() - downAt)));
    const startedAt = Date.now();
    await etcd.resume();
    const upAt = Date.now();
    console.log(`etcd stopped (SIGTERM) for ${startedAt - downAt} ms, then started on the same data dir; it answered after another ${upAt - startedAt} ms`);

    // Changes are accepted again soon after etcd is back.
    await until('a change to be accepted again', async () => (await rig!.cli(['backend', 'weight', 'tcp', `${rig!.ip('b3')}:8080`, '4'])).code === 0, 15_000);
    console.log(`etcd back: changes accepted again ${Date.now() - startedAt} ms after etcd was started (${Date.now() - upAt} ms after it answered)`);
    await rig.ok(['backend', 'weight', 'udp', `${rig.ip('b3')}:5353`, '4']);

    // No leadership change anywhere: every member still runs, nobody else led, the switch still
    // sees one master and two slaves.
    for (const m of rig.members) expect(m.proc.exitCode, `${m.name}: ${m.out()}`).toBeNull();
    expect(leadersBesides(rig, leader)).toEqual([]);
    expect(leader.leadership()!.generation).toBe(generation);
    const after = await rig.rolesSettled(1, 2);
    expect(after.filter((r) => r === 'master'), after.join(' ')).toHaveLength(1);

    const o = await outcome(work);
    console.log(describeOutcome('ovs nat, cluster of 3, etcd stopped 8 s and restarted', o));
    expect(o.longOpened).toBe(200);
    expectNothingBroke(o);

    // Nothing lost: etcd holds the state before plus the acknowledged changes. A new leader, which
    // knows only what etcd has, shows exactly that.
    const want = { ...expected };
    const withB3 = await poolState(rig);
    expect(withB3.tcp!.find((l) => l.startsWith(`${rig!.ip('b3')}:`))).toMatch(/weight 4 /);
    await leader.proc.kill('SIGKILL');
    await leader.exited;
    await rig.nextLeader(10_000);
    const fromEtcd = await poolState(rig);
    for (const s of ['tcp', 'udp']) {
      want[s] = want[s]!.map((l) => (l.startsWith(`${rig!.ip('b3')}:`) ? l.replace(/weight \d+/, 'weight 4') : l));
    }
    expect(fromEtcd).toEqual(want);
  }, 240_000);

  it('three-member etcd: one etcd member SIGKILLed changes nothing; then the leader is SIGKILLed mid-drain and nothing breaks', async () => {
    rig = new ClusterRig({ clients: CLIENTS, backends: BACKENDS }, 3);
    await rig.start();
    const leader = rig.members[0]!;
    const first = leader.leadership()!;
    await setUpServices(rig, 'nat', 'auto', BACKENDS);
    await rig.rolesSettled(1, 2);

    const work = startWorkload(rig, 35_000);
    await sleep(5_000);
    await rig.etcd!.members[0]!.halt('SIGKILL');
    // The other two keep a quorum: changes go on at once, and nobody else leads.
    const t0 = Date.now();
    await onBoth(rig, 'nat', 'weight', 'b2', '2');
    console.log(`one of three etcd members SIGKILLed: a change (two API calls) took ${Date.now() - t0} ms`);
    await sleep(3_000);
    expect(leadersBesides(rig, leader)).toEqual([]);
    for (const m of rig.members) expect(m.proc.exitCode, `${m.name}: ${m.out()}`).toBeNull();

    await onBoth(rig, 'nat', 'drain', 'b1');
    await sleep(2_000);
    const killedAt = Date.now();
    await rig.proc!.kill();
    const next = await rig.nextLeader(10_000);
    const won = next.leadership()!;
    console.log(`three-member etcd (one down): leader SIGKILLed, ${next.name} elected after ${won.electedAt - killedAt} ms`);
    expect(won.electedAt - killedAt).toBeLessThan(2_500);
    expect(won.generation).toBeGreaterThan(first.generation);
        expect((await rig.service('tcp')).backends.find((b) => b.ip === rig!.ip('b2'))?.weight).toBe(2);

    const o = await outcome(work);
    console.log(describeOutcome('ovs nat, cluster of 3 on a three-member etcd (one SIGKILLed), leader SIGKILLed mid-drain', o));
    expect(o.longOpened).toBe(200);
    expectNothingBroke(o);
    await until('b1 drained on the new leader', async () => {
      const v = await rig!.service('tcp');
      return v.backends.find((b) => b.ip === rig!.ip('b1'))?.state === 'drained';
    }, 30_000);
  }, 240_000);
});
