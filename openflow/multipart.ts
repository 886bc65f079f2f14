// Multipart (stats) request and reply bodies: the part after the 16-byte multipart header.
// 1.3 layouts are exact. Later versions changed some layouts, all modelled here: 1.4 port desc and
// port stats (properties), 1.5 group desc (bucket list length + properties, which are skipped),
// 1.5 flow and aggregate replies (OXS stats), 1.5 group/port desc requests (an id). Any other
// multipart type stays `raw` so nothing is lost or misread.
import { CodecError, Reader, Writer } from './buf.js';
import { readBuckets, writeBuckets } from './buckets.js';
import { readInstructions, writeInstructions } from './instructions.js';
import { readMatch, writeMatch } from './oxm.js';
import { readFixedString, readPort, writeFixedString, writePort } from './port.js';
import type {
  FlowStats, FlowStatsRequestBody, GroupDesc, GroupFeatures, GroupStats, GroupType,
  MultipartReplyBody, MultipartRequestBody, PortStats, SwitchDesc, TableStats, WireVersion,
} from './types.js';
import { GROUP_TYPES, OFPG, OFPP } from './types.js';

/** OFPMP_* type codes. */
export const OFPMP = {
  DESC: 0, FLOW: 1, AGGREGATE: 2, TABLE: 3, PORT_STATS: 4, QUEUE: 5, GROUP: 6, GROUP_DESC: 7,
  GROUP_FEATURES: 8, METER: 9, METER_CONFIG: 10, METER_FEATURES: 11, TABLE_FEATURES: 12,
  PORT_DESC: 13, EXPERIMENTER: 0xffff,
} as const;

function groupTypeOf(code: number): GroupType {
  const t = GROUP_TYPES[code];
  if (t === undefined) throw new CodecError('bad_value', `unknown group type ${code}`);
  return t;
}

function groupTypeCode(t: GroupType): number {
  return GROUP_TYPES.indexOf(t);
}

// ---------------------------------------------------------------------------------------------
// Small field helpers

/**
 * Reads a list of variable-length records that each start with a u16 length covering the record.
 * `minLen` is the fixed part: a length below it, past the data, or not a multiple of 8 lies.
 */
function readRecords<T>(r: Reader, minLen: number, what: string, lengthAt: number, one: (rec: Reader) => T): T[] {
  const out: T[] = [];
  while (r.remaining() > 0) {
    if (r.remaining() < minLen) throw new CodecError('truncated', `${what}: ${r.remaining()} bytes left, need ${minLen}`);
    const len = r.buf.readUInt16BE(r.offset + lengthAt);
    if (len < minLen || len > r.remaining() || (len & 7) !== 0) {
      throw new CodecError('bad_length', `${what}: length ${len} (min ${minLen}, ${r.remaining()} left)`);
    }
    out.push(one(r.sub(len)));
  }
  return out;
}

/** Reads fixed-size records until the body ends; a leftover partial record is truncation. */
function readFixed<T>(r: Reader, size: number, what: string, one: (rec: Reader) => T): T[] {
  if (r.remaining() % size !== 0) {
    throw new CodecError('bad_length', `${what}: body of ${r.remaining()} bytes is not a multiple of ${size}`);
  }
  const out: T[] = [];
  while (r.remaining() > 0) out.push(one(r.sub(size)));
  return out;
}

function expectEnd(r: Reader, what: string): void {
  if (r.remaining() !== 0) throw new CodecError('bad_length', `${what}: ${r.remaining()} unexpected trailing bytes`);
}

/** Writes a record that starts with a u16 length covering the whole record, patched once `body` is written. */
function writeLengthPrefixed(w: Writer, body: () => void): void {
  const start = w.offset;
  w.u16(0);
  body();
  w.patchU16(start, w.offset - start);
}

// ---------------------------------------------------------------------------------------------
// Requests

function readFlowStatsRequest(r: Reader): FlowStatsRequestBody {
  const tableId = r.u8();
  r.skip(3);
  const outPort = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const match = readMatch(r);
  expectEnd(r, 'flow stats request');
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

function writeFlowStatsRequest(w: Writer, b: FlowStatsRequestBody): void {
  w.u8(b.tableId);
  w.zeros(3);
  w.u32(b.outPort);
  w.u32(b.outGroup);
  w.zeros(4);
  w.u64(b.cookie);
  w.u64(b.cookieMask);
  writeMatch(w, b.match);
}

/** A request body that carries one u32 id plus 4 pad bytes (port stats, group stats, 1.5 descs). */
function readIdRequest(r: Reader, what: string): number {
  const id = r.u32();
  r.skip(4);
  expectEnd(r, what);
  return id;
}

function writeIdRequest(w: Writer, id: number): void {
  w.u32(id);
  w.zeros(4);
}

// ---------------------------------------------------------------------------------------------
// Reply records

const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;

function readDesc(r: Reader): SwitchDesc {
  const desc: SwitchDesc = {
    mfrDesc: readFixedString(r, DESC_STR_LEN),
    hwDesc: readFixedString(r, DESC_STR_LEN),
    swDesc: readFixedString(r, DESC_STR_LEN),
    serialNum: readFixedString(r, SERIAL_NUM_LEN),
    dpDesc: readFixedString(r, DESC_STR_LEN),
  };
  expectEnd(r, 'desc reply');
  return desc;
}

function writeDesc(w: Writer, d: SwitchDesc): void {
  writeFixedString(w, d.mfrDesc, DESC_STR_LEN);
  writeFixedString(w, d.hwDesc, DESC_STR_LEN);
  writeFixedString(w, d.swDesc, DESC_STR_LEN);
  writeFixedString(w, d.serialNum, SERIAL_NUM_LEN);
  writeFixedString(w, d.dpDesc, DESC_STR_LEN);
}

/** ofp_flow_stats, 1.3 and 1.4 (1.4 puts `importance` in the first two pad bytes; we drop it). */
const FLOW_STATS_FIXED = 48;

/** priority, idle_timeout, hard_timeout, flags: four u16 in this order in every flow stats layout. */
type FlowEntryFields = Pick<FlowStats, 'priority' | 'idleTimeout' | 'hardTimeout' | 'flags'>;

function readFlowEntryFields(r: Reader): FlowEntryFields {
  return { priority: r.u16(), idleTimeout: r.u16(), hardTimeout: r.u16(), flags: r.u16() };
}

function writeFlowEntryFields(w: Writer, f: FlowEntryFields): void {
  w.u16(f.priority);
  w.u16(f.idleTimeout);
  w.u16(f.hardTimeout);
  w.u16(f.flags);
}

function readFlowStats(r: Reader, version: WireVersion): FlowStats {
  r.skip(2); // length, already checked by readRecords
  const tableId = r.u8();
  r.skip(1);
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const entry = readFlowEntryFields(r);
  r.skip(4);
  const cookie = r.u64();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = readMatch(r);
  const instructions = readInstructions(r, r.remaining(), version);
  return { tableId, durationSec, durationNsec, ...entry, cookie, packetCount, byteCount, match, instructions };
}

function writeFlowStats(w: Writer, f: FlowStats, version: WireVersion): void {
  writeLengthPrefixed(w, () => {
    w.u8(f.tableId);
    w.zeros(1);
    w.u32(f.durationSec);
    w.u32(f.durationNsec);
    writeFlowEntryFields(w, f);
    w.zeros(4);
    w.u64(f.cookie);
    w.u64(f.packetCount);
    w.u64(f.byteCount);
    writeMatch(w, f.match);
    writeInstructions(w, f.instructions, version);
  });
}

// OpenFlow 1.5 carries flow counters as OXS TLVs in an ofp_stats block (reserved u16, length u16
// covering the header and TLVs, then padding to 8), class OFPXSC_OPENFLOW_BASIC.
const OFPXSC_OPENFLOW_BASIC = 0x8002;
const OXS = { DURATION: 0, IDLE_TIME: 1, FLOW_COUNT: 3, PACKET_COUNT: 4, BYTE_COUNT: 5 } as const;

interface OxsStats { durationSec: number; durationNsec: number; flowCount: number; packetCount: bigint; byteCount: bigint }

function readOxsStats(r: Reader): OxsStats {
  const start = r.offset;
  r.skip(2);
  const len = r.u16();
  if (len < 4) throw new CodecError('bad_length', `ofp_stats length ${len}`);
  const body = r.sub(len - 4);
  r.skip(Math.min(r.remaining(), ((len + 7) & ~7) - (r.offset - start)));
  const s: OxsStats = { durationSec: 0, durationNsec: 0, flowCount: 0, packetCount: 0n, byteCount: 0n };
  while (body.remaining() > 0) {
    const header = body.u32();
    const cls = header >>> 16;
    const field = (header >>> 9) & 0x7f;
    const flen = header & 0xff;
    const v = body.sub(flen);
    if (cls !== OFPXSC_OPENFLOW_BASIC || (header & 0x100) !== 0) continue;
    if (field === OXS.DURATION && flen === 8) { s.durationSec = v.u32(); s.durationNsec = v.u32(); }
    else if (field === OXS.FLOW_COUNT && flen === 4) s.flowCount = v.u32();
    else if (field === OXS.PACKET_COUNT && flen === 8) s.packetCount = v.u64();
    else if (field === OXS.BYTE_COUNT && flen === 8) s.byteCount = v.u64();
  }
  return s;
}

function oxsHeader(w: Writer, field: number, len: number): void {
  w.u32(((OFPXSC_OPENFLOW_BASIC << 16) | (field << 9) | len) >>> 0);
}

/** Writes the ofp_stats block: duration (flows only), flow_count (aggregate only), packets, bytes. */
function writeOxsStats(w: Writer, s: OxsStats, what: 'flow' | 'aggregate'): void {
  const start = w.offset;
  w.u16(0);
  w.u16(0);
  if (what === 'flow') { oxsHeader(w, OXS.DURATION, 8); w.u32(s.durationSec); w.u32(s.durationNsec); }
  else { oxsHeader(w, OXS.FLOW_COUNT, 4); w.u32(s.flowCount); }
  oxsHeader(w, OXS.PACKET_COUNT, 8); w.u64(s.packetCount);
  oxsHeader(w, OXS.BYTE_COUNT, 8); w.u64(s.byteCount);
  w.patchU16(start + 2, w.offset - start);
  w.padTo8(start);
}

/** ofp_flow_desc (1.5): 24 fixed bytes (no counters), match, OXS stats, instructions. */
const FLOW_DESC_FIXED = 24;

function readFlowDesc15(r: Reader, version: WireVersion): FlowStats {
  r.skip(4); // length (checked by readRecords) + pad
  const tableId = r.u8();
  r.skip(1);
  const entry = readFlowEntryFields(r);
  r.skip(2); // importance: not part of FlowStats
  const cookie = r.u64();
  const match = readMatch(r);
  const st = readOxsStats(r);
  const instructions = readInstructions(r, r.remaining(), version);
  return {
    tableId, durationSec: st.durationSec, durationNsec: st.durationNsec, ...entry,
    cookie, packetCount: st.packetCount, byteCount: st.byteCount, match, instructions,
  };
}

function writeFlowDesc15(w: Writer, f: FlowStats, version: WireVersion): void {
  writeLengthPrefixed(w, () => {
    w.zeros(2);
    w.u8(f.tableId);
    w.zeros(1);
    writeFlowEntryFields(w, f);
    w.u16(0);
    w.u64(f.cookie);
    writeMatch(w, f.match);
    writeOxsStats(w, { ...f, flowCount: 0 }, 'flow');
    writeInstructions(w, f.instructions, version);
  });
}

function readTableStats(r: Reader): TableStats {
  const tableId = r.u8();
  r.skip(3);
  return { tableId, activeCount: r.u32(), lookupCount: r.u64(), matchedCount: r.u64() };
}

function writeTableStats(w: Writer, t: TableStats): void {
  w.u8(t.tableId);
  w.zeros(3);
  w.u32(t.activeCount);
  w.u64(t.lookupCount);
  w.u64(t.matchedCount);
}

/** The eight u64 traffic counters, in this order in every port stats layout. */
type PortTrafficCounters = Pick<PortStats,
  'rxPackets' | 'txPackets' | 'rxBytes' | 'txBytes' | 'rxDropped' | 'txDropped' | 'rxErrors' | 'txErrors'>;
/** The four u64 Ethernet error counters: in the 1.3 record, in a property from 1.4 on. */
type PortEthernetCounters = Pick<PortStats, 'rxFrameErr' | 'rxOverErr' | 'rxCrcErr' | 'collisions'>;

function readPortTrafficCounters(r: Reader): PortTrafficCounters {
  return {
    rxPackets: r.u64(), txPackets: r.u64(), rxBytes: r.u64(), txBytes: r.u64(),
    rxDropped: r.u64(), txDropped: r.u64(), rxErrors: r.u64(), txErrors: r.u64(),
  };
}

function writePortTrafficCounters(w: Writer, s: PortTrafficCounters): void {
  for (const v of [s.rxPackets, s.txPackets, s.rxBytes, s.txBytes, s.rxDropped, s.txDropped, s.rxErrors, s.txErrors]) w.u64(v);
}

function readPortEthernetCounters(r: Reader): PortEthernetCounters {
  return { rxFrameErr: r.u64(), rxOverErr: r.u64(), rxCrcErr: r.u64(), collisions: r.u64() };
}

function writePortEthernetCounters(w: Writer, s: PortEthernetCounters): void {
  for (const v of [s.rxFrameErr, s.rxOverErr, s.rxCrcErr, s.collisions]) w.u64(v);
}

/** ofp_port_stats (1.3): 112 bytes. */
function readPortStats13(r: Reader): PortStats {
  const portNo = r.u32();
  r.skip(4);
  return {
    portNo, ...readPortTrafficCounters(r), ...readPortEthernetCounters(r),
    durationSec: r.u32(), durationNsec: r.u32(),
  };
}

function writePortStats13(w: Writer, s: PortStats): void {
  w.u32(s.portNo);
  w.zeros(4);
  writePortTrafficCounters(w, s);
  writePortEthernetCounters(w, s);
  w.u32(s.durationSec);
  w.u32(s.durationNsec);
}

/** OFPPSPT14_ETHERNET: the port stats property with the Ethernet error counters. */
const OFPPSPT14_ETHERNET = 0;

/** ofp14_port_stats: 80 fixed bytes + properties; the Ethernet property carries the error counters. */
function readPortStats14(r: Reader): PortStats {
  r.skip(4); // length + pad
  const portNo = r.u32();
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const s: PortStats = {
    portNo, durationSec, durationNsec, ...readPortTrafficCounters(r),
    rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n,
  };
  readProperties(r, (type, p) => {
    if (type !== OFPPSPT14_ETHERNET) return;
    p.skip(4);
    Object.assign(s, readPortEthernetCounters(p));
  });
  return s;
}

function writePortStats14(w: Writer, s: PortStats): void {
  w.u16(80 + 40);
  w.zeros(2);
  w.u32(s.portNo);
  w.u32(s.durationSec);
  w.u32(s.durationNsec);
  writePortTrafficCounters(w, s);
  w.u16(OFPPSPT14_ETHERNET);
  w.u16(40);
  w.zeros(4);
  writePortEthernetCounters(w, s);
}

/**
 * 1.4-style TLV properties (u16 type, u16 length, body padded to 8). Calls `one` with each
 * property's body (after the 4-byte header, without padding); unknown types are the caller's to skip.
 */
function readProperties(r: Reader, one: (type: number, body: Reader) => void): void {
  while (r.remaining() > 0) {
    if (r.remaining() < 4) throw new CodecError('truncated', `property header: ${r.remaining()} bytes left`);
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining()) throw new CodecError('bad_length', `property length ${len}`);
    const body = r.sub(len - 4);
    r.skip(Math.min(r.remaining(), ((len + 7) & ~7) - len));
    one(type, body);
  }
}

function readGroupStats(r: Reader): GroupStats {
  r.skip(4); // length (checked by readRecords) + pad
  const groupId = r.u32();
  const refCount = r.u32();
  r.skip(4);
  const packetCount = r.u64();
  const byteCount = r.u64();
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const buckets = readFixed(r, 16, 'bucket counters', (b) => ({ packetCount: b.u64(), byteCount: b.u64() }));
  return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, buckets };
}

function writeGroupStats(w: Writer, g: GroupStats): void {
  w.u16(40 + 16 * g.buckets.length);
  w.zeros(2);
  w.u32(g.groupId);
  w.u32(g.refCount);
  w.zeros(4);
  w.u64(g.packetCount);
  w.u64(g.byteCount);
  w.u32(g.durationSec);
  w.u32(g.durationNsec);
  for (const b of g.buckets) {
    w.u64(b.packetCount);
    w.u64(b.byteCount);
  }
}

/** The head of ofp_group_desc in every version: length (checked by readRecords), type, pad, group_id. */
function readGroupDescHead(r: Reader): Pick<GroupDesc, 'groupType' | 'groupId'> {
  r.skip(2);
  const groupType = groupTypeOf(r.u8());
  r.skip(1);
  return { groupType, groupId: r.u32() };
}

/** The head after the length (written by writeLengthPrefixed): type, pad, group_id. */
function writeGroupDescHead(w: Writer, g: GroupDesc): void {
  w.u8(groupTypeCode(g.groupType));
  w.zeros(1);
  w.u32(g.groupId);
}

/** ofp_group_desc (1.3/1.4): length, type, pad, group_id, buckets. */
function readGroupDesc13(r: Reader, version: WireVersion): GroupDesc {
  const { groupType, groupId } = readGroupDescHead(r);
  return { groupType, groupId, buckets: readBuckets(r, r.remaining(), version, groupType) };
}

function writeGroupDesc13(w: Writer, g: GroupDesc, version: WireVersion): void {
  writeLengthPrefixed(w, () => {
    writeGroupDescHead(w, g);
    writeBuckets(w, g.buckets, version, g.groupType);
  });
}

/**
 * ofp15_group_desc: length, type, pad, group_id, bucket_list_len, pad[6], buckets, properties.
 * Group properties (e.g. the selection method) are not part of GroupDesc and are skipped.
 */
function readGroupDesc15(r: Reader, version: WireVersion): GroupDesc {
  const { groupType, groupId } = readGroupDescHead(r);
  const bucketLen = r.u16();
  r.skip(6);
  if (bucketLen > r.remaining()) throw new CodecError('bad_length', `bucket list length ${bucketLen}`);
  const buckets = readBuckets(r, bucketLen, version, groupType);
  r.skip(r.remaining());
  return { groupType, groupId, buckets };
}

function writeGroupDesc15(w: Writer, g: GroupDesc, version: WireVersion): void {
  writeLengthPrefixed(w, () => {
    writeGroupDescHead(w, g);
    const lenAt = w.offset;
    w.u16(0);
    w.zeros(6);
    const bucketsStart = w.offset;
    writeBuckets(w, g.buckets, version, g.groupType);
    w.patchU16(lenAt, w.offset - bucketsStart);
  });
}

function readGroupFeatures(r: Reader): GroupFeatures {
  const f: GroupFeatures = {
    types: r.u32(), capabilities: r.u32(),
    maxGroups: [r.u32(), r.u32(), r.u32(), r.u32()],
    actions: [r.u32(), r.u32(), r.u32(), r.u32()],
  };
  expectEnd(r, 'group features reply');
  return f;
}

function writeGroupFeatures(w: Writer, f: GroupFeatures): void {
  w.u32(f.types);
  w.u32(f.capabilities);
  for (const v of f.maxGroups) w.u32(v);
  for (const v of f.actions) w.u32(v);
}

// ---------------------------------------------------------------------------------------------
// The multipart kinds: one declaration each, request and reply side by side.

type RequestOf<K extends MultipartKind> = Extract<MultipartRequestBody, { kind: K }>;
type ReplyOf<K extends MultipartKind> = Extract<MultipartReplyBody, { kind: K }>;
type MultipartKind = Exclude<MultipartRequestBody['kind'], 'raw'>;

interface MultipartDecl<K extends MultipartKind = MultipartKind> {
  readonly kind: K;
  /** OFPMP_* code. */
  readonly mpType: number;
  /** Undefined: this version's layout of the body is not modelled, and it stays `raw`. */
  readRequest(r: Reader, version: WireVersion): RequestOf<K> | undefined;
  writeRequest(w: Writer, body: RequestOf<K>, version: WireVersion): void;
  readReply(r: Reader, version: WireVersion): ReplyOf<K>;
  writeReply(w: Writer, body: ReplyOf<K>, version: WireVersion): void;
}

const defineMultipart = <const K extends MultipartKind>(d: MultipartDecl<K>): MultipartDecl<K> => d;

/**
 * A request with no body. With `all15`: 1.5 added an id (a group, a port) to this request, and
 * only that id's "all" maps onto our request value; another id leaves the request raw.
 */
const emptyRequest = <K extends MultipartKind>(kind: K, what: string, all15?: number) => ({
  readRequest(r: Reader, version: WireVersion): RequestOf<K> | undefined {
    if (all15 !== undefined && version >= 6) {
      if (r.remaining() !== 8 || r.buf.readUInt32BE(r.offset) !== all15) return undefined;
      r.skip(8);
    }
    expectEnd(r, what);
    return { kind } as RequestOf<K>; // the kinds that use this have no other fields
  },
  writeRequest(w: Writer, _b: RequestOf<K>, version: WireVersion): void {
    if (all15 !== undefined && version >= 6) writeIdRequest(w, all15);
  },
});

const MULTIPART_DECLARATIONS = [
  defineMultipart({
    kind: 'desc', mpType: OFPMP.DESC,
    ...emptyRequest('desc', 'desc request'),
    readReply: (r) => ({ kind: 'desc', desc: readDesc(r) }),
    writeReply: (w, b) => writeDesc(w, b.desc),
  }),
  defineMultipart({
    kind: 'flow', mpType: OFPMP.FLOW,
    readRequest: (r) => ({ kind: 'flow', body: readFlowStatsRequest(r) }),
    writeRequest: (w, b) => writeFlowStatsRequest(w, b.body),
    readReply: (r, version) => ({
      kind: 'flow',
      flows: version >= 6
        ? readRecords(r, FLOW_DESC_FIXED, 'flow desc', 0, (rec) => readFlowDesc15(rec, version))
        : readRecords(r, FLOW_STATS_FIXED, 'flow stats', 0, (rec) => readFlowStats(rec, version)),
    }),
    writeReply(w, b, version) {
      for (const f of b.flows) (version >= 6 ? writeFlowDesc15 : writeFlowStats)(w, f, version);
    },
  }),
  defineMultipart({
    kind: 'aggregate', mpType: OFPMP.AGGREGATE,
    readRequest: (r) => ({ kind: 'aggregate', body: readFlowStatsRequest(r) }),
    writeRequest: (w, b) => writeFlowStatsRequest(w, b.body),
    readReply(r, version) {
      if (version >= 6) {
        const st = readOxsStats(r);
        expectEnd(r, 'aggregate reply');
        return { kind: 'aggregate', packetCount: st.packetCount, byteCount: st.byteCount, flowCount: st.flowCount };
      }
      const packetCount = r.u64();
      const byteCount = r.u64();
      const flowCount = r.u32();
      r.skip(4);
      expectEnd(r, 'aggregate reply');
      return { kind: 'aggregate', packetCount, byteCount, flowCount };
    },
    writeReply(w, b, version) {
      if (version >= 6) {
        writeOxsStats(w, { durationSec: 0, durationNsec: 0, ...b }, 'aggregate');
        return;
      }
      w.u64(b.packetCount);
      w.u64(b.byteCount);
      w.u32(b.flowCount);
      w.zeros(4);
    },
  }),
  defineMultipart({
    kind: 'table', mpType: OFPMP.TABLE,
    ...emptyRequest('table', 'table stats request'),
    readReply: (r) => ({ kind: 'table', tables: readFixed(r, 24, 'table stats', readTableStats) }),
    writeReply(w, b) {
      for (const t of b.tables) writeTableStats(w, t);
    },
  }),
  defineMultipart({
    kind: 'port_stats', mpType: OFPMP.PORT_STATS,
    readRequest: (r) => ({ kind: 'port_stats', portNo: readIdRequest(r, 'port stats request') }),
    writeRequest: (w, b) => writeIdRequest(w, b.portNo),
    readReply: (r, version) => ({
      kind: 'port_stats',
      ports: version >= 5
        ? readRecords(r, 80, 'port stats', 0, readPortStats14)
        : readFixed(r, 112, 'port stats', readPortStats13),
    }),
    writeReply(w, b, version) {
      for (const p of b.ports) (version >= 5 ? writePortStats14 : writePortStats13)(w, p);
    },
  }),
  defineMultipart({
    kind: 'group', mpType: OFPMP.GROUP,
    readRequest: (r) => ({ kind: 'group', groupId: readIdRequest(r, 'group stats request') }),
    writeRequest: (w, b) => writeIdRequest(w, b.groupId),
    readReply: (r) => ({ kind: 'group', groups: readRecords(r, 40, 'group stats', 0, readGroupStats) }),
    writeReply(w, b) {
      for (const g of b.groups) writeGroupStats(w, g);
    },
  }),
  defineMultipart({
    kind: 'group_desc', mpType: OFPMP.GROUP_DESC,
    ...emptyRequest('group_desc', 'group desc request', OFPG.ALL),
    readReply: (r, version) => ({
      kind: 'group_desc',
      groups: version >= 6
        ? readRecords(r, 16, 'group desc', 0, (rec) => readGroupDesc15(rec, version))
        : readRecords(r, 8, 'group desc', 0, (rec) => readGroupDesc13(rec, version)),
    }),
    writeReply(w, b, version) {
      for (const g of b.groups) (version >= 6 ? writeGroupDesc15 : writeGroupDesc13)(w, g, version);
    },
  }),
  defineMultipart({
    kind: 'group_features', mpType: OFPMP.GROUP_FEATURES,
    ...emptyRequest('group_features', 'group features request'),
    readReply: (r) => ({ kind: 'group_features', features: readGroupFeatures(r) }),
    writeReply: (w, b) => writeGroupFeatures(w, b.features),
  }),
  defineMultipart({
    kind: 'port_desc', mpType: OFPMP.PORT_DESC,
    ...emptyRequest('port_desc', 'port desc request', OFPP.ANY),
    readReply: (r, version) => ({
      kind: 'port_desc',
      ports: version >= 5
        ? readRecords(r, 40, 'port desc', 4, (rec) => readPort(rec, version))
        : readFixed(r, 64, 'port desc', (rec) => readPort(rec, version)),
    }),
    writeReply(w, b, version) {
      for (const p of b.ports) writePort(w, p, version);
    },
  }),
] as const;

// A multipart kind without a declaration would neither decode nor encode: refuse to compile.
type UndeclaredMultipart = Exclude<MultipartKind, (typeof MULTIPART_DECLARATIONS)[number]['kind']>;
const everyMultipartDeclared: [UndeclaredMultipart] extends [never] ? true : UndeclaredMultipart = true;
void everyMultipartDeclared;

const MP_BY_TYPE = new Map<number, MultipartDecl>(MULTIPART_DECLARATIONS.map((d) => [d.mpType, d as MultipartDecl]));
const MP_BY_KIND = new Map<string, MultipartDecl>(MULTIPART_DECLARATIONS.map((d) => [d.kind, d as MultipartDecl]));

export function readMultipartRequestBody(r: Reader, mpType: number, version: WireVersion): MultipartRequestBody {
  const start = r.offset;
  const body = MP_BY_TYPE.get(mpType)?.readRequest(r, version);
  if (body !== undefined) return body;
  r.offset = start;
  return { kind: 'raw', mpType, body: r.bytes(r.remaining()) };
}

/** Writes the body; returns its OFPMP_* type. */
export function writeMultipartRequestBody(w: Writer, body: MultipartRequestBody, version: WireVersion): number {
  if (body.kind === 'raw') {
    w.bytes(body.body);
    return body.mpType;
  }
  const d = MP_BY_KIND.get(body.kind)!; // every kind is declared (checked above)
  d.writeRequest(w, body, version);
  return d.mpType;
}

export function readMultipartReplyBody(r: Reader, mpType: number, version: WireVersion): MultipartReplyBody {
  const d = MP_BY_TYPE.get(mpType);
  if (d !== undefined) return d.readReply(r, version);
  return { kind: 'raw', mpType, body: r.bytes(r.remaining()) };
}

/** Writes the body; returns its OFPMP_* type. */
export function writeMultipartReplyBody(w: Writer, body: MultipartReplyBody, version: WireVersion): number {
  if (body.kind === 'raw') {
    w.bytes(body.body);
    return body.mpType;
  }
  const d = MP_BY_KIND.get(body.kind)!;
  d.writeReply(w, body, version);
  return d.mpType;
}
