// Several controllers: leader election through an etcd lease (etcd3's election API). Every member
// campaigns; the one whose campaign key is oldest leads. The leader's generation id is the etcd
// revision of its own write of `<prefix>generation`, guarded by its campaign key: every revision is
// larger than any before it, so each new leader's id is higher than all earlier leaders' (and than
// any id a follower used), which is what switches need to refuse a stale master.
import { Election, type Campaign, type Etcd3 } from 'etcd3';
import type { Logger } from './log.js';

/**
 * What guards the leader's writes: its election key and that key's create revision, which holds
 * only while it leads. A store's writes compare on it (db/etcd-store.ts takes this shape as its
 * EtcdFence, structurally: the runtime does not import the store).
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
  /** The lease is gone (etcd unreachable past the TTL, or revoked): leadership cannot be trusted. */
  lost(err: Error): void;
}

export interface ClusterView {
  self: MemberInfo;
  leader: MemberInfo | undefined;
  isLeader: boolean;
  generationId: string;
  members: MemberInfo[];
}

export class ClusterMember {
  private readonly election: Election;
  private campaign: Campaign | undefined;
  private leading = false;
  private generation = 0n;
  private stopped = false;

  constructor(private readonly o: ClusterOptions) {
    this.election = o.client.election(`${o.prefix}election`, o.ttlSeconds);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    // Followers first: until elected, switches hear "slave" from us.
    await this.follow();
    const observer = await this.election.observe();
    observer.on('change', () => {
      if (!this.leading && !this.stopped) this.follow().catch((err: Error) => this.o.log.warn({ err: err.message }, 'cluster: reading the leader failed'));
    });
    observer.on('error', (err: Error) => this.o.log.warn({ err: err.message }, 'cluster: watching the election failed'));
    const campaign = this.election.campaign(JSON.stringify(this.o.member));
    this.campaign = campaign;
    campaign.on('error', (err: Error) => {
      if (!this.stopped) this.o.lost(err);
    });
    campaign.on('elected', () => {
      this.onElected(campaign).catch((err: Error) => this.o.lost(err));
    });
  }

  private async follow(): Promise<void> {
    const gen = await this.currentGeneration();
    const leader = await this.leader();
    // Elected while reading: a late "follow" would send slave over our own master role.
    if (this.leading || this.stopped) return;
    this.generation = gen;
    await this.o.following(gen, leader);
  }

  private async currentGeneration(): Promise<bigint> {
    const r = await this.o.client.get(`${this.o.prefix}generation`).exec();
    const kv = r.kvs[0];
    return kv ? BigInt(kv.mod_revision) : 0n;
  }

  private async leader(): Promise<MemberInfo | undefined> {
    const v = await this.election.leader();
    return v === undefined ? undefined : parseMember(v);
  }

  private async onElected(campaign: Campaign): Promise<void> {
    const key = await campaign.getCampaignKey();
    const got = await this.o.client.get(key).exec();
    const kv = got.kvs[0];
    if (!kv) throw new Error(`cluster: our campaign key ${key} vanished at election`);
    const fence: LeaderFence = { key, createRevision: kv.create_revision };
    const r = await this.o.client.if(key, 'Create', '==', fence.createRevision)
      .then(this.o.client.put(`${this.o.prefix}generation`).value(JSON.stringify({ leader: this.o.member.name, at: Date.now() })))
      .commit();
    if (!r.succeeded) throw new Error('cluster: lost the campaign key before taking the generation');
    this.generation = BigInt(r.header.revision);
    this.leading = true;
    this.o.log.info({ generationId: this.generation.toString() }, 'cluster: elected leader');
    await this.o.elected(this.generation, fence);
  }

  async view(): Promise<ClusterView> {
    // etcd3 keeps each campaign under `<Election.prefix>/<election name>/<lease id>`.
    const members = Object.values(await this.o.client.getAll().prefix(`${Election.prefix}/${this.o.prefix}election/`).strings()).map(parseMember);
    return {
      self: this.o.member,
      leader: await this.leader(),
      isLeader: this.leading,
      generationId: this.generation.toString(),
      members: members.filter((m): m is MemberInfo => m !== undefined),
    };
  }

  /** Leaves the election: when leading, another member is elected at once rather than at lease expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.campaign?.resign().catch(() => undefined);
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
