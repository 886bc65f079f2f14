// Whole OpenFlow messages: header + body for every message kind in `OfMessage`, wire versions
// 4 (1.3), 5 (1.4) and 6 (1.5). Where a 1.4/1.5 layout differs and is not modelled, the message
// decodes as `raw` rather than being misread. decodeMessage never throws.
import { CodecError, Reader, Writer } from './buf.js';
import { OFP_HEADER_LEN } from './framing.js';
import { readMac, writeMac } from './addr.js';
import { readActions, writeActions } from './actions.js';
import { readBuckets, writeBuckets, OFPG15_BUCKET } from './buckets.js';
import { errorCodeName, errorTypeCode, errorTypeName, ONF_EXPERIMENTER_ID, OFPET_EXPERIMENTER } from './errors.js';
import { readInstructions, writeInstructions } from './instructions.js';
import {
  readMultipartReplyBody, readMultipartRequestBody, writeMultipartReplyBody, writeMultipartRequestBody,
} from './multipart.js';
import { readMatch, readOxmList, writeMatch, writeOxmList } from './oxm.js';
import { readPort, writePort } from './port.js';
import {
  OFPP,
  type BundleControlType, type ControllerRole, type DecodeResult, type FlowModCommand, type FlowRemovedReason,
  type GroupModCommand, type GroupProperty, type GroupType, type MessageOf, type OfDecodeError,
  type OfDecodeErrorKind, type OfMessage, type PacketInReason, type PortStatusReason, type WireVersion,
} from './types.js';

/** OFPT_* message type codes (1.3 numbering; 1.4 adds bundles at 33/34). */
export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6, GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10,
  FLOW_REMOVED: 11, PORT_STATUS: 12, PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16,
  TABLE_MOD: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21,
  ROLE_REQUEST: 24, ROLE_REPLY: 25, GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27, SET_ASYNC: 28,
  METER_MOD: 29, BUNDLE_CONTROL: 33, BUNDLE_ADD_MESSAGE: 34,
} as const;

/** ONF extension 230 (bundles on OpenFlow 1.3, as Open vSwitch accepts them). */
export const ONFT13_BUNDLE_CONTROL = 2300;
export const ONFT13_BUNDLE_ADD_MESSAGE = 2301;
/** Netronome experimenter id of the selection-method group property Open vSwitch understands. */
export const NTR_VENDOR_ID = 0x0000154d;
export const NTRT_SELECTION_METHOD = 1;
const NTR_MAX_SELECTION_METHOD_LEN = 16;
const OFPGPT15_EXPERIMENTER = 0xffff;
const OFPHET_VERSIONBITMAP = 1;

// Enum tables: index = wire code.
const PACKET_IN_REASONS: readonly PacketInReason[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];
const FLOW_REMOVED_REASONS: readonly FlowRemovedReason[] = ['idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete', 'eviction'];
const PORT_STATUS_REASONS: readonly PortStatusReason[] = ['add', 'delete', 'modify'];
const FLOW_MOD_COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];
const GROUP_MOD_COMMANDS: readonly (GroupModCommand | undefined)[] = ['add', 'modify', 'delete', 'insert_bucket', undefined, 'remove_bucket'];
const GROUP_TYPES: readonly GroupType[] = ['all', 'select', 'indirect', 'ff'];
const ROLES: readonly ControllerRole[] = ['nochange', 'equal', 'master', 'slave'];
const METER_COMMANDS = ['add', 'modify', 'delete'] as const;
const BUNDLE_CONTROL_TYPES: readonly BundleControlType[] = [
  'open_request', 'open_reply', 'close_request', 'close_reply', 'commit_request', 'commit_reply',
  'discard_request', 'discard_reply',
];

function fromTable<T>(table: readonly (T | undefined)[], code: number, what: string): T {
  const v = table[code];
  if (v === undefined) throw new CodecError('bad_value', `unknown ${what} ${code}`);
  return v;
}

function toTable<T>(table: readonly (T | undefined)[], v: T, what: string): number {
  const i = table.indexOf(v);
  if (i < 0) throw new CodecError('bad_value', `unknown ${what} ${String(v)}`);
  return i;
}

/** Reason enums that are open: a name, or the raw number for codes without one. */
function reasonOf<T>(table: readonly T[], code: number): T | number {
  return code < table.length ? table[code] : code;
}

function reasonCode<T>(table: readonly T[], v: T | number, what: string): number {
  return typeof v === 'number' ? v : toTable(table, v, what);
}

class InnerDecodeError extends Error {
  constructor(readonly inner: OfDecodeError) {
    super(inner.message);
  }
}

function done(r: Reader, what: string): void {
  if (r.remaining() !== 0) throw new CodecError('bad_length', `${r.remaining()} unexpected bytes after ${what}`);
}

function rest(r: Reader): Buffer {
  return r.bytes(r.remaining());
}

// ---------------------------------------------------------------------------------------------
// Header

export function decodeHeader(buf: Buffer): DecodeResult<{ version: number; type: number; length: number; xid: number }> {
  if (buf.length < OFP_HEADER_LEN) {
    return { ok: false, error: { kind: 'truncated', message: `header needs 8 bytes, got ${buf.length}` } };
  }
  return { ok: true, value: { version: buf[0], type: buf[1], length: (buf[2] << 8) | buf[3], xid: buf.readUInt32BE(4) } };
}

// ---------------------------------------------------------------------------------------------
// Decode

function fail(kind: OfDecodeErrorKind, message: string, version?: number, msgType?: number, xid?: number): DecodeResult<OfMessage> {
  return { ok: false, error: { kind, message, version, msgType, xid } };
}

/**
 * Decodes exactly one whole message. Never throws: every malformed input gives a typed error
 * with the header fields when they could be read. HELLO decodes for any version; every other
 * type needs version 4, 5 or 6.
 */
export function decodeMessage(buf: Buffer): DecodeResult<OfMessage> {
  if (buf.length < OFP_HEADER_LEN) return fail('truncated', `header needs 8 bytes, got ${buf.length}`);
  const version = buf[0];
  const type = buf[1];
  const length = (buf[2] << 8) | buf[3];
  const xid = buf.readUInt32BE(4);
  if (length < OFP_HEADER_LEN) return fail('bad_length', `header length ${length} < 8`, version, type, xid);
  if (length > buf.length) return fail('truncated', `header length ${length}, only ${buf.length} bytes`, version, type, xid);
  if (length < buf.length) return fail('bad_length', `header length ${length}, but ${buf.length} bytes given`, version, type, xid);
  if (type !== OFPT.HELLO && (version < 4 || version > 6)) {
    return fail('unsupported_version', `OpenFlow wire version ${version} is not supported`, version, type, xid);
  }
  try {
    const value = decodeBody(new Reader(buf, OFP_HEADER_LEN, length), version as WireVersion, type, xid);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof CodecError) return fail(e.kind, e.message, version, type, xid);
    if (e instanceof InnerDecodeError) {
      return fail(e.inner.kind, `bundled message: ${e.inner.message}`, version, type, xid);
    }
    return fail('bad_value', e instanceof Error ? e.message : String(e), version, type, xid);
  }
}

function decodeBody(r: Reader, version: WireVersion, type: number, xid: number): OfMessage {
  switch (type) {
    case OFPT.HELLO: return decodeHello(r, version, xid);
    case OFPT.ERROR: {
      const t = r.u16();
      const code = r.u16();
      if (t === OFPET_EXPERIMENTER) {
        const experimenter = r.u32();
        const codeName = errorCodeName('experimenter', code, experimenter);
        return codeName === undefined
          ? { type: 'error', version, xid, errType: 'experimenter', code, experimenter, data: rest(r) }
          : { type: 'error', version, xid, errType: 'experimenter', code, codeName, experimenter, data: rest(r) };
      }
      const errType = errorTypeName(t);
      const codeName = errorCodeName(errType, code);
      return codeName === undefined
        ? { type: 'error', version, xid, errType, code, data: rest(r) }
        : { type: 'error', version, xid, errType, code, codeName, data: rest(r) };
    }
    case OFPT.ECHO_REQUEST: return { type: 'echo_request', version, xid, data: rest(r) };
    case OFPT.ECHO_REPLY: return { type: 'echo_reply', version, xid, data: rest(r) };
    case OFPT.EXPERIMENTER: {
      const experimenter = r.u32();
      const expType = r.u32();
      if (version === 4 && experimenter === ONF_EXPERIMENTER_ID) {
        if (expType === ONFT13_BUNDLE_CONTROL) return decodeBundleControl(r, version, xid);
        if (expType === ONFT13_BUNDLE_ADD_MESSAGE) return decodeBundleAdd(r, version, xid);
      }
      return { type: 'experimenter', version, xid, experimenter, expType, data: rest(r) };
    }
    case OFPT.FEATURES_REQUEST: done(r, 'features request'); return { type: 'features_request', version, xid };
    case OFPT.FEATURES_REPLY: {
      const datapathId = r.u64();
      const nBuffers = r.u32();
      const nTables = r.u8();
      const auxiliaryId = r.u8();
      r.skip(2);
      const capabilities = r.u32();
      r.skip(4);
      done(r, 'features reply');
      return { type: 'features_reply', version, xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
    }
    case OFPT.GET_CONFIG_REQUEST: done(r, 'get config request'); return { type: 'get_config_request', version, xid };
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG: {
      const flags = r.u16();
      const missSendLen = r.u16();
      done(r, 'switch config');
      return { type: type === OFPT.SET_CONFIG ? 'set_config' : 'get_config_reply', version, xid, flags, missSendLen };
    }
    case OFPT.PACKET_IN: {
      const bufferId = r.u32();
      const totalLen = r.u16();
      const reason = reasonOf(PACKET_IN_REASONS, r.u8());
      const tableId = r.u8();
      const cookie = r.u64();
      const match = readMatch(r);
      r.skip(2);
      return { type: 'packet_in', version, xid, bufferId, totalLen, reason, tableId, cookie, match, data: rest(r) };
    }
    case OFPT.FLOW_REMOVED: {
      if (version >= 6) {
        const m = decodeFlowRemoved15(r, version, xid);
        if (m) return m;
        break;
      }
      const cookie = r.u64();
      const priority = r.u16();
      const reason = reasonOf(FLOW_REMOVED_REASONS, r.u8());
      const tableId = r.u8();
      const durationSec = r.u32();
      const durationNsec = r.u32();
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const packetCount = r.u64();
      const byteCount = r.u64();
      const match = readMatch(r);
      done(r, 'flow removed');
      return {
        type: 'flow_removed', version, xid, cookie, priority, reason, tableId, durationSec, durationNsec,
        idleTimeout, hardTimeout, packetCount, byteCount, match,
      };
    }
    case OFPT.PORT_STATUS: {
      const reason = reasonOf(PORT_STATUS_REASONS, r.u8());
      r.skip(7);
      const port = readPort(r, version);
      done(r, 'port status');
      return { type: 'port_status', version, xid, reason, port };
    }
    case OFPT.PACKET_OUT: return decodePacketOut(r, version, xid);
    case OFPT.FLOW_MOD: {
      const cookie = r.u64();
      const cookieMask = r.u64();
      const tableId = r.u8();
      const command = fromTable(FLOW_MOD_COMMANDS, r.u8(), 'flow mod command');
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      const bufferId = r.u32();
      const outPort = r.u32();
      const outGroup = r.u32();
      const flags = r.u16();
      const importance = r.u16(); // pad on 1.3
      const match = readMatch(r);
      const instructions = readInstructions(r, r.remaining(), version);
      const m: MessageOf<'flow_mod'> = {
        type: 'flow_mod', version, xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout,
        priority, bufferId, outPort, outGroup, flags, match, instructions,
      };
      if (version >= 5 && importance !== 0) m.importance = importance;
      return m;
    }
    case OFPT.GROUP_MOD: return decodeGroupMod(r, version, xid);
    case OFPT.PORT_MOD: {
      const portNo = r.u32();
      r.skip(4);
      const hwAddr = readMac(r);
      r.skip(2);
      const config = r.u32();
      const mask = r.u32();
      let advertise: number;
      if (version === 4) {
        advertise = r.u32();
        r.skip(4);
      } else {
        // 1.4+: properties; only the single Ethernet property is modelled.
        if (r.remaining() !== 8 || r.buf.readUInt32BE(r.offset) !== 8) break;
        r.skip(4);
        advertise = r.u32();
      }
      done(r, 'port mod');
      return { type: 'port_mod', version, xid, portNo, hwAddr, config, mask, advertise };
    }
    case OFPT.TABLE_MOD: {
      const tableId = r.u8();
      r.skip(3);
      const config = r.u32();
      if (version >= 5 && r.remaining() > 0) break; // 1.4 table-mod properties not modelled
      done(r, 'table mod');
      return { type: 'table_mod', version, xid, tableId, config };
    }
    case OFPT.MULTIPART_REQUEST:
    case OFPT.MULTIPART_REPLY: {
      const mpType = r.u16();
      const flags = r.u16();
      r.skip(4);
      const body = r.sub(r.remaining());
      return type === OFPT.MULTIPART_REQUEST
        ? { type: 'multipart_request', version, xid, flags, body: readMultipartRequestBody(body, mpType, version) }
        : { type: 'multipart_reply', version, xid, flags, body: readMultipartReplyBody(body, mpType, version) };
    }
    case OFPT.BARRIER_REQUEST: done(r, 'barrier request'); return { type: 'barrier_request', version, xid };
    case OFPT.BARRIER_REPLY: done(r, 'barrier reply'); return { type: 'barrier_reply', version, xid };
    case OFPT.ROLE_REQUEST:
    case OFPT.ROLE_REPLY: {
      const role = fromTable(ROLES, r.u32(), 'controller role');
      r.skip(4);
      const generationId = r.u64();
      done(r, 'role message');
      return { type: type === OFPT.ROLE_REQUEST ? 'role_request' : 'role_reply', version, xid, role, generationId };
    }
    case OFPT.GET_ASYNC_REQUEST: done(r, 'get async request'); return { type: 'get_async_request', version, xid };
    case OFPT.GET_ASYNC_REPLY:
    case OFPT.SET_ASYNC: {
      if (version >= 5) break; // 1.4+ async config is property based: not modelled
      const packetInMask: [number, number] = [r.u32(), r.u32()];
      const portStatusMask: [number, number] = [r.u32(), r.u32()];
      const flowRemovedMask: [number, number] = [r.u32(), r.u32()];
      done(r, 'async config');
      return {
        type: type === OFPT.SET_ASYNC ? 'set_async' : 'get_async_reply', version, xid, packetInMask,
        portStatusMask, flowRemovedMask,
      };
    }
    case OFPT.METER_MOD: return decodeMeterMod(r, version, xid);
    case OFPT.BUNDLE_CONTROL: if (version < 5) break; return decodeBundleControl(r, version, xid);
    case OFPT.BUNDLE_ADD_MESSAGE: if (version < 5) break; return decodeBundleAdd(r, version, xid);
  }
  return { type: 'raw', version, xid, msgType: type, body: r.buf.subarray(OFP_HEADER_LEN, r.end) };
}

// OpenFlow 1.5 ofp_stats: OXS TLVs of class 0x8002. Open vSwitch writes duration, packet count
// and byte count in a flow-removed, in that order; only that form is modelled (else raw).
const OXS_CLASS_BASIC = 0x8002;
const OXS_DURATION = 0;
const OXS_PACKET_COUNT = 4;
const OXS_BYTE_COUNT = 5;
const oxsHeader = (field: number, len: number) => ((OXS_CLASS_BASIC << 16) | (field << 9) | len) >>> 0;
const FLOW_REMOVED15_OXS = [oxsHeader(OXS_DURATION, 8), oxsHeader(OXS_PACKET_COUNT, 8), oxsHeader(OXS_BYTE_COUNT, 8)];
const FLOW_REMOVED15_STATS_LEN = 4 + 3 * 12;

function decodeFlowRemoved15(r: Reader, version: WireVersion, xid: number): OfMessage | null {
  const tableId = r.u8();
  const reason = reasonOf(FLOW_REMOVED_REASONS, r.u8());
  const priority = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const cookie = r.u64();
  const match = readMatch(r);
  r.skip(2); // ofp_stats.reserved
  if (r.u16() !== FLOW_REMOVED15_STATS_LEN) return null;
  const vals: bigint[] = [];
  for (const h of FLOW_REMOVED15_OXS) {
    if (r.u32() !== h) return null;
    vals.push(r.u64());
  }
  r.skip(((FLOW_REMOVED15_STATS_LEN + 7) & ~7) - FLOW_REMOVED15_STATS_LEN);
  done(r, 'flow removed');
  return {
    type: 'flow_removed', version, xid, cookie, priority, reason, tableId,
    durationSec: Number(vals[0] >> 32n), durationNsec: Number(vals[0] & 0xffffffffn), idleTimeout, hardTimeout,
    packetCount: vals[1], byteCount: vals[2], match,
  };
}

function decodeHello(r: Reader, version: WireVersion, xid: number): OfMessage {
  let all: number[] | null = null;
  let others: Buffer[] | undefined;
  while (r.remaining() > 0) {
    const start = r.offset;
    const etype = r.u16();
    const elen = r.u16();
    if (elen < 4) throw new CodecError('bad_length', `hello element length ${elen}`);
    const padded = Math.min((elen + 7) & ~7, r.remaining() + 4);
    if (etype === OFPHET_VERSIONBITMAP && all === null) {
      const body = r.sub(elen - 4);
      all = [];
      for (let word = 0; body.remaining() >= 4; word++) {
        const bits = body.u32();
        for (let bit = 0; bit < 32; bit++) if ((bits >>> bit) & 1) all.push(word * 32 + bit);
      }
      r.offset = start + padded;
    } else {
      r.offset = start;
      (others ??= []).push(r.bytes(padded));
    }
  }
  const m: MessageOf<'hello'> = { type: 'hello', version, xid, versions: null };
  if (all !== null) {
    const ours = all.filter((v): v is WireVersion => v >= 4 && v <= 6);
    m.versions = ours;
    if (ours.length !== all.length) m.bitmapVersions = all;
  }
  if (others) m.elements = Buffer.concat(others);
  return m;
}

function decodePacketOut(r: Reader, version: WireVersion, xid: number): OfMessage {
  const bufferId = r.u32();
  if (version >= 6) {
    const actionsLen = r.u16();
    r.skip(2);
    const match = readMatch(r);
    const actions = readActions(r, actionsLen, version);
    const m: MessageOf<'packet_out'> = { type: 'packet_out', version, xid, bufferId, inPort: OFPP.ANY, actions, data: rest(r) };
    const only = match.length === 1 ? match[0] : undefined;
    if (only && only.kind === 'basic' && only.name === 'in_port' && only.mask === undefined) {
      m.inPort = only.value as number;
    } else {
      const ip = match.find((f) => f.kind === 'basic' && f.name === 'in_port');
      if (ip && ip.kind === 'basic') m.inPort = ip.value as number;
      m.match = match;
    }
    return m;
  }
  const inPort = r.u32();
  const actionsLen = r.u16();
  r.skip(6);
  const actions = readActions(r, actionsLen, version);
  return { type: 'packet_out', version, xid, bufferId, inPort, actions, data: rest(r) };
}

function decodeGroupMod(r: Reader, version: WireVersion, xid: number): OfMessage {
  const cmd = r.u16();
  const groupType = fromTable(GROUP_TYPES, r.u8(), 'group type');
  r.skip(1);
  const groupId = r.u32();
  if (version < 6) {
    const command = fromTable(GROUP_MOD_COMMANDS.slice(0, 3), cmd, 'group mod command');
    return { type: 'group_mod', version, xid, command, groupType, groupId, buckets: readBuckets(r, r.remaining(), version) };
  }
  const command = fromTable(GROUP_MOD_COMMANDS, cmd, 'group mod command');
  const bucketArrayLen = r.u16();
  r.skip(2);
  const commandBucketId = r.u32();
  const buckets = readBuckets(r, bucketArrayLen, version, groupType);
  const m: MessageOf<'group_mod'> = { type: 'group_mod', version, xid, command, groupType, groupId, buckets, commandBucketId };
  const properties = readGroupProperties(r);
  if (properties.length > 0) m.properties = properties;
  return m;
}

function readGroupProperties(r: Reader): GroupProperty[] {
  const out: GroupProperty[] = [];
  while (r.remaining() > 0) {
    const start = r.offset;
    const ptype = r.u16();
    const plen = r.u16();
    if (plen < 4) throw new CodecError('bad_length', `group property length ${plen}`);
    const padded = (plen + 7) & ~7;
    if (ptype === OFPGPT15_EXPERIMENTER && plen >= 40 && padded - 4 <= r.remaining()) {
      const experimenter = r.u32();
      const expType = r.u32();
      if (experimenter === NTR_VENDOR_ID && expType === NTRT_SELECTION_METHOD) {
        r.skip(4);
        const name = r.bytes(NTR_MAX_SELECTION_METHOD_LEN);
        const nul = name.indexOf(0);
        if (nul >= 0 && name.subarray(nul).every((b) => b === 0)) {
          const method = name.toString('latin1', 0, nul);
          const param = r.u64();
          const fields = readOxmList(r.sub(plen - 40));
          r.skip(padded - plen);
          out.push({ type: 'ntr_selection_method', method, param, fields });
          continue;
        }
      }
    }
    r.offset = start;
    out.push({ type: 'unknown', raw: r.bytes(Math.min(padded, r.remaining())) });
  }
  return out;
}

function decodeMeterMod(r: Reader, version: WireVersion, xid: number): OfMessage {
  const command = fromTable(METER_COMMANDS, r.u16(), 'meter mod command');
  const flags = r.u16();
  const meterId = r.u32();
  const bands: MessageOf<'meter_mod'>['bands'] = [];
  while (r.remaining() > 0) {
    const start = r.offset;
    const bandType = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining()) throw new CodecError('bad_length', `meter band length ${len}`);
    if (len === 16) {
      const rate = r.u32();
      const burstSize = r.u32();
      if (bandType === 1) { r.skip(4); bands.push({ type: 'drop', rate, burstSize }); continue; }
      if (bandType === 2) { const precLevel = r.u8(); r.skip(3); bands.push({ type: 'dscp_remark', rate, burstSize, precLevel }); continue; }
      if (bandType === 0xffff) { bands.push({ type: 'experimenter', rate, burstSize, experimenter: r.u32() }); continue; }
    }
    r.offset = start;
    bands.push({ type: 'unknown', bandType, raw: r.bytes(len) });
  }
  return { type: 'meter_mod', version, xid, command, flags, meterId, bands };
}

function decodeBundleControl(r: Reader, version: WireVersion, xid: number): OfMessage {
  const bundleId = r.u32();
  const controlType = fromTable(BUNDLE_CONTROL_TYPES, r.u16(), 'bundle control type');
  const flags = r.u16();
  const m: MessageOf<'bundle_control'> = { type: 'bundle_control', version, xid, bundleId, controlType, flags };
  if (r.remaining() > 0) m.properties = rest(r);
  return m;
}

function decodeBundleAdd(r: Reader, version: WireVersion, xid: number): OfMessage {
  const bundleId = r.u32();
  r.skip(2);
  const flags = r.u16();
  if (r.remaining() < OFP_HEADER_LEN) throw new CodecError('truncated', 'bundled message header');
  const innerLen = r.buf.readUInt16BE(r.offset + 2);
  if (innerLen < OFP_HEADER_LEN || innerLen > r.remaining()) {
    throw new CodecError('bad_length', `bundled message length ${innerLen} with ${r.remaining()} bytes left`);
  }
  const inner = decodeMessage(r.bytes(innerLen));
  if (!inner.ok) throw new InnerDecodeError(inner.error);
  const m: MessageOf<'bundle_add_message'> = { type: 'bundle_add_message', version, xid, bundleId, flags, message: inner.value };
  if (r.remaining() > 0) m.properties = rest(r);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Encode

// Messages are written straight into a shared slab and returned as views of it (as Node's own
// Buffer pool does), so a typical encode makes no copy and no allocation of its own.
const SLAB_SIZE = 16384;
const SLAB_MIN_FREE = 2048;
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabOffset = 0;
const slabWriter = new Writer(16);

/**
 * Encodes one message into a Buffer of its own bytes (a view that later encodes never touch).
 * Throws CodecError('bad_value') for values that cannot be encoded (unknown enum names,
 * out-of-range integers, malformed addresses) and CodecError('too_large') over 65535 bytes.
 */
export function encodeMessage(msg: OfMessage): Buffer {
  if (slabOffset > SLAB_SIZE - SLAB_MIN_FREE) {
    slab = Buffer.allocUnsafe(SLAB_SIZE);
    slabOffset = 0;
  }
  const start = slabOffset;
  slabWriter.attach(slab, start);
  writeMessage(slabWriter, msg); // on a throw, slabOffset is unchanged and the bytes are reused
  const end = slabWriter.offset;
  if (slabWriter.buffer !== slab) {
    // Outgrew the slab: the writer moved to a private buffer, which becomes the result.
    return slabWriter.buffer.subarray(start, end);
  }
  slabOffset = (end + 7) & ~7;
  return slab.subarray(start, end);
}

/** Appends one whole message (header included) to `w`. */
export function writeMessage(w: Writer, msg: OfMessage): void {
  const start = w.offset;
  w.u8(msg.version);
  w.u8(0); // type, patched below
  w.u16(0);
  w.u32(msg.xid);
  const type = writeBody(w, msg);
  w.patchU16(start + 2, w.offset - start);
  w.patchU8(start + 1, type); // known only after the body (bundles may be experimenter-wrapped)
}

function writeEnvelopeOnf(w: Writer, expType: number): void {
  w.u32(ONF_EXPERIMENTER_ID);
  w.u32(expType);
}

function writeBody(w: Writer, msg: OfMessage): number {
  const version = msg.version;
  switch (msg.type) {
    case 'hello': {
      const bits = msg.bitmapVersions ?? msg.versions;
      if (bits !== null) {
        const maxV = bits.reduce((a, b) => Math.max(a, b), 0);
        const words = new Array<number>(Math.floor(maxV / 32) + 1).fill(0);
        for (const v of bits) {
          if (!Number.isInteger(v) || v < 0 || v > 255) throw new CodecError('bad_value', `hello version ${v}`);
          words[v >>> 5] |= 1 << (v & 31);
        }
        const elemStart = w.offset;
        w.u16(OFPHET_VERSIONBITMAP);
        w.u16(4 + 4 * words.length);
        for (const x of words) w.u32(x >>> 0);
        w.padTo8(elemStart);
      }
      if (msg.elements) w.bytes(msg.elements);
      return OFPT.HELLO;
    }
    case 'error': {
      const t = errorTypeCode(msg.errType);
      w.u16(t);
      w.u16(msg.code);
      if (t === OFPET_EXPERIMENTER) w.u32(msg.experimenter ?? 0);
      w.bytes(msg.data);
      return OFPT.ERROR;
    }
    case 'echo_request': w.bytes(msg.data); return OFPT.ECHO_REQUEST;
    case 'echo_reply': w.bytes(msg.data); return OFPT.ECHO_REPLY;
    case 'experimenter': w.u32(msg.experimenter); w.u32(msg.expType); w.bytes(msg.data); return OFPT.EXPERIMENTER;
    case 'features_request': return OFPT.FEATURES_REQUEST;
    case 'features_reply':
      w.u64(msg.datapathId); w.u32(msg.nBuffers); w.u8(msg.nTables); w.u8(msg.auxiliaryId); w.u16(0);
      w.u32(msg.capabilities); w.u32(0);
      return OFPT.FEATURES_REPLY;
    case 'get_config_request': return OFPT.GET_CONFIG_REQUEST;
    case 'get_config_reply': w.u16(msg.flags); w.u16(msg.missSendLen); return OFPT.GET_CONFIG_REPLY;
    case 'set_config': w.u16(msg.flags); w.u16(msg.missSendLen); return OFPT.SET_CONFIG;
    case 'packet_in':
      w.u32(msg.bufferId); w.u16(msg.totalLen); w.u8(reasonCode(PACKET_IN_REASONS, msg.reason, 'packet-in reason'));
      w.u8(msg.tableId); w.u64(msg.cookie); writeMatch(w, msg.match); w.u16(0); w.bytes(msg.data);
      return OFPT.PACKET_IN;
    case 'flow_removed':
      if (version >= 6) {
        w.u8(msg.tableId); w.u8(reasonCode(FLOW_REMOVED_REASONS, msg.reason, 'flow-removed reason'));
        w.u16(msg.priority); w.u16(msg.idleTimeout); w.u16(msg.hardTimeout); w.u64(msg.cookie);
        writeMatch(w, msg.match);
        const statsStart = w.offset;
        w.u16(0); w.u16(FLOW_REMOVED15_STATS_LEN);
        w.u32(FLOW_REMOVED15_OXS[0]); w.u32(msg.durationSec); w.u32(msg.durationNsec);
        w.u32(FLOW_REMOVED15_OXS[1]); w.u64(msg.packetCount);
        w.u32(FLOW_REMOVED15_OXS[2]); w.u64(msg.byteCount);
        w.padTo8(statsStart);
        return OFPT.FLOW_REMOVED;
      }
      w.u64(msg.cookie); w.u16(msg.priority); w.u8(reasonCode(FLOW_REMOVED_REASONS, msg.reason, 'flow-removed reason'));
      w.u8(msg.tableId); w.u32(msg.durationSec); w.u32(msg.durationNsec); w.u16(msg.idleTimeout);
      w.u16(msg.hardTimeout); w.u64(msg.packetCount); w.u64(msg.byteCount); writeMatch(w, msg.match);
      return OFPT.FLOW_REMOVED;
    case 'port_status':
      w.u8(reasonCode(PORT_STATUS_REASONS, msg.reason, 'port-status reason')); w.zeros(7);
      writePort(w, msg.port, version);
      return OFPT.PORT_STATUS;
    case 'packet_out': {
      w.u32(msg.bufferId);
      let lenAt: number;
      if (version >= 6) {
        lenAt = w.offset;
        w.u16(0); w.u16(0);
        writeMatch(w, msg.match ?? [{ kind: 'basic', name: 'in_port', value: msg.inPort }]);
      } else {
        w.u32(msg.inPort);
        lenAt = w.offset;
        w.u16(0); w.zeros(6);
      }
      const actionsStart = w.offset;
      writeActions(w, msg.actions, version);
      w.patchU16(lenAt, w.offset - actionsStart);
      w.bytes(msg.data);
      return OFPT.PACKET_OUT;
    }
    case 'flow_mod':
      w.u64(msg.cookie); w.u64(msg.cookieMask); w.u8(msg.tableId);
      w.u8(toTable(FLOW_MOD_COMMANDS, msg.command, 'flow mod command'));
      w.u16(msg.idleTimeout); w.u16(msg.hardTimeout); w.u16(msg.priority); w.u32(msg.bufferId);
      w.u32(msg.outPort); w.u32(msg.outGroup); w.u16(msg.flags);
      w.u16(version >= 5 ? msg.importance ?? 0 : 0);
      writeMatch(w, msg.match);
      writeInstructions(w, msg.instructions, version);
      return OFPT.FLOW_MOD;
    case 'group_mod': return writeGroupMod(w, msg);
    case 'port_mod':
      w.u32(msg.portNo); w.u32(0); writeMac(w, msg.hwAddr); w.u16(0); w.u32(msg.config); w.u32(msg.mask);
      if (version >= 5) { w.u16(0); w.u16(8); w.u32(msg.advertise); } else { w.u32(msg.advertise); w.u32(0); }
      return OFPT.PORT_MOD;
    case 'table_mod': w.u8(msg.tableId); w.zeros(3); w.u32(msg.config); return OFPT.TABLE_MOD;
    case 'meter_mod':
      w.u16(toTable(METER_COMMANDS, msg.command, 'meter mod command')); w.u16(msg.flags); w.u32(msg.meterId);
      for (const b of msg.bands) {
        switch (b.type) {
          case 'drop': w.u16(1); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u32(0); break;
          case 'dscp_remark': w.u16(2); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u8(b.precLevel); w.zeros(3); break;
          case 'experimenter': w.u16(0xffff); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u32(b.experimenter); break;
          case 'unknown': w.bytes(b.raw); break;
        }
      }
      return OFPT.METER_MOD;
    case 'barrier_request': return OFPT.BARRIER_REQUEST;
    case 'barrier_reply': return OFPT.BARRIER_REPLY;
    case 'role_request':
    case 'role_reply':
      w.u32(toTable(ROLES, msg.role, 'controller role')); w.u32(0); w.u64(msg.generationId);
      return msg.type === 'role_request' ? OFPT.ROLE_REQUEST : OFPT.ROLE_REPLY;
    case 'get_async_request': return OFPT.GET_ASYNC_REQUEST;
    case 'get_async_reply':
    case 'set_async':
      if (version >= 5) throw new CodecError('bad_value', 'OpenFlow 1.4+ async config is not modelled');
      for (const x of [...msg.packetInMask, ...msg.portStatusMask, ...msg.flowRemovedMask]) w.u32(x);
      return msg.type === 'set_async' ? OFPT.SET_ASYNC : OFPT.GET_ASYNC_REPLY;
    case 'multipart_request': {
      const at = w.offset;
      w.u16(0); w.u16(msg.flags); w.u32(0);
      const mpType = writeMultipartRequestBody(w, msg.body, version);
      w.patchU16(at, mpType);
      return OFPT.MULTIPART_REQUEST;
    }
    case 'multipart_reply': {
      const at = w.offset;
      w.u16(0); w.u16(msg.flags); w.u32(0);
      const mpType = writeMultipartReplyBody(w, msg.body, version);
      w.patchU16(at, mpType);
      return OFPT.MULTIPART_REPLY;
    }
    case 'bundle_control': {
      const onf = version === 4;
      if (onf) writeEnvelopeOnf(w, ONFT13_BUNDLE_CONTROL);
      w.u32(msg.bundleId); w.u16(toTable(BUNDLE_CONTROL_TYPES, msg.controlType, 'bundle control type')); w.u16(msg.flags);
      if (msg.properties) w.bytes(msg.properties);
      return onf ? OFPT.EXPERIMENTER : OFPT.BUNDLE_CONTROL;
    }
    case 'bundle_add_message': {
      const onf = version === 4;
      if (onf) writeEnvelopeOnf(w, ONFT13_BUNDLE_ADD_MESSAGE);
      w.u32(msg.bundleId); w.u16(0); w.u16(msg.flags);
      writeMessage(w, msg.message);
      if (msg.properties) w.bytes(msg.properties);
      return onf ? OFPT.EXPERIMENTER : OFPT.BUNDLE_ADD_MESSAGE;
    }
    case 'raw': w.bytes(msg.body); return msg.msgType;
    default: {
      const never: never = msg;
      throw new CodecError('bad_value', `unknown message ${JSON.stringify(never)}`);
    }
  }
}

function writeGroupMod(w: Writer, msg: MessageOf<'group_mod'>): number {
  const version = msg.version;
  const cmd = toTable(GROUP_MOD_COMMANDS, msg.command, 'group mod command');
  if (version < 6 && cmd > 2) throw new CodecError('bad_value', `group mod command ${msg.command} needs OpenFlow 1.5`);
  w.u16(cmd);
  w.u8(toTable(GROUP_TYPES, msg.groupType, 'group type'));
  w.u8(0);
  w.u32(msg.groupId);
  if (version < 6) {
    writeBuckets(w, msg.buckets, version);
    return OFPT.GROUP_MOD;
  }
  const lenAt = w.offset;
  w.u16(0); w.u16(0);
  w.u32(msg.commandBucketId ?? OFPG15_BUCKET.ALL);
  const bucketsStart = w.offset;
  writeBuckets(w, msg.buckets, version, msg.groupType);
  w.patchU16(lenAt, w.offset - bucketsStart);
  for (const p of msg.properties ?? []) {
    if (p.type === 'unknown') { w.bytes(p.raw); continue; }
    const start = w.offset;
    w.u16(OFPGPT15_EXPERIMENTER); w.u16(0); w.u32(NTR_VENDOR_ID); w.u32(NTRT_SELECTION_METHOD); w.u32(0);
    const name = Buffer.from(p.method, 'latin1');
    if (name.length >= NTR_MAX_SELECTION_METHOD_LEN || name.includes(0)) {
      throw new CodecError('bad_value', `selection method "${p.method}" must be 1..15 bytes`);
    }
    w.bytes(name);
    w.zeros(NTR_MAX_SELECTION_METHOD_LEN - name.length);
    w.u64(p.param);
    writeOxmList(w, p.fields);
    w.patchU16(start + 2, w.offset - start);
    w.padTo8(start);
  }
  return OFPT.GROUP_MOD;
}
