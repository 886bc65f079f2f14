// Leader election (controller/cluster.ts) against a real etcd: members in this process, each with
// its own client, so that a restart of etcd or a lost lease is real. What a switch would be told
// is recorded per member.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { ClusterMember, clusterEtcdClient, type LeaderFence } from '../../controller/cluster.js';
import { createLogger } from '../../controller/log.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { until } from '../helpers/wait-for.js';

interface Recorded {
  name: string;
  member: ClusterMember;
  client: Etcd3;
  elected: { generation: bigint; fence: LeaderFence }[];
  following: { generation: bigint; leader: string | undefined }[];
  lost: string[];
}

let etcd: TestEtcd;
let prefixNo = 0;
const started: Recorded[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  await etcd.stop();
});
afterEach(async () => {
  for (const r of started.splice(0)) {
    await r.member.stop().catch(() => undefined);
    r.client.close();
  }
});

async function join(name: string, prefix: string): Promise<Recorded> {
  const client = clusterEtcdClient([etcd.url]);
  const r: Recorded = { name, client, elected: [], following: [], lost: [], member: undefined as unknown as ClusterMember };
  r.member = new ClusterMember({
    client, prefix, ttlSeconds: 1, log: createLogger({ level: 'silent' }),
    member: { name, api: `http://${name}`, openflow: `${name}:6653` },
    elected: async (generation, fence) => { r.elected.push({ generation, fence }); },
    following: async (generation, leader) => { r.following.push({ generation, leader: leader?.name }); },
    lost: (err) => { r.lost.push(err.message); },
  });
  started.push(r);
  await r.member.start();
  return r;
}

describe('cluster election', () => {
  it('the first member leads; the next follows the leader with its generation; a leader that leaves hands over at once with a higher generation', async () => {
    const prefix = `/c${++prefixNo}/`;
    const a = await join('a', prefix);
    await until('a to lead', () => a.elected.length === 1, 5_000);
    const b = await join('b', prefix);
    await until('b to follow a', () => b.following.some((f) => f.leader === 'a' && f.generation === a.elected[0]!.generation), 5_000);
    expect(b.elected).toEqual([]);
    expect((await b.member.view()).leader?.name).toBe('a');

    const leftAt = Date.now();
    await a.member.stop();
    await until('b to lead', () => b.elected.length === 1, 5_000);
    // A revoked lease deletes a's key at once: no waiting for the TTL.
    expect(Date.now() - leftAt).toBeLessThan(900);
    expect(b.elected[0]!.generation).toBeGreaterThan(a.elected[0]!.generation);
    expect(a.lost).toEqual([]);
  });

  it('a leader whose lease etcd ends (revoked behind its back) is told it lost; a follower whose lease ends joins again and keeps following', async () => {
    const prefix = `/c${++prefixNo}/`;
    const a = await join('a', prefix);
    await until('a to lead', () => a.elected.length === 1, 5_000);
    const b = await join('b', prefix);
    await until('b to follow', () => b.following.length > 0, 5_000);
    const admin = etcd.client();

    // The follower's lease ends: it joins again under a new key, still following, never lost.
    const bLease = (await admin.getAll().prefix(`${prefix}members/`).exec()).kvs.find((kv) => kv.value.toString().includes('"name":"b"'))!.lease;
    await admin.leaseClient.leaseRevoke({ ID: bLease });
    await until('b to join again', async () => (await admin.getAll().prefix(`${prefix}members/`).exec()).kvs.some((kv) => kv.value.toString().includes('"name":"b"') && kv.lease !== bLease), 5_000);
    expect(b.lost).toEqual([]);
    expect(b.elected).toEqual([]);
    expect(a.lost).toEqual([]);

    // The leader's lease ends: it must stop acting (the process exits on this).
    const aLease = (await admin.getAll().prefix(`${prefix}members/`).exec()).kvs.find((kv) => kv.value.toString().includes('"name":"a"'))!.lease;
    await admin.leaseClient.leaseRevoke({ ID: aLease });
    await until('a to learn it lost', () => a.lost.length > 0, 5_000);
    await until('b to lead', () => b.elected.length === 1, 5_000);
  });

  it('etcd restarted (stopped 4 s, four lease TTLs): nobody loses, nobody else is elected, the same leader stays', async () => {
    const prefix = `/c${++prefixNo}/`;
    const a = await join('a', prefix);
    await until('a to lead', () => a.elected.length === 1, 5_000);
    const b = await join('b', prefix);
    await until('b to follow', () => b.following.length > 0, 5_000);
    const m = etcd.members[0]!;
    await m.halt('SIGTERM');
    await new Promise((r) => setTimeout(r, 4_000));
    await m.resume();
    // Long enough for an expired lease to be noticed and a new leader elected.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(a.lost).toEqual([]);
    expect(b.lost).toEqual([]);
    expect(b.elected).toEqual([]);
    expect(a.elected).toHaveLength(1);
    expect((await b.member.view()).leader?.name).toBe('a');
  }, 30_000);

  it('etcd frozen (SIGSTOP) past the leases, then woken: etcd expires them; the leader is told it lost, and a member is elected again', async () => {
    const prefix = `/c${++prefixNo}/`;
    const a = await join('a', prefix);
    await until('a to lead', () => a.elected.length === 1, 5_000);
    const b = await join('b', prefix);
    await until('b to follow', () => b.following.length > 0, 5_000);
    const proc = etcd.members[0]!.proc;
    proc.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3_000));
    proc.kill('SIGCONT');
    await until('a to learn it lost', () => a.lost.length > 0, 10_000);
    // b's lease expired too: it joined again and, alone now, leads.
    await until('b to lead', () => b.elected.length === 1, 10_000);
    expect(b.lost).toEqual([]);
  }, 30_000);
});
