// A fake OpenFlow switch's flow and group tables: applies the flow-mods and group-mods a
// controller sends (OpenFlow 1.3 section 6.4 semantics, plus the Open vSwitch extensions the `ovs`
// profile uses) and answers "where does this packet go". The idea is Faucet's clib/fakeoftable.py;
// the code is ours.
//
// Modelled: several tables; priorities; masked matches; add (replacing an identical entry,
// CHECK_OVERLAP refused), modify and delete, strict and not, with cookie masks and out_port /
// out_group filters; idle and hard timeouts read from a clock the caller passes in; instructions
// apply_actions, write/clear_actions (the action set runs when the pipeline ends), write_metadata,
// goto_table; actions output (IN_PORT resolved, CONTROLLER becomes a packet-in), group, set_field,
// push/pop_vlan, and Nicira resubmit(,table), learn and fin_timeout; groups all, select (a bucket
// chosen by a hash of the flow's 5-tuple, weights honoured), indirect, fast failover (first bucket).
// The Nicira actions are the codec's typed ones (openflow/nicira.ts): messages reach the table
// decoded from their bytes, and the codec types an NX action only when those bytes say exactly
// that action, so the fake still does what the bytes say.
// Not modelled (reported in `unsupported`): meters, TTL and MPLS actions, other experimenter
// actions (including NX actions, or forms of them, the codec leaves raw).
import { match as matchOn } from 'ts-pattern';
import { decodeMessage } from '../../openflow/messages.js';
import type {
  Action, Bucket, FlowRemovedReason, FlowStats, GroupDesc, GroupType, Instruction, LearnAction, Match, MessageOf, OfMessage,
  OxmBasicName, OxmField,
} from '../../openflow/types.js';
import { OFPFF, OFPG, OFPP, OFPTT_ALL } from '../../openflow/types.js';
import { flowHash, fromBits, fullMask, toBits, type Packet } from './fields.js';
import { NX_LEARN_F, NX_VENDOR_ID } from '../../openflow/nicira.js';
import { oxm } from '../../openflow/oxm.js';
import { basicFieldOfHeader } from '../../openflow/oxm-fields.js';

/** One field of a match as bits: the packet's field, masked, must equal `value`. */
interface MatchBits {
  name: OxmBasicName;
  value: bigint;
  mask: bigint;
}

export interface FlowEntry {
  tableId: number;
  priority: number;
  match: Match;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  instructions: Instruction[];
  /** Clock time (ms) of the add; of the last packet that hit it. */
  installedAt: number;
  lastUsed: number;
  packets: number;
  /** Made by a learn action (not by a flow-mod). */
  learned: boolean;
  /** Learned with fin_idle/fin_hard timeouts: they replace the entry's timeouts once FIN or RST is seen. */
  fin?: { idle: number; hard: number };
  /** The match as bits; null when it names a field the fake cannot evaluate (never matches). */
  readonly bits: MatchBits[] | null;
}

export interface Group {
  groupId: number;
  groupType: GroupType;
  buckets: Bucket[];
}

export interface FlowRemoval {
  entry: FlowEntry;
  reason: Extract<FlowRemovedReason, string>;
}

export type ApplyResult =
  | { ok: true; removed: FlowRemoval[] }
  /** What the switch answers with an OFPT_ERROR (type, code), and why in words. */
  | { ok: false; errType: 'flow_mod_failed' | 'group_mod_failed' | 'bad_action' | 'bad_request'; code: number; reason: string; removed: FlowRemoval[] };

export interface Output {
  /** The port the packet leaves by (IN_PORT resolved to the packet's in_port; NORMAL, FLOOD... as is). */
  port: number;
  /** The packet as it leaves: every rewrite applied. */
  packet: Packet;
}

export interface PacketInRecord {
  reason: 'action' | 'group' | 'no_match';
  tableId: number;
  cookie: bigint;
  packet: Packet;
}

/** Where a packet went: outputs, packet-ins, the flows it learned, the entries it hit. */
export interface Verdict {
  outputs: Output[];
  packetIns: PacketInRecord[];
  learned: FlowEntry[];
  /** Entries hit, in order (table, priority, cookie). */
  path: { tableId: number; priority: number; cookie: bigint }[];
  /** Tables where no entry matched (the packet is dropped there). */
  misses: number[];
  /** Actions or instructions the fake does not model, met on the way. */
  unsupported: string[];
}

export interface FlowTableOptions {
  /** Number of tables (flow-mods to higher ids fail with BAD_TABLE_ID). Default 8. */
  tables?: number;
  /** Milliseconds; timeouts are measured with it. Default: always 0 (a stopped clock). */
  clock?: () => number;
  /** Which bucket of a select group a packet takes; default: flowHash over live weighted buckets. */
  selectBucket?: (group: Group, packet: Packet) => number;
}

const MAX_DEPTH = 64;
const TCP_FIN_OR_RST = 0x05;
/** resubmit(,255): the table the resubmitting entry is in (Open vSwitch's reading of table 255). */
const RESUBMIT_THIS_TABLE = 255;
const FMF = { BAD_TABLE_ID: 2, OVERLAP: 3 } as const;
const GMF = { GROUP_EXISTS: 0, INVALID_GROUP: 1, UNKNOWN_GROUP: 8 } as const;
const BAC_BAD_OUT_GROUP = 9;

/** The match as bits, or null if it names a non-basic field. Values outside a mask are cleared. */
function matchBits(m: Match): MatchBits[] | null {
  const out: MatchBits[] = [];
  for (const f of m) {
    if (f.kind !== 'basic') return null;
    const mask = f.mask === undefined ? fullMask(f.name) : toBits(f.mask);
    out.push({ name: f.name, value: toBits(f.value) & mask, mask });
  }
  return out;
}

function identity(bits: MatchBits[] | null, m: Match): string {
  if (bits === null) return `raw:${JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
  return bits.map((b) => `${b.name}=${b.value}/${b.mask}`).sort().join(',');
}

function packetMatches(bits: MatchBits[] | null, p: Packet): boolean {
  if (bits === null) return false;
  for (const b of bits) {
    const v = p[b.name];
    if (v === undefined || (toBits(v) & b.mask) !== b.value) return false;
  }
  return true;
}

/** Non-strict selection: the flow-mod's match is as wide or wider than the entry's. */
function covers(mod: MatchBits[] | null, entry: MatchBits[] | null): boolean {
  if (mod === null || entry === null) return false;
  return mod.every((f) => entry.some((e) => e.name === f.name && (e.mask & f.mask) === f.mask && (e.value & f.mask) === f.value));
}

/** Could one packet match both (same priority overlap check)? */
function overlaps(a: MatchBits[] | null, b: MatchBits[] | null): boolean {
  if (a === null || b === null) return false;
  return a.every((x) => b.every((y) => y.name !== x.name || (x.value & y.mask) === (y.value & x.mask)));
}

function actionsOf(instructions: Instruction[]): Action[] {
  return instructions.flatMap((i) => (i.type === 'apply_actions' || i.type === 'write_actions' ? i.actions : []));
}

export class FlowTable {
  private readonly tables: FlowEntry[][];
  private readonly groups = new Map<number, Group>();
  private readonly clock: () => number;

  constructor(private readonly opts: FlowTableOptions = {}) {
    this.tables = Array.from({ length: opts.tables ?? 8 }, () => []);
    this.clock = opts.clock ?? (() => 0);
  }

  // ---- what is installed ------------------------------------------------------------------

  /** Entries, table by table, highest priority first. */
  flows(tableId?: number): FlowEntry[] {
    return tableId === undefined ? this.tables.flat() : [...(this.tables[tableId] ?? [])];
  }

  group(groupId: number): Group | undefined {
    return this.groups.get(groupId);
  }

  allGroups(): Group[] {
    return [...this.groups.values()];
  }

  /** As a flow-stats reply carries them. */
  flowStats(): FlowStats[] {
    const now = this.clock();
    return this.flows().map((e) => ({
      tableId: e.tableId, durationSec: Math.floor((now - e.installedAt) / 1000), durationNsec: 0, priority: e.priority,
      idleTimeout: e.idleTimeout, hardTimeout: e.hardTimeout, flags: e.flags, cookie: e.cookie,
      packetCount: BigInt(e.packets), byteCount: 0n, match: e.match, instructions: e.instructions,
    }));
  }

  groupDescs(): GroupDesc[] {
    return this.allGroups().map((g) => ({ groupType: g.groupType, groupId: g.groupId, buckets: g.buckets }));
  }

  // ---- flow-mods and group-mods -----------------------------------------------------------

  /** Applies a message (flow_mod, group_mod; anything else changes nothing). */
  apply(m: OfMessage): ApplyResult {
    if (m.type === 'flow_mod') return this.flowMod(m);
    if (m.type === 'group_mod') return this.groupMod(m);
    return { ok: true, removed: [] };
  }

  /** Decodes wire bytes first: the table sees what a switch would. */
  applyBytes(frame: Buffer): ApplyResult {
    const r = decodeMessage(frame);
    if (!r.ok) return { ok: false, errType: 'bad_request', code: 0, reason: r.error.message, removed: [] };
    return this.apply(r.value);
  }

  private fail(errType: 'flow_mod_failed' | 'group_mod_failed' | 'bad_action', code: number, reason: string): ApplyResult {
    return { ok: false, errType, code, reason, removed: [] };
  }

  private flowMod(m: MessageOf<'flow_mod'>): ApplyResult {
    const all = m.tableId === OFPTT_ALL;
    if (!all && m.tableId >= this.tables.length) return this.fail('flow_mod_failed', FMF.BAD_TABLE_ID, `no table ${m.tableId}`);
    if (all && (m.command === 'add' || m.command === 'modify' || m.command === 'modify_strict')) {
      return this.fail('flow_mod_failed', FMF.BAD_TABLE_ID, `${m.command} to table ALL`);
    }
    if (m.command === 'add' || m.command === 'modify' || m.command === 'modify_strict') {
      const missing = actionsOf(m.instructions).find((a) => a.type === 'group' && !this.groups.has(a.groupId));
      if (missing?.type === 'group') return this.fail('bad_action', BAC_BAD_OUT_GROUP, `group ${missing.groupId} does not exist`);
    }
    const bits = matchBits(m.match);
    const cookieOk = (e: FlowEntry): boolean => (e.cookie & m.cookieMask) === (m.cookie & m.cookieMask);
    const strictOk = (e: FlowEntry): boolean => e.priority === m.priority && identity(e.bits, e.match) === identity(bits, m.match);
    const filterOk = (e: FlowEntry): boolean => {
      const acts = actionsOf(e.instructions);
      return (m.outPort === OFPP.ANY || acts.some((a) => a.type === 'output' && a.port === m.outPort))
        && (m.outGroup === OFPG.ANY || acts.some((a) => a.type === 'group' && a.groupId === m.outGroup));
    };
    const tables = all ? this.tables : [this.tables[m.tableId]];
    return matchOn(m.command)
      .with('add', (): ApplyResult => {
        if (m.flags & OFPFF.CHECK_OVERLAP) {
          const clash = tables[0].find((e) => e.priority === m.priority && !strictOk(e) && overlaps(e.bits, bits));
          if (clash) return this.fail('flow_mod_failed', FMF.OVERLAP, 'overlaps an entry of the same priority');
        }
        this.install({
          tableId: m.tableId, priority: m.priority, match: m.match, cookie: m.cookie, idleTimeout: m.idleTimeout, hardTimeout: m.hardTimeout,
          flags: m.flags, instructions: m.instructions, learned: false,
        });
        return { ok: true, removed: [] };
      })
      .with('modify', 'modify_strict', (cmd): ApplyResult => {
        for (const e of tables[0]) {
          if (!cookieOk(e) || !(cmd === 'modify_strict' ? strictOk(e) : covers(bits, e.bits))) continue;
          e.instructions = m.instructions;
          if (m.flags & OFPFF.RESET_COUNTS) e.packets = 0;
        }
        return { ok: true, removed: [] };
      })
      .with('delete', 'delete_strict', (cmd): ApplyResult => {
        const removed: FlowRemoval[] = [];
        for (const t of tables) {
          for (const e of [...t]) {
            if (!cookieOk(e) || !filterOk(e) || !(cmd === 'delete_strict' ? strictOk(e) : covers(bits, e.bits))) continue;
            this.remove(e);
            removed.push({ entry: e, reason: 'delete' });
          }
        }
        return { ok: true, removed };
      })
      .exhaustive();
  }

  private groupMod(m: MessageOf<'group_mod'>): ApplyResult {
    const exists = this.groups.has(m.groupId);
    return matchOn(m.command)
      .with('add', (): ApplyResult => {
        if (exists) return this.fail('group_mod_failed', GMF.GROUP_EXISTS, `group ${m.groupId} exists`);
        if (m.groupId > OFPG.MAX) return this.fail('group_mod_failed', GMF.INVALID_GROUP, `group id ${m.groupId} is reserved`);
        this.groups.set(m.groupId, { groupId: m.groupId, groupType: m.groupType, buckets: m.buckets });
        return { ok: true, removed: [] };
      })
      .with('modify', (): ApplyResult => {
        if (!exists) return this.fail('group_mod_failed', GMF.UNKNOWN_GROUP, `group ${m.groupId} does not exist`);
        this.groups.set(m.groupId, { groupId: m.groupId, groupType: m.groupType, buckets: m.buckets });
        return { ok: true, removed: [] };
      })
      .with('delete', (): ApplyResult => {
        const ids = m.groupId === OFPG.ALL ? [...this.groups.keys()] : exists ? [m.groupId] : [];
        const removed: FlowRemoval[] = [];
        for (const id of ids) {
          this.groups.delete(id);
          // A switch removes the flows that forward to a deleted group.
          for (const e of this.flows()) {
            if (actionsOf(e.instructions).some((a) => a.type === 'group' && a.groupId === id)) {
              this.remove(e);
              removed.push({ entry: e, reason: 'group_delete' });
            }
          }
        }
        return { ok: true, removed };
      })
      .with('insert_bucket', 'remove_bucket', (cmd): ApplyResult => this.fail('group_mod_failed', GMF.INVALID_GROUP, `${cmd} is not modelled`))
      .exhaustive();
  }

  /** Adds an entry, replacing one with the same table, priority and match (counters restart). */
  private install(e: Omit<FlowEntry, 'installedAt' | 'lastUsed' | 'packets' | 'bits'>): FlowEntry {
    const now = this.clock();
    const entry: FlowEntry = { ...e, installedAt: now, lastUsed: now, packets: 0, bits: matchBits(e.match) };
    const t = this.tables[e.tableId];
    const id = identity(entry.bits, entry.match);
    const same = t.findIndex((x) => x.priority === e.priority && identity(x.bits, x.match) === id);
    if (same >= 0) t.splice(same, 1);
    // Highest priority first; among equals the older entry first (OpenFlow leaves that undefined).
    let at = t.findIndex((x) => x.priority < e.priority);
    if (at < 0) at = t.length;
    t.splice(at, 0, entry);
    return entry;
  }

  private remove(e: FlowEntry): void {
    const t = this.tables[e.tableId];
    const i = t.indexOf(e);
    if (i >= 0) t.splice(i, 1);
  }

  /** Removes the entries whose idle or hard timeout has passed by the clock's time. */
  expire(): FlowRemoval[] {
    const now = this.clock();
    const removed: FlowRemoval[] = [];
    for (const e of this.flows()) {
      const reason = e.hardTimeout > 0 && now - e.installedAt >= e.hardTimeout * 1000 ? 'hard_timeout'
        : e.idleTimeout > 0 && now - e.lastUsed >= e.idleTimeout * 1000 ? 'idle_timeout' : null;
      if (reason === null) continue;
      this.remove(e);
      removed.push({ entry: e, reason });
    }
    return removed;
  }

  /** A copy of the tables and groups, to undo a bundle that fails part way. */
  snapshot(): { tables: FlowEntry[][]; groups: Group[] } {
    return { tables: this.tables.map((t) => t.map((e) => ({ ...e }))), groups: this.allGroups() };
  }

  restore(s: { tables: FlowEntry[][]; groups: Group[] }): void {
    s.tables.forEach((t, i) => this.tables[i].splice(0, this.tables[i].length, ...t));
    this.groups.clear();
    for (const g of s.groups) this.groups.set(g.groupId, g);
  }

  // ---- where does this packet go ------------------------------------------------------------

  /** Runs a packet through the pipeline from table 0, as if it arrived on its `in_port`. */
  trace(packet: Packet): Verdict {
    const v: Verdict = { outputs: [], packetIns: [], learned: [], path: [], misses: [], unsupported: [] };
    const p: Packet = { metadata: 0n, ...packet };
    const actionSet: Action[] = [];
    this.runTable(0, p, v, actionSet, 0);
    // The action set: a group action wins over an output (OpenFlow 1.3 section 5.10).
    const set = actionSet.some((a) => a.type === 'group') ? actionSet.filter((a) => a.type !== 'output') : actionSet;
    if (set.length > 0) this.exec(set, p, v, null, 'action', 0);
    return v;
  }

  /** A packet-out's actions on its packet (an output to TABLE runs the pipeline). */
  packetOut(packet: Packet, actions: Action[]): Verdict {
    const v: Verdict = { outputs: [], packetIns: [], learned: [], path: [], misses: [], unsupported: [] };
    this.exec(actions, { metadata: 0n, ...packet }, v, null, 'action', 0);
    return v;
  }

  /** The bucket index a select group gives this packet. */
  bucketFor(groupId: number, packet: Packet): number {
    const g = this.groups.get(groupId);
    if (!g) throw new RangeError(`fake switch: no group ${groupId}`);
    return this.choose(g, packet);
  }

  private choose(g: Group, p: Packet): number {
    if (this.opts.selectBucket) return this.opts.selectBucket(g, p);
    const total = g.buckets.reduce((s, b) => s + b.weight, 0);
    if (total === 0) return -1;
    let at = flowHash(p) % total;
    for (let i = 0; i < g.buckets.length; i++) {
      at -= g.buckets[i].weight;
      if (at < 0) return i;
    }
    return -1;
  }

  private lookup(tableId: number, p: Packet): FlowEntry | undefined {
    return this.tables[tableId]?.find((e) => packetMatches(e.bits, p));
  }

  private runTable(tableId: number, p: Packet, v: Verdict, actionSet: Action[], depth: number): void {
    if (depth > MAX_DEPTH) {
      v.unsupported.push(`pipeline deeper than ${MAX_DEPTH}`);
      return;
    }
    const e = this.lookup(tableId, p);
    if (!e) {
      v.misses.push(tableId);
      return;
    }
    e.lastUsed = this.clock();
    e.packets++;
    v.path.push({ tableId, priority: e.priority, cookie: e.cookie });
    if (e.fin && typeof p.tcp_flags === 'number' && p.tcp_flags & TCP_FIN_OR_RST) this.finTimeout(e, e.fin.idle, e.fin.hard);
    // The instructions run in the order OpenFlow fixes, whatever order they were sent in.
    const ins = <T extends Instruction['type']>(t: T): Extract<Instruction, { type: T }>[] =>
      e.instructions.filter((i): i is Extract<Instruction, { type: T }> => i.type === t);
    for (const i of ins('meter')) v.unsupported.push(`meter ${i.meterId}`);
    for (const i of ins('apply_actions')) this.exec(i.actions, p, v, e, 'action', depth);
    if (ins('clear_actions').length > 0) actionSet.length = 0;
    for (const i of ins('write_actions')) writeActionSet(actionSet, i.actions);
    for (const i of ins('write_metadata')) p.metadata = (toBits(p.metadata ?? 0n) & ~i.mask) | (i.metadata & i.mask);
    for (const i of [...ins('experimenter'), ...ins('unknown')]) v.unsupported.push(`instruction ${i.type}`);
    const goto = ins('goto_table')[0];
    if (goto) this.runTable(goto.tableId, p, v, actionSet, depth + 1);
  }

  private exec(actions: Action[], p: Packet, v: Verdict, e: FlowEntry | null, reason: 'action' | 'group', depth: number): void {
    for (const a of actions) {
      matchOn(a)
        .with({ type: 'output' }, (o) => {
          const port = o.port === OFPP.IN_PORT ? Number(p.in_port ?? 0) : o.port;
          if (port === OFPP.CONTROLLER) v.packetIns.push({ reason, tableId: e?.tableId ?? 0, cookie: e?.cookie ?? 0n, packet: { ...p } });
          else if (port === OFPP.TABLE) this.runTable(0, p, v, [], depth + 1);
          else v.outputs.push({ port, packet: { ...p } });
        })
        .with({ type: 'group' }, (g) => this.runGroup(g.groupId, p, v, depth))
        .with({ type: 'set_field' }, (s) => setField(p, s.field, v))
        .with({ type: 'push_vlan' }, () => void (p.vlan_vid = 0x1000))
        .with({ type: 'pop_vlan' }, () => void delete p.vlan_vid)
        .with({ type: 'nx_resubmit' }, (r) => this.runTable(r.table === RESUBMIT_THIS_TABLE ? (e?.tableId ?? 0) : r.table, p, v, [], depth + 1))
        .with({ type: 'nx_learn' }, (l) => {
          const learned = this.learn(l, p);
          if (typeof learned === 'string') v.unsupported.push(learned);
          else v.learned.push(learned);
        })
        .with({ type: 'nx_fin_timeout' }, (f) => {
          if (e && typeof p.tcp_flags === 'number' && p.tcp_flags & TCP_FIN_OR_RST) this.finTimeout(e, f.idleTimeout, f.hardTimeout);
        })
        .with({ type: 'experimenter' }, (x) => void v.unsupported.push(
          x.experimenter === NX_VENDOR_ID && x.data.length >= 2 ? `nicira action ${x.data.readUInt16BE(0)}` : `experimenter 0x${x.experimenter.toString(16)}`,
        ))
        .otherwise((other) => void v.unsupported.push(`action ${other.type}`));
    }
  }

  private runGroup(groupId: number, p: Packet, v: Verdict, depth: number): void {
    const g = this.groups.get(groupId);
    if (!g) {
      v.unsupported.push(`group ${groupId} missing`);
      return;
    }
    // Each bucket works on its own copy of the packet.
    const run = (b: Bucket | undefined): void => {
      if (b) this.exec(b.actions, { ...p }, v, null, 'group', depth + 1);
    };
    matchOn(g.groupType)
      .with('all', () => g.buckets.forEach(run))
      .with('select', () => run(g.buckets[this.choose(g, p)]))
      .with('indirect', 'ff', () => run(g.buckets[0]))
      .exhaustive();
  }

  /** Open vSwitch's fin_timeout: once FIN or RST is seen, the timeouts drop to the given ones. */
  private finTimeout(e: FlowEntry, idle: number, hard: number): void {
    if (idle > 0 && (e.idleTimeout === 0 || idle < e.idleTimeout)) e.idleTimeout = idle;
    if (hard > 0 && (e.hardTimeout === 0 || hard < e.hardTimeout)) e.hardTimeout = hard;
  }

  /** A learn action: the entry its specs describe, built from this packet, added (or refreshed);
   * or why not, for a spec naming a field the fake has no packet field for. */
  private learn(l: LearnAction, p: Packet): FlowEntry | string {
    const fields = new Map<OxmBasicName, { value: bigint; mask: bigint }>();
    const actions: Action[] = [];
    const bitsOf = (name: OxmBasicName, ofs: number, n: number): bigint => (toBits(p[name] ?? 0) >> BigInt(ofs)) & ((1n << BigInt(n)) - 1n);
    const put = (name: OxmBasicName, n: number, value: bigint): void => {
      const mask = (1n << BigInt(n)) - 1n;
      const f = fields.get(name) ?? { value: 0n, mask: 0n };
      fields.set(name, { value: (f.value & ~mask) | (value & mask), mask: f.mask | mask });
    };
    const load = (name: OxmBasicName, n: number, value: bigint): void => {
      const mask = (1n << BigInt(n)) - 1n;
      actions.push({ type: 'set_field', field: oxm(name, fromBits(name, value & mask), mask === fullMask(name) ? undefined : fromBits(name, mask)) });
    };
    for (const s of l.specs) {
      // The packet fields a spec names (the one field table maps NXM headers to them). Matches and
      // loads take whole fields: the codec types only specs that use them from bit 0, full width.
      const dst = basicFieldOfHeader(s.field.header);
      const src = s.kind === 'match_from' ? basicFieldOfHeader(s.from.header) : dst;
      if (dst === undefined || src === undefined) return `learn ${s.kind} on ${s.field.name}: field not modelled`;
      matchOn(s)
        .with({ kind: 'match_field' }, (x) => put(dst, x.field.bits, bitsOf(dst, 0, x.field.bits)))
        .with({ kind: 'match_from' }, (x) => put(dst, x.field.bits, bitsOf(src, 0, x.field.bits)))
        .with({ kind: 'match_value' }, (x) => put(dst, x.field.bits, toBits(x.value)))
        .with({ kind: 'load_value' }, (x) => load(dst, x.field.bits, toBits(x.value)))
        .with({ kind: 'output_field' }, (x) => void actions.push({ type: 'output', port: Number(bitsOf(dst, x.ofs, x.bits)), maxLen: 0 }))
        .exhaustive();
    }
    const match: OxmField[] = [...fields].map(([name, f]) => oxm(name, fromBits(name, f.value), f.mask === fullMask(name) ? undefined : fromBits(name, f.mask)));
    const fin = { idle: l.finIdleTimeout ?? 0, hard: l.finHardTimeout ?? 0 };
    return this.install({
      tableId: l.table, priority: l.priority, match, cookie: l.cookie, idleTimeout: l.idleTimeout, hardTimeout: l.hardTimeout ?? 0,
      flags: l.flags & NX_LEARN_F.SEND_FLOW_REM ? OFPFF.SEND_FLOW_REM : 0, instructions: [{ type: 'apply_actions', actions }], learned: true,
      ...(fin.idle || fin.hard ? { fin } : {}),
    });
  }
}

/** set_field, honouring a mask (Open vSwitch's masked set_field and partial learn loads). */
function setField(p: Packet, f: OxmField, v: Verdict): void {
  if (f.kind !== 'basic') {
    v.unsupported.push(`set_field class 0x${f.oxmClass.toString(16)}`);
    return;
  }
  if (f.mask === undefined) {
    p[f.name] = f.value;
    return;
  }
  const mask = toBits(f.mask);
  p[f.name] = fromBits(f.name, (toBits(p[f.name] ?? 0) & ~mask) | (toBits(f.value) & mask));
}

/** write_actions: one action of each kind (one set_field per field), the newest winning. */
function writeActionSet(set: Action[], actions: Action[]): void {
  for (const a of actions) {
    const same = (x: Action): boolean => x.type === a.type
      && (a.type !== 'set_field' || (x.type === 'set_field' && x.field.kind === 'basic' && a.field.kind === 'basic' && x.field.name === a.field.name));
    const i = set.findIndex(same);
    if (i >= 0) set.splice(i, 1);
    set.push(a);
  }
  // The action set runs set-fields before group and output.
  set.sort((x, y) => rank(x) - rank(y));
}

function rank(a: Action): number {
  return a.type === 'output' ? 2 : a.type === 'group' ? 1 : 0;
}
