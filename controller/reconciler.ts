// The reconciler: apps declare the flows and groups they want on each switch; it sends only the
// difference from what the switch has, inside the cookie space and group-id range each app claimed.
// It never flushes a switch and never touches a flow outside a claimed cookie space.
//
// What the switch has = its own record of what it applied, refreshed from a flow/group dump when
// the switch connects, on `audit(dpid)`, every `auditIntervalMs`, and after a failed transaction.
// Each owner's difference goes to the switch in its own transaction, so an owner whose flows or
// groups a switch rejects (one service too big for it, say) fails alone: the other owners' changes,
// L2 forwarding included, still take effect.
import { flowAdd, flowDelete, flowModify, groupDelete, groupMod } from '../openflow/builders.js';
import { oxmDescriptor } from '../openflow/oxm.js';
import { OFPG, OFPP, OFPTT_ALL, type Match, type OxmField, type WireVersion } from '../openflow/types.js';
import type { OfMessageInput, SwitchHandle } from './app.js';
import { OfDisconnectedError } from './errors.js';
import {
  diffFlows, diffGroups, flowFromStats, flowRecord, groupFromDesc, groupRecord, isEmptyDiff,
  type DesiredFlow, type DesiredGroup, type FlowRecord, type GroupRecord,
} from './desired.js';
import type { Logger } from './log.js';
import type { LogLimiter } from './log-limit.js';

export interface OwnerClaim {
  /** Flows whose cookie & cookieMask == cookie & cookieMask belong to the owner. */
  cookie: bigint;
  cookieMask: bigint;
  /** Inclusive group-id range the owner manages. */
  groupIdMin: number;
  groupIdMax: number;
}

export interface DesiredState {
  flows: DesiredFlow[];
  groups: DesiredGroup[];
}

export interface ReconcilerStats {
  passes: number;
  dumps: number;
  /** OpenFlow messages sent in transactions, in total. */
  messages: number;
  lastDiff: { flowAdd: number; flowModify: number; flowReplace: number; flowRemove: number; groupAdd: number; groupModify: number; groupRemove: number } | null;
}

interface OwnerState {
  desiredFlows: Map<string, FlowRecord>;
  desiredGroups: Map<number, GroupRecord>;
  installedFlows: Map<string, FlowRecord>;
  installedGroups: Map<number, GroupRecord>;
  version: WireVersion;
  raw: DesiredState;
}

interface SwitchState {
  dpid: bigint;
  sw: SwitchHandle | undefined;
  owners: Map<string, OwnerState>;
  needDump: boolean;
  running: boolean;
  /** `owner`: settle with that owner's result; none (an audit): with the first failure, if any. */
  waiters: { owner?: string; resolve: () => void; reject: (e: Error) => void }[];
  stats: ReconcilerStats;
}

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

export class Reconciler {
  private readonly claims = new Map<string, OwnerClaim>();
  private readonly switches = new Map<bigint, SwitchState>();
  private auditTimer: NodeJS.Timeout | undefined;

  /** `warnLimit`: a switch that keeps failing its reconcile or audit is one line per window. */
  constructor(private readonly log: Logger, private readonly auditIntervalMs = 0, private readonly warnLimit?: LogLimiter) {}

  private warn(dpidHex: string | undefined, err: Error, msg: string): void {
    const fields = { component: 'reconciler', dpid: dpidHex, err: err.message };
    if (this.warnLimit) this.warnLimit.warn(dpidHex ?? '', fields, msg);
    else this.log.warn(fields, msg);
  }

  claim(owner: string, claim: OwnerClaim): void {
    if (claim.cookieMask === 0n) throw new Error(`${owner}: a cookie mask of 0 would claim every flow`);
    if (claim.groupIdMin > claim.groupIdMax || claim.groupIdMax > OFPG.MAX) throw new Error(`${owner}: bad group-id range`);
    for (const [other, c] of this.claims) {
      if (other === owner) continue;
      const common = c.cookieMask & claim.cookieMask;
      if (((c.cookie ^ claim.cookie) & common) === 0n) throw new Error(`${owner}: cookie space overlaps ${other}'s`);
      if (claim.groupIdMin <= c.groupIdMax && c.groupIdMin <= claim.groupIdMax) throw new Error(`${owner}: group range overlaps ${other}'s`);
    }
    this.claims.set(owner, { ...claim, cookie: claim.cookie & claim.cookieMask });
  }

  /**
   * Replace the owner's desired state on one switch. Resolves once applied (or at once when the
   * switch is not connected: it is applied when it connects); rejects with the switch's error.
   */
  setDesired(owner: string, dpid: bigint, state: DesiredState): Promise<void> {
    const claim = this.claims.get(owner);
    if (!claim) return Promise.reject(new Error(`${owner} has not claimed a cookie space`));
    for (const f of state.flows) {
      if ((f.cookie & claim.cookieMask) !== claim.cookie) {
        return Promise.reject(new Error(`${owner}: flow cookie 0x${f.cookie.toString(16)} is outside its cookie space`));
      }
    }
    for (const g of state.groups) {
      if (g.groupId < claim.groupIdMin || g.groupId > claim.groupIdMax) {
        return Promise.reject(new Error(`${owner}: group ${g.groupId} is outside its range`));
      }
    }
    const st = this.state(dpid);
    const version = st.sw?.version ?? 4;
    const os = st.owners.get(owner) ?? { installedFlows: new Map(), installedGroups: new Map(), version, raw: state } as OwnerState;
    os.raw = state;
    os.version = version;
    os.desiredFlows = buildFlows(state.flows, version);
    os.desiredGroups = buildGroups(state.groups, version);
    st.owners.set(owner, os);
    if (!st.sw?.connected) return Promise.resolve();
    return this.kick(st, owner);
  }

  /** An owner gives up its claim: its flows and groups are deleted from every switch. */
  async release(owner: string): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const st of this.switches.values()) {
      if (st.owners.has(owner)) jobs.push(this.setDesired(owner, st.dpid, { flows: [], groups: [] }).then(() => { st.owners.delete(owner); }));
    }
    await Promise.allSettled(jobs);
    this.claims.delete(owner);
  }

  /** Dump the switch's flows and groups in every claimed space and repair any difference. */
  audit(dpid: bigint): Promise<void> {
    const st = this.switches.get(dpid);
    if (!st?.sw?.connected) return Promise.resolve();
    st.needDump = true;
    return this.kick(st);
  }

  stats(dpid: bigint): ReconcilerStats | undefined {
    return this.switches.get(dpid)?.stats;
  }

  /** Runtime hooks. */
  switchUp(sw: SwitchHandle): void {
    const st = this.state(sw.dpid);
    st.sw = sw;
    st.needDump = true;
    for (const os of st.owners.values()) {
      if (os.version !== sw.version) {
        os.version = sw.version;
        os.desiredFlows = buildFlows(os.raw.flows, sw.version);
        os.desiredGroups = buildGroups(os.raw.groups, sw.version);
      }
    }
    if (st.owners.size > 0) {
      this.kick(st).catch((err: Error) => this.warn(sw.dpidHex, err, 'reconcile at connect failed'));
    }
  }

  switchDown(sw: SwitchHandle): void {
    const st = this.switches.get(sw.dpid);
    if (st && st.sw === sw) st.sw = undefined;
  }

  /**
   * Drop everything kept for a switch that is not connected (the runtime calls it once a switch
   * has been gone for its grace period). Without it, every datapath id that ever connected would
   * keep its desired and installed state forever. False when the switch is connected again.
   */
  forget(dpid: bigint): boolean {
    const st = this.switches.get(dpid);
    if (!st) return true;
    if (st.sw?.connected) return false;
    this.switches.delete(dpid);
    return true;
  }

  /** Datapath ids the reconciler keeps state for (connected or in their grace period). */
  knownSwitches(): bigint[] {
    return [...this.switches.keys()];
  }

  start(): void {
    if (this.auditIntervalMs > 0 && !this.auditTimer) {
      this.auditTimer = setInterval(() => {
        for (const st of this.switches.values()) {
          if (st.owners.size === 0 || !st.sw?.connected) continue;
          this.audit(st.dpid).catch((err: Error) => this.warn(st.sw?.dpidHex, err, 'audit failed'));
        }
      }, this.auditIntervalMs);
      this.auditTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.auditTimer);
    this.auditTimer = undefined;
  }

  private state(dpid: bigint): SwitchState {
    let st = this.switches.get(dpid);
    if (!st) {
      st = {
        dpid, sw: undefined, owners: new Map(), needDump: true, running: false, waiters: [],
        stats: { passes: 0, dumps: 0, messages: 0, lastDiff: null },
      };
      this.switches.set(dpid, st);
    }
    return st;
  }

  /** Queue a pass; concurrent callers share the next pass that starts after their call. */
  private kick(st: SwitchState, owner?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      st.waiters.push({ ...(owner !== undefined ? { owner } : {}), resolve, reject });
      if (!st.running) void this.loop(st);
    });
  }

  private async loop(st: SwitchState): Promise<void> {
    st.running = true;
    while (st.waiters.length > 0) {
      const batch = st.waiters.splice(0);
      try {
        const failed = await this.pass(st);
        const first = failed.values().next().value;
        for (const w of batch) {
          const err = w.owner !== undefined ? failed.get(w.owner) : first;
          if (err) w.reject(err);
          else w.resolve();
        }
      } catch (err) {
        // A disconnect mid-pass is not a failure: the state is applied again at reconnect.
        if (err instanceof OfDisconnectedError) for (const w of batch) w.resolve();
        else for (const w of batch) w.reject(err as Error);
      }
    }
    st.running = false;
  }

  /** One pass over every owner; returns the owners whose transaction the switch refused. */
  private async pass(st: SwitchState): Promise<Map<string, Error>> {
    const failed = new Map<string, Error>();
    const sw = st.sw;
    if (!sw?.connected) return failed;
    if (st.needDump) {
      await this.dump(st, sw);
      st.needDump = false;
    }
    const total = { flowAdd: 0, flowModify: 0, flowReplace: 0, flowRemove: 0, groupAdd: 0, groupModify: 0, groupRemove: 0 };
    for (const [name, os] of [...st.owners]) {
      // setDesired replaces (never mutates) the desired maps, so these references are a snapshot.
      const flows = os.desiredFlows;
      const groups = os.desiredGroups;
      const fd = diffFlows(flows, os.installedFlows);
      const gd = diffGroups(groups, os.installedGroups);
      if (isEmptyDiff(fd, gd)) continue;
      const groupAdds: OfMessageInput[] = [];
      const flowOps: OfMessageInput[] = [];
      const flowDeletes: OfMessageInput[] = [];
      const groupDeletes: OfMessageInput[] = [];
      // Order: groups exist before flows point at them; flows go before the groups they used.
      for (const g of gd.add) groupAdds.push(groupMod('add', g));
      // Open vSwitch 3.1 mishandles insert/remove_bucket on dp_hash groups: always full modifies.
      for (const g of gd.modify) groupAdds.push(groupMod('modify', g));
      for (const f of fd.add) flowOps.push(flowMod('add', f, f.cookie, 0n));
      for (const f of fd.replace) flowOps.push(flowMod('add', f, f.cookie, 0n));
      const installed = os.installedFlows;
      for (const f of fd.modify) {
        const cookie = installed.get(flowRecord(f, os.version).key)?.flow.cookie ?? f.cookie;
        flowOps.push(flowMod('modify_strict', f, cookie, ALL_ONES));
      }
      for (const f of fd.remove) flowDeletes.push(flowMod('delete_strict', f, f.cookie, ALL_ONES));
      for (const g of gd.remove) groupDeletes.push(groupDelete(g.groupId, g.groupType));
      total.flowAdd += fd.add.length; total.flowModify += fd.modify.length; total.flowReplace += fd.replace.length;
      total.flowRemove += fd.remove.length; total.groupAdd += gd.add.length; total.groupModify += gd.modify.length;
      total.groupRemove += gd.remove.length;
      const msgs = [...groupAdds, ...flowOps, ...flowDeletes, ...groupDeletes];
      this.log.debug({ dpid: sw.dpidHex, owner: name, msgs: msgs.length }, 'reconciling');
      try {
        await sw.transaction(msgs);
      } catch (err) {
        if (err instanceof OfDisconnectedError) throw err;
        // What the switch holds for this owner is unknown now: dump before the next pass.
        st.needDump = true;
        failed.set(name, err as Error);
        continue;
      }
      st.stats.messages += msgs.length;
      os.installedFlows = flows;
      os.installedGroups = groups;
    }
    st.stats.passes++;
    st.stats.lastDiff = total;
    return failed;
  }

  private async dump(st: SwitchState, sw: SwitchHandle): Promise<void> {
    st.stats.dumps++;
    const groupParts = await sw.multipart({ kind: 'group_desc' });
    const groups = groupParts.flatMap((p) => (p.kind === 'group_desc' ? p.groups : []));
    for (const [owner, os] of st.owners) {
      const claim = this.claims.get(owner);
      if (!claim) continue;
      const parts = await sw.multipart({
        kind: 'flow',
        body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: claim.cookie, cookieMask: claim.cookieMask, match: [] },
      });
      const flows = new Map<string, FlowRecord>();
      for (const p of parts) {
        if (p.kind !== 'flow') continue;
        for (const s of p.flows) {
          if ((s.cookie & claim.cookieMask) !== claim.cookie) continue; // never trust the filter alone
          const rec = flowRecord(flowFromStats(s), sw.version);
          flows.set(rec.key, rec);
        }
      }
      os.installedFlows = flows;
      const mine = new Map<number, GroupRecord>();
      for (const g of groups) {
        if (g.groupId >= claim.groupIdMin && g.groupId <= claim.groupIdMax) mine.set(g.groupId, groupRecord(groupFromDesc(g), sw.version));
      }
      os.installedGroups = mine;
    }
  }
}

function buildFlows(flows: DesiredFlow[], version: WireVersion): Map<string, FlowRecord> {
  const m = new Map<string, FlowRecord>();
  for (const f of flows) {
    const r = flowRecord(f, version);
    m.set(r.key, r);
  }
  return m;
}

function buildGroups(groups: DesiredGroup[], version: WireVersion): Map<number, GroupRecord> {
  const m = new Map<number, GroupRecord>();
  for (const g of groups) m.set(g.groupId, groupRecord(g, version));
  return m;
}

function flowMod(command: 'add' | 'modify_strict' | 'delete_strict', f: DesiredFlow, cookie: bigint, cookieMask: bigint): OfMessageInput {
  const match = prerequisitesFirst(f.match);
  const where = { match, priority: f.priority, tableId: f.tableId, cookie };
  if (command === 'delete_strict') return flowDelete(where, { strict: true, cookieMask });
  const spec = { ...where, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, flags: f.flags, instructions: f.instructions };
  return command === 'add' ? flowAdd(spec) : flowModify(spec, { strict: true, cookieMask });
}

/**
 * Switches check OXM prerequisites in list order (eth_type before ip_proto before tcp_dst), and
 * OXM basic field codes follow that order; other classes go last, in their given order.
 */
export function prerequisitesFirst(match: Match): Match {
  const code = (f: OxmField): number => (f.kind === 'basic' ? oxmDescriptor(f.name).code : 1000);
  return [...match].sort((a, b) => code(a) - code(b));
}

