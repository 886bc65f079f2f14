// Several controllers: leader election through etcd leases. Every member keeps a lease and a key
// `<prefix>members/<lease id>` holding its addresses; the member whose key is oldest (lowest create
// revision) leads. The leader's generation id is the etcd revision of its own write of
// `<prefix>generation`, guarded by its member key: every revision is larger than any before it, so
// each new leader's id is higher than all earlier leaders' (and than any id a follower used), which
// is what switches need to refuse a stale master.
//
// Why not etcd3's Election: its lease gives up on its own after 2 TTLs without an answer from etcd,
// so an etcd restart of a few seconds made every member exit. Here only etcd decides that a lease
// is gone (a keep-alive answered with TTL 0, or the member key missing). etcd renews every lease
// when it starts, so a leader that keeps asking gets its lease back after an etcd restart and
// nobody's role changes. While etcd does not answer, every member keeps its role: the leader keeps
// the master role (switches keep forwarding, and a newer leader, if etcd elects one elsewhere,
// takes over by generation id), followers stay slaves.
import { Etcd3, isRecoverableError, type IKeyValue, type Watcher } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import type { Logger } from './log.js';

/**
 * What guards the leader's writes: its member key and that key's create revision, which holds
 * only while it leads. A store's writes compare on it (db/etcd-store.ts takes this shape as its
 * LeaderFence, structurally: the runtime does not import the store).
 */
export interface LeaderFence {
  key: string;
  createRevision: string;
}

export interface MemberInfo {
  /** This controller, as others should know it: its API URL and OpenFlow address. */
  name: string;
  api: string;
  openflow: string;
}

export interface ClusterOptions {
  client: Etcd3;
  prefix: string;
  /** Lease TTL in seconds: a dead leader is replaced this long (plus etcd's expiry check) after it died. */
  ttlSeconds: number;
  member: MemberInfo;
  log: Logger;
  /** Leadership won: the fence guards every write; the generation id goes to the switches. */
  elected(generationId: bigint, fence: LeaderFence): Promise<void>;
  /** Following: use this generation id for slave role requests (the current leader's, 0 if none). */
  following(generationId: bigint, leader: MemberInfo | undefined): Promise<void>;
  /** The leader's lease or key is gone (etcd said so): leadership cannot be trusted. */
  lost(err: Error): void;
}

export interface ClusterView {
  self: MemberInfo;
  leader: MemberInfo | undefined;
  isLeader: boolean;
  generationId: string;
  members: MemberInfo[];
}

/**
 * An etcd client for a cluster member. etcd3's defaults keep an endpoint that failed three times
 * closed for 5 s, and grpc backs off reconnecting up to 2 min: after an etcd restart a member
 * would stay deaf longer than its lease. Here an endpoint is retried after 250 ms and watches
 * reconnect within a second.
 */
export function clusterEtcdClient(endpoints: string[]): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 },
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 250, breaker: new ConsecutiveBreaker(3) }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }).next(),
    },
  });
}

/** How often the member list is read besides the watch (a watch may be reconnecting). */
const POLL_MS = 500;

/** A lease kept alive by asking etcd every TTL/3; only etcd's answer ends it. */
class KeptLease {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  lastAnswer = Date.now();

  private constructor(private readonly client: Etcd3, readonly id: string, private readonly ttlSeconds: number) {}

  static async grant(client: Etcd3, ttlSeconds: number): Promise<KeptLease> {
    const r = await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, { deadline: Date.now() + 5_000 });
    return new KeptLease(client, r.ID, ttlSeconds);
  }

  /** `gone`: etcd says the lease expired. `unanswered`: etcd did not answer (still kept trying). */
  keep(gone: () => void, unanswered: (sinceMs: number, err: Error) => void, answered: () => void): void {
    const beat = async (): Promise<void> => {
      if (this.beating) return;
      this.beating = true;
      try {
        const ttl = await this.keepaliveRetried();
        if (this.timer === undefined) return;
        if (ttl <= 0) {
          this.stop();
          gone();
          return;
        }
        this.lastAnswer = Date.now();
        answered();
      } catch (err) {
        if (this.timer !== undefined) unanswered(Date.now() - this.lastAnswer, err as Error);
      } finally {
        this.beating = false;
      }
    };
    this.timer = setInterval(() => void beat(), (this.ttlSeconds * 1_000) / 3);
    void beat();
  }

  /**
   * A keep-alive, tried again at once when it fails: each try goes to an endpoint picked at random,
   * so with several etcd members a dead one costs a retry, not the lease.
   */
  private async keepaliveRetried(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.keepaliveOnce(Math.min(500, (this.ttlSeconds * 1_000) / 2));
      } catch (err) {
        if (attempt >= 5 || this.timer === undefined) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** One keep-alive on its own stream: a broken stream is never reused after etcd comes back. */
  private async keepaliveOnce(timeoutMs: number): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      return await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no keep-alive answer')), timeoutMs);
        stream.on('data', (r) => { clearTimeout(t); resolve(Number(r.TTL)); });
        stream.on('error', (err) => { clearTimeout(t); reject(err); });
        stream.write({ ID: this.id });
      });
    } finally {
      try { stream.end(); } catch { /* already broken */ }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async revoke(): Promise<void> {
    this.stop();
    await this.client.leaseClient.leaseRevoke({ ID: this.id }, { deadline: Date.now() + 2_000 });
  }
}

export class ClusterMember {
  private lease: KeptLease | undefined;
  private key = '';
  private createRevision = '';
  private leading = false;
  private generation = 0n;
  private stopped = false;
  private watchers: Watcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | undefined;
  private again = false;
  /** What we last told the switches as a follower, to repeat it only when it changes. */
  private followed: string | undefined;
  private etcdSilentSince: number | undefined;
  private lastMembers: MemberInfo[] = [];

  constructor(private readonly o: ClusterOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get membersPrefix(): string {
    return `${this.o.prefix}members/`;
  }

  async start(): Promise<void> {
    // Followers first: until elected, switches hear "slave" from us.
    await this.follow(await this.readMembers());
    await this.join();
    const kick = (): void => this.evaluate();
    for (const w of [
      await this.o.client.watch().prefix(this.membersPrefix).create(),
      await this.o.client.watch().key(`${this.o.prefix}generation`).create(),
    ]) {
      w.on('put', kick).on('delete', kick).on('connected', kick);
      w.on('error', (err: Error) => this.o.log.warn({ err: err.message }, 'cluster: watching etcd failed'));
      this.watchers.push(w);
    }
    this.poll = setInterval(kick, POLL_MS);
    this.evaluate();
  }

  /** A new lease and member key (at start, and when a follower's lease expired while etcd was away). */
  private async join(): Promise<void> {
    const lease = await KeptLease.grant(this.o.client, this.o.ttlSeconds);
    const key = `${this.membersPrefix}${lease.id}`;
    const put = await this.o.client.if(key, 'Create', '==', 0)
      .then(this.o.client.put(key).value(JSON.stringify(this.o.member)).lease(lease.id))
      .commit();
    this.lease = lease;
    this.key = key;
    this.createRevision = put.header.revision;
    lease.keep(
      () => this.leaseGone(),
      (sinceMs, err) => {
        if (this.etcdSilentSince === undefined) {
          this.etcdSilentSince = Date.now() - sinceMs;
          this.o.log.warn({ err: err.message, leader: this.leading }, 'cluster: etcd does not answer; keeping our role until it does');
        }
      },
      () => {
        if (this.etcdSilentSince !== undefined) {
          this.o.log.info({ silentMs: Date.now() - this.etcdSilentSince, leader: this.leading }, 'cluster: etcd answers again; our lease is still valid');
          this.etcdSilentSince = undefined;
        }
      },
    );
  }

  private leaseGone(): void {
    if (this.stopped) return;
    if (this.leading) {
      this.o.lost(new Error(`etcd says our lease ${this.lease?.id ?? ''} has expired`));
      return;
    }
    // A follower just joins again; it never led, so nothing it did needs undoing.
    this.o.log.warn({ lease: this.lease?.id }, 'cluster: our lease expired while etcd was away; joining again');
    this.join().catch((err: Error) => this.o.log.warn({ err: err.message }, 'cluster: joining again failed; retrying'));
  }

  private async readMembers(): Promise<IKeyValue[]> {
    const r = await this.o.client.getAll().prefix(this.membersPrefix).sort('Create', 'Ascend').options({ deadline: Date.now() + 2_000 }).exec();
    this.lastMembers = r.kvs.map((kv) => parseMember(kv.value.toString())).filter((m): m is MemberInfo => m !== undefined);
    return r.kvs;
  }

  /** Reads the members and acts on it; runs one at a time, again if asked meanwhile. */
  private evaluate(): void {
    if (this.stopped) return;
    if (this.evaluating) {
      this.again = true;
      return;
    }
    this.evaluating = this.decide()
      .catch((err: Error) => {
        // etcd away: keep our role (the keep-alive reports it once).
        this.o.log.debug({ err: err.message }, 'cluster: reading the members failed');
      })
      .finally(() => {
        this.evaluating = undefined;
        if (this.again) {
          this.again = false;
          this.evaluate();
        }
      });
  }

  private async decide(): Promise<void> {
    if (this.key === '') return;
    const kvs = await this.readMembers();
    if (this.stopped) return;
    const ours = kvs.find((kv) => kv.key.toString() === this.key);
    if (!ours) {
      // etcd deleted our key: our lease expired. The keep-alive says so too; act once.
      if (this.leading) this.o.lost(new Error(`our member key ${this.key} is gone from etcd`));
      return;
    }
    if (this.leading) return;
    if (kvs[0]?.key.toString() === this.key) {
      this.leading = true;
      try {
        await this.onElected();
      } catch (err) {
        this.o.lost(err as Error);
      }
      return;
    }
    await this.follow(kvs);
  }

  private async follow(kvs: IKeyValue[]): Promise<void> {
    const gen = await this.currentGeneration();
    const leader = kvs[0] ? parseMember(kvs[0].value.toString()) : undefined;
    // Elected while reading: a late "follow" would send slave over our own master role.
    if (this.leading || this.stopped) return;
    const said = `${gen} ${leader?.name ?? ''}`;
    if (said === this.followed) return;
    this.followed = said;
    this.generation = gen;
    await this.o.following(gen, leader);
  }

  private async currentGeneration(): Promise<bigint> {
    const r = await this.o.client.get(`${this.o.prefix}generation`).options({ deadline: Date.now() + 2_000 }).exec();
    const kv = r.kvs[0];
    return kv ? BigInt(kv.mod_revision) : 0n;
  }

  private async onElected(): Promise<void> {
    const fence: LeaderFence = { key: this.key, createRevision: this.createRevision };
    const r = await this.o.client.if(fence.key, 'Create', '==', fence.createRevision)
      .then(this.o.client.put(`${this.o.prefix}generation`).value(JSON.stringify({ leader: this.o.member.name, at: Date.now() })))
      .commit();
    if (!r.succeeded) throw new Error('cluster: lost our member key before taking the generation');
    this.generation = BigInt(r.header.revision);
    this.o.log.info({ generationId: this.generation.toString() }, 'cluster: elected leader');
    await this.o.elected(this.generation, fence);
  }

  async view(): Promise<ClusterView> {
    // While etcd does not answer, the members as last read: a follower still forwards to the
    // leader it knows (which then answers for itself, e.g. that changes wait for etcd).
    const members = await this.readMembers().then(
      (kvs) => kvs.map((kv) => parseMember(kv.value.toString())).filter((m): m is MemberInfo => m !== undefined),
      () => this.lastMembers,
    );
    return {
      self: this.o.member,
      leader: members[0],
      isLeader: this.leading,
      generationId: this.generation.toString(),
      members,
    };
  }

  /** Leaves: the lease is revoked, so when leading another member is elected at once rather than at lease expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => undefined)));
    await this.lease?.revoke().catch(() => undefined);
  }
}

function parseMember(v: string): MemberInfo | undefined {
  try {
    const m = JSON.parse(v) as Partial<MemberInfo>;
    return typeof m.name === 'string' && typeof m.api === 'string' && typeof m.openflow === 'string' ? { name: m.name, api: m.api, openflow: m.openflow } : undefined;
  } catch {
    return undefined;
  }
}
