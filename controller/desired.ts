// Desired flows/groups, their canonical identity, and the pure diff the reconciler applies.
// Identity of a flow = (table, priority, match as a normalized *set* of OXM fields): Open vSwitch
// returns fields in its own order, drops all-ones masks, and zeroes value bits outside a mask, so
// we normalize the encoded bytes the same way before comparing.
import { writeActions } from '../openflow/actions.js';
import type { GroupSpec } from '../openflow/builders.js';
import { Writer } from '../openflow/buf.js';
import { writeInstructions } from '../openflow/instructions.js';
import { writeOxm } from '../openflow/oxm.js';
import type {
  FlowStats, GroupDesc, Instruction, Match, OxmField, WireVersion,
} from '../openflow/types.js';

export interface DesiredFlow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
  idleTimeout?: number;
  hardTimeout?: number;
  /** OFPFF_* bits (SEND_FLOW_REM, ...). */
  flags?: number;
}

/** A desired group is what the codec's group builders take: id, type, buckets, 1.5 properties. */
export type DesiredGroup = GroupSpec;

/** A flow as the reconciler records it: the desired fields plus its canonical key and content. */
export interface FlowRecord {
  key: string;
  content: string;
  flow: DesiredFlow;
}

export interface GroupRecord {
  content: string;
  group: DesiredGroup;
}

export interface FlowDiff {
  add: DesiredFlow[];
  /** Same identity, different instructions only: modify_strict keeps the flow's counters. */
  modify: DesiredFlow[];
  /** Same identity, different cookie/timeouts/flags: an ADD replaces the flow in place. */
  replace: DesiredFlow[];
  /** Installed flows to delete (with their installed cookie, for a cookie-exact delete_strict). */
  remove: DesiredFlow[];
}

export interface GroupDiff {
  add: DesiredGroup[];
  modify: DesiredGroup[];
  remove: DesiredGroup[];
}

const w = new Writer(512);

function bytesOf(write: (wr: Writer) => void): Buffer {
  w.reset();
  write(w);
  return Buffer.from(w.finish());
}

function hex(write: (wr: Writer) => void): string {
  return bytesOf(write).toString('hex');
}

/** Open vSwitch's OpenFlow 1.3 form of tcp_flags: ONF experimenter OXM field 42 (OF1.5 made it basic). */
const ONF_EXPERIMENTER = 0x4f4e4600;
const TCP_FLAGS_CODE = 42;

/** A field as the other encodings of the same match would give it: tcp_flags sent as OXM basic
 * comes back from an OpenFlow 1.3 dump in its ONF experimenter form. */
function normalizeOxm(field: OxmField): OxmField {
  if (field.kind !== 'other' || field.oxmClass !== 0xffff || field.field !== TCP_FLAGS_CODE) return field;
  const p = field.payload;
  if (p.length !== (field.hasMask ? 8 : 6) || p.readUInt32BE(0) !== ONF_EXPERIMENTER) return field;
  return { kind: 'basic', name: 'tcp_flags', value: p.readUInt16BE(4), ...(field.hasMask ? { mask: p.readUInt16BE(6) } : {}) };
}

/** One OXM field's canonical bytes (hex), or null for a field that matches everything. */
export function canonicalOxm(field: OxmField): string | null {
  const bytes = bytesOf((wr) => writeOxm(wr, normalizeOxm(field)));
  const hasMask = (bytes[2] & 1) === 1;
  if (!hasMask) return bytes.toString('hex');
  const prefix = bytes.readUInt16BE(0) === 0xffff ? 4 : 0; // experimenter OXM: 4-byte experimenter id
  const payload = bytes.subarray(4 + prefix);
  const n = payload.length / 2;
  const value = Buffer.from(payload.subarray(0, n));
  const mask = payload.subarray(n);
  let allOnes = true;
  let allZero = true;
  for (let i = 0; i < n; i++) {
    value[i] &= mask[i];
    if (mask[i] !== 0xff) allOnes = false;
    if (mask[i] !== 0) allZero = false;
  }
  if (allZero) return null;
  const head = Buffer.from(bytes.subarray(0, 4 + prefix));
  if (allOnes) {
    head[2] &= 0xfe;
    head[3] = prefix + n;
    return Buffer.concat([head, value]).toString('hex');
  }
  return Buffer.concat([head, value, mask]).toString('hex');
}

export function canonicalMatch(match: Match): string {
  const parts: string[] = [];
  for (const f of match) {
    const c = canonicalOxm(f);
    if (c !== null) parts.push(c);
  }
  return parts.sort().join(',');
}

export function flowKey(f: { tableId: number; priority: number; match: Match }): string {
  return `${f.tableId}/${f.priority}/${canonicalMatch(f.match)}`;
}

/** Instructions encoded with the switch's version; equal bytes = equal behaviour. */
export function instructionsContent(ins: Instruction[], version: WireVersion): string {
  return hex((wr) => writeInstructions(wr, ins, version));
}

function flowContent(f: DesiredFlow, version: WireVersion): string {
  return `${f.cookie}|${f.idleTimeout ?? 0}|${f.hardTimeout ?? 0}|${flagsCompared(f.flags ?? 0)}|${instructionsContent(f.instructions, version)}`;
}

/** Flags Open vSwitch reports back in flow stats (OFPFF_SEND_FLOW_REM, NO_PKT/BYT_COUNTS). */
function flagsCompared(flags: number): number {
  return flags & (1 | 8 | 16);
}

export function flowRecord(f: DesiredFlow, version: WireVersion): FlowRecord {
  return { key: flowKey(f), content: flowContent(f, version), flow: f };
}

export function flowFromStats(s: FlowStats): DesiredFlow {
  return {
    tableId: s.tableId, priority: s.priority, match: s.match, instructions: s.instructions, cookie: s.cookie,
    idleTimeout: s.idleTimeout, hardTimeout: s.hardTimeout, flags: s.flags,
  };
}

export function groupContent(g: DesiredGroup, version: WireVersion): string {
  // Compare type and what each bucket does; bucket ids are the switch's business.
  const buckets = g.buckets.map((b) => {
    const weight = g.groupType === 'select' ? b.weight : 0;
    return `${weight}:${b.watchPort >>> 0}:${b.watchGroup >>> 0}:${hex((wr) => writeActions(wr, b.actions, version))}`;
  });
  return `${g.groupType}|${buckets.join(';')}`;
}

export function groupRecord(g: DesiredGroup, version: WireVersion): GroupRecord {
  return { content: groupContent(g, version), group: g };
}

export function groupFromDesc(d: GroupDesc): DesiredGroup {
  return { groupId: d.groupId, groupType: d.groupType, buckets: d.buckets };
}

export function diffFlows(desired: ReadonlyMap<string, FlowRecord>, installed: ReadonlyMap<string, FlowRecord>): FlowDiff {
  const out: FlowDiff = { add: [], modify: [], replace: [], remove: [] };
  for (const [key, d] of desired) {
    const have = installed.get(key);
    if (!have) out.add.push(d.flow);
    else if (have.content !== d.content) {
      const onlyInstructions = have.flow.cookie === d.flow.cookie
        && (have.flow.idleTimeout ?? 0) === (d.flow.idleTimeout ?? 0)
        && (have.flow.hardTimeout ?? 0) === (d.flow.hardTimeout ?? 0)
        && flagsCompared(have.flow.flags ?? 0) === flagsCompared(d.flow.flags ?? 0);
      (onlyInstructions ? out.modify : out.replace).push(d.flow);
    }
  }
  for (const [key, have] of installed) if (!desired.has(key)) out.remove.push(have.flow);
  return out;
}

export function diffGroups(desired: ReadonlyMap<number, GroupRecord>, installed: ReadonlyMap<number, GroupRecord>): GroupDiff {
  const out: GroupDiff = { add: [], modify: [], remove: [] };
  for (const [id, d] of desired) {
    const have = installed.get(id);
    if (!have) out.add.push(d.group);
    else if (have.content !== d.content) out.modify.push(d.group);
  }
  for (const [id, have] of installed) if (!desired.has(id)) out.remove.push(have.group);
  return out;
}

export function isEmptyDiff(f: FlowDiff, g: GroupDiff): boolean {
  return f.add.length + f.modify.length + f.replace.length + f.remove.length + g.add.length + g.modify.length + g.remove.length === 0;
}
