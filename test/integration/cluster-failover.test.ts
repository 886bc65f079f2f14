// Three real `holdfast start --etcd` processes, one real etcd, one real Open vSwitch pointed at all
// three controllers. The leader is killed with SIGKILL in the middle of a drain while 200
// long-lived connections (half idle) and new connections run through the switch: another member
// becomes leader within about 2 s, takes the master role with a higher generation id (the switch
// says so), loads the state from etcd, and the drain started on the dead leader completes on the
// new one; nothing breaks in the `ovs` profile, and in `openflow13` only what the profile's drain
// breaks anyway (nothing with --tracking all). A switch that loses the leader but keeps the
// followers is not taken over by them. A stale leader (stopped past its lease, then woken) writes
// nothing to etcd or the switch, and leaves.
import { afterEach, describe, expect, it } from 'vitest';
import { asProc, ClusterRig, leadersBesides, type ClusterInfo } from '../helpers/cluster-rig.js';
import { runCli } from '../helpers/holdfast-process.js';
import { describeOutcome, expectNothingBroke, onBoth, outcome, setUpServices, sleep, startWorkload } from '../helpers/proc-rig.js';
import { until } from '../helpers/wait-for.js';

const CLIENTS = ['c1', 'c2'];

const BACKENDS = ['b1', 'b2', 'b3'];

describe('a cluster of controllers (etcd)', () => {
  let rig: ClusterRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('ovs profile: SIGKILL of the leader mid-drain: a follower leads within 2 s with a higher generation, the drain completes, nothing breaks', async () => {
    rig = new ClusterRig({ clients: CLIENTS, backends: BACKENDS });
    await rig.start();
    const first = rig.members[0]!.leadership()!;
    await setUpServices(rig, 'nat', 'auto', ['b1', 'b2', 'b3']);
    // ovsdb shows each connection's role a few seconds after it changes (status is rate-limited).
    const before = await rig.rolesSettled(1, 2);
    expect(before.filter((r) => r === 'master'), before.join(' ')).toHaveLength(1);
    expect(before.filter((r) => r === 'slave'), before.join(' ')).toHaveLength(2);

    // Any member answers: a follower forwards to the leader (status, services) and says who leads.
    const viaFollower = await runCli(['status', '--json'], { HOLDFAST_API: `http://127.0.0.1:${rig.members[1]!.apiPort}` });
    expect(viaFollower.code, viaFollower.stderr).toBe(0);
    const seen = JSON.parse(viaFollower.stdout) as { services: { name: string }[]; cluster: ClusterInfo };
    expect(seen.services.map((s) => s.name).sort()).toEqual(['tcp', 'udp']);
    expect(seen.cluster.members).toHaveLength(3);
    expect(seen.cluster.isLeader).toBe(false);
    expect(seen.cluster.leader?.api).toBe(`http://127.0.0.1:${rig.members[0]!.apiPort}`);
    expect(seen.cluster.switches.map((s) => s.role)).toEqual(['slave']);

    const work = startWorkload(rig, 40_000);
    await sleep(6_000);
    await onBoth(rig, 'nat', 'drain', 'b1');
    expect((await rig.service('tcp')).backends.find((b) => b.ip === rig!.ip('b1'))?.state).toBe('draining');
    await sleep(2_000);

    const killedAt = Date.now();
    await rig.proc!.kill();
    const next = await rig.nextLeader(10_000);
    const won = next.leadership()!;
    const failoverMs = won.electedAt - killedAt;
    console.log(`failover: leader SIGKILLed, ${next.name} elected after ${failoverMs} ms, state loaded after ${won.loadedAt - killedAt} ms;`
      + ` generation ${first.generation} -> ${won.generation}`);
    expect(failoverMs).toBeLessThan(2_500);
    expect(won.generation).toBeGreaterThan(first.generation);
        await until('the switch to see one master again', async () => {
      const roles = await rig!.roles();
      return roles.filter((r) => r === 'master').length === 1 && roles.filter((r) => r === 'slave').length === 1;
    }, 10_000);

    // The new leader carries on from etcd: b1 is still draining there, and a pool change made
    // through the other follower's API takes effect.
    expect((await rig.service('tcp')).backends.find((b) => b.ip === rig!.ip('b1'))?.state).toBe('draining');
    const other = rig.members.slice(1).find((m) => m !== next)!;
    rig.proc = asProc(other);
    await onBoth(rig, 'nat', 'weight', 'b3', '3');
    
    const o = await outcome(work);
    console.log(describeOutcome('ovs nat, cluster of 3, leader SIGKILLed mid-drain', o));
    expect(o.longOpened).toBe(200);
    expectNothingBroke(o);
    // The drain started on the dead leader ends on the new one once b1's connections are gone.
    await until('b1 drained on the new leader', async () => {
      const v = await rig!.service('tcp');
      return v.backends.find((b) => b.ip === rig!.ip('b1'))?.state === 'drained';
    }, 30_000);
    expect((await rig.service('tcp')).backends.find((b) => b.ip === rig!.ip('b3'))?.weight).toBe(3);
  }, 240_000);

  // The figure to beat: one controller SIGKILLed in this profile broke 0 busy and 68 idle of 200
  // long connections (session 2, lb-survive: four pool changes and the crash). Followers already
  // hold their connections as slaves, so the switch waits only for the election, not for a
  // reconnection, and the new leader resumes the query windows from etcd.
  // - tracking migrations (the default): the idle connections that break are the drained backend's
  //   quiet ones (about a third of the 100 idle: b1 owns a third of the slots), whose slot moved
  //   while they sent nothing: the profile's limit, failover or not (the same run without the kill
  //   broke 35 idle). More than that would mean the failover broke connections of its own.
  // - tracking all: every flow is pinned at its first packet, and the new leader keeps the pins
  //   it finds on the switch: nothing breaks.
  for (const [tracking, idleBound] of [['migrations', 50], ['all', 0]] as const) {
    it(`openflow13 profile, tracking ${tracking}: SIGKILL of the leader mid-drain: the new leader answers query slots; at most ${idleBound} idle connections break`, async () => {
      rig = new ClusterRig({ clients: CLIENTS, backends: BACKENDS });
      await rig.start();
      await setUpServices(rig, 'nat', 'openflow13', ['b1', 'b2', 'b3'], ['--tracking', tracking]);
      const work = startWorkload(rig, 40_000);
      await sleep(6_000);
      await onBoth(rig, 'nat', 'drain', 'b1');
      await sleep(2_000);
      const killedAt = Date.now();
      await rig.proc!.kill();
      const next = await rig.nextLeader(10_000);
      console.log(`openflow13, tracking ${tracking}: leader SIGKILLed, ${next.name} elected after ${next.leadership()!.electedAt - killedAt} ms`);
            expect((await rig.service('tcp')).backends.find((b) => b.ip === rig!.ip('b1'))?.state).toBe('draining');

      const o = await outcome(work);
      console.log(describeOutcome(`openflow13 nat, tracking ${tracking}, cluster of 3, leader SIGKILLed mid-drain`, o));
      expect(o.longOpened).toBe(200);
      expect(o.busyBroken, JSON.stringify(o.busyReports.flatMap((r) => r.long.failures).slice(0, 5))).toBe(0);
      expect(o.idleBroken, JSON.stringify(o.idleReports.flatMap((r) => r.long.failures).slice(0, 5))).toBeLessThanOrEqual(idleBound);
      expect(o.newFailed).toBe(0);
      expect(o.udpFailures).toBe(0);
      expect(o.stickiness).toBe(0);
    }, 240_000);
  }

  it('a switch that loses the leader but keeps the followers: no follower takes over, the switch keeps forwarding, and the leader brings it up to date when it is back', async () => {
    rig = new ClusterRig({ clients: CLIENTS, backends: BACKENDS });
    await rig.start();
    const leader = rig.members[0]!;
    await setUpServices(rig, 'nat', 'auto', BACKENDS);
    // The switch's connection to the leader: the Controller row whose role is master.
    let row: string[] | undefined;
    await until('the switch to show its master', async () => {
      const csv = await rig!.lab.vsctl(['--format=csv', '--no-headings', '--columns=_uuid,target,role', 'list', 'Controller']);
      row = csv.trim().split('\n').map((l) => l.split(',')).find((f) => f[2] === 'master');
      return row !== undefined;
    }, 15_000);
    const uuid = row![0]!;
    const target = (await rig.lab.vsctl(['get', 'Controller', uuid, 'target'])).trim().replace(/^"|"$/g, '');
    const work = startWorkload(rig, 30_000);
    await sleep(5_000);
    const groupsBefore = await rig.lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0']);
    await rig.lab.vsctl(['remove', 'Bridge', 'br0', 'controller', uuid]);
    await until('the leader to lose the switch', async () => {
      const st = JSON.parse(await rig!.ok(['status', '--json'])) as { switches: unknown[] };
      return st.switches.length === 0;
    }, 15_000);
    // A change while the switch cannot hear the leader: made (etcd has it), not on that switch.
    await onBoth(rig, 'nat', 'weight', 'b3', '4');
    await sleep(3_000);
    expect(leadersBesides(rig, leader)).toEqual([]);
    const viaFollower = JSON.parse((await runCli(['status', '--json'], { HOLDFAST_API: `http://127.0.0.1:${rig.members[1]!.apiPort}` })).stdout) as { cluster: ClusterInfo };
    expect(viaFollower.cluster.switches.map((x) => x.role)).toEqual(['slave']);
    expect(viaFollower.cluster.leader?.api).toBe(`http://127.0.0.1:${leader.apiPort}`);
    // Nobody changed the switch meanwhile (the followers are slaves).
    expect(await rig.lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0'])).toBe(groupsBefore);

    // The connection comes back: the leader takes master again and brings the switch up to date.
    await rig.lab.vsctl(['--', '--id=@c', 'create', 'Controller', `target="${target}"`, 'connection_mode=out-of-band', 'max_backoff=1000',
      '--', 'add', 'Bridge', 'br0', 'controller', '@c']);
    await until('the leader to update the switch', async () => (await rig!.lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0'])) !== groupsBefore, 20_000);
    const after = await rig.rolesSettled(1, 2, 20_000);
    expect(after.filter((r) => r === 'master'), after.join(' ')).toHaveLength(1);
    expect(after.filter((r) => r === 'slave'), after.join(' ')).toHaveLength(2);
    const o = await outcome(work);
    console.log(describeOutcome('ovs nat, cluster of 3, the switch lost the leader for a while', o));
    expect(o.longOpened).toBe(200);
    expectNothingBroke(o);
  }, 240_000);

  it('a stale leader (SIGSTOP past its lease, then SIGCONT) changes nothing and leaves', async () => {
    rig = new ClusterRig({ clients: ['c1'], backends: ['b1', 'b2'] });
    await rig.start();
    const first = rig.members[0]!;
    await setUpServices(rig, 'nat', 'auto', ['b1', 'b2']);
    first.proc.kill('SIGSTOP');
    await rig.nextLeader(15_000);
    // The new leader changes the pool while the old one sleeps.
    await onBoth(rig, 'nat', 'weight', 'b2', '5');
    await until('the switch to see the new master', async () => (await rig!.roles()).filter((r) => r === 'master').length === 1, 15_000);
    const before = await rig.lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0']);

    // The old leader wakes up believing it leads: it must not write, and it leaves.
    first.proc.kill('SIGCONT');
    await until('the stale leader to exit', () => first.proc.exitCode !== null || first.proc.signalCode !== null, 15_000);
    expect(first.out()).toMatch(/lost the cluster lease|a write to etcd was refused/);
    // etcd and the switch still hold the new leader's state: b2's weight 5, and the same groups.
    const tcp = await rig.service('tcp');
    expect(tcp.backends.find((b) => b.ip === rig!.ip('b2'))?.weight).toBe(5);
    expect(await rig.lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br0'])).toBe(before);
    const roles = await rig.roles();
    expect(roles.filter((r) => r === 'master'), roles.join(' ')).toHaveLength(1);
  }, 120_000);
});
