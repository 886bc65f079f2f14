// Flow tables: FLOW_MOD (add, change, delete flows), FLOW_REMOVED (a flow expired or was deleted)
// and TABLE_MOD.
import type { Reader } from '../buf.js';
import { readInstructions, writeInstructions } from '../instructions.js';
import { readMatch, writeMatch } from '../oxm.js';
import { defineMessage } from '../registry.js';
import type { FlowModCommand, FlowRemovedReason, OfMessageMap, WireVersion } from '../types.js';
import { done, fromTable, reasonCode, reasonOf, toTable } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    flow_mod: MessageBase & {
      type: 'flow_mod'; cookie: bigint; cookieMask: bigint; tableId: number; command: FlowModCommand;
      idleTimeout: number; hardTimeout: number; priority: number; bufferId: number; outPort: number;
      outGroup: number; flags: number; match: Match; instructions: Instruction[];
      /** OpenFlow 1.4+: flow importance (decoded only when non-zero). */
      importance?: number;
    };
    flow_removed: MessageBase & {
      type: 'flow_removed'; cookie: bigint; priority: number; reason: FlowRemovedReason; tableId: number;
      durationSec: number; durationNsec: number; idleTimeout: number; hardTimeout: number;
      packetCount: bigint; byteCount: bigint; match: Match;
    };
    table_mod: MessageBase & { type: 'table_mod'; tableId: number; config: number };
  }
}

/** OFPFC_*, index = wire code. */
const FLOW_MOD_COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];
/** OFPRR_*, index = wire code. */
const FLOW_REMOVED_REASONS: readonly FlowRemovedReason[] = ['idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete', 'eviction'];

export const flowMod = defineMessage({
  type: 'flow_mod', code: 14, versions: [4, 5, 6],
  read(r, version, xid) {
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
    const m: OfMessageMap['flow_mod'] = {
      type: 'flow_mod', version, xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout,
      priority, bufferId, outPort, outGroup, flags, match, instructions,
    };
    if (version >= 5 && importance !== 0) m.importance = importance;
    return m;
  },
  write(w, msg) {
    const version = msg.version;
    w.u64(msg.cookie); w.u64(msg.cookieMask); w.u8(msg.tableId);
    w.u8(toTable(FLOW_MOD_COMMANDS, msg.command, 'flow mod command'));
    w.u16(msg.idleTimeout); w.u16(msg.hardTimeout); w.u16(msg.priority); w.u32(msg.bufferId);
    w.u32(msg.outPort); w.u32(msg.outGroup); w.u16(msg.flags);
    w.u16(version >= 5 ? msg.importance ?? 0 : 0);
    writeMatch(w, msg.match);
    writeInstructions(w, msg.instructions, version);
  },
});

// OpenFlow 1.5 ofp_stats: OXS TLVs of class 0x8002. Open vSwitch writes duration, packet count
// and byte count in a flow-removed, in that order; only that form is modelled (else raw).
const OXS_CLASS_BASIC = 0x8002;
const OXS_DURATION = 0;
const OXS_PACKET_COUNT = 4;
const OXS_BYTE_COUNT = 5;
const oxsHeader = (field: number, len: number) => ((OXS_CLASS_BASIC << 16) | (field << 9) | len) >>> 0;
const FLOW_REMOVED15_OXS = [oxsHeader(OXS_DURATION, 8), oxsHeader(OXS_PACKET_COUNT, 8), oxsHeader(OXS_BYTE_COUNT, 8)];
const FLOW_REMOVED15_STATS_LEN = 4 + 3 * 12;

function readFlowRemoved15(r: Reader, version: WireVersion, xid: number): OfMessageMap['flow_removed'] | undefined {
  const tableId = r.u8();
  const reason = reasonOf(FLOW_REMOVED_REASONS, r.u8());
  const priority = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const cookie = r.u64();
  const match = readMatch(r);
  r.skip(2); // ofp_stats.reserved
  if (r.u16() !== FLOW_REMOVED15_STATS_LEN) return undefined;
  const vals: bigint[] = [];
  for (const h of FLOW_REMOVED15_OXS) {
    if (r.u32() !== h) return undefined;
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

export const flowRemoved = defineMessage({
  type: 'flow_removed', code: 11, versions: [4, 5, 6],
  read(r, version, xid) {
    if (version >= 6) return readFlowRemoved15(r, version, xid);
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
  },
  write(w, msg) {
    const reason = reasonCode(FLOW_REMOVED_REASONS, msg.reason, 'flow-removed reason');
    if (msg.version >= 6) {
      w.u8(msg.tableId); w.u8(reason);
      w.u16(msg.priority); w.u16(msg.idleTimeout); w.u16(msg.hardTimeout); w.u64(msg.cookie);
      writeMatch(w, msg.match);
      const statsStart = w.offset;
      w.u16(0); w.u16(FLOW_REMOVED15_STATS_LEN);
      w.u32(FLOW_REMOVED15_OXS[0]); w.u32(msg.durationSec); w.u32(msg.durationNsec);
      w.u32(FLOW_REMOVED15_OXS[1]); w.u64(msg.packetCount);
      w.u32(FLOW_REMOVED15_OXS[2]); w.u64(msg.byteCount);
      w.padTo8(statsStart);
      return;
    }
    w.u64(msg.cookie); w.u16(msg.priority); w.u8(reason);
    w.u8(msg.tableId); w.u32(msg.durationSec); w.u32(msg.durationNsec); w.u16(msg.idleTimeout);
    w.u16(msg.hardTimeout); w.u64(msg.packetCount); w.u64(msg.byteCount); writeMatch(w, msg.match);
  },
});

export const tableMod = defineMessage({
  type: 'table_mod', code: 17, versions: [4, 5, 6],
  read(r, version, xid) {
    const tableId = r.u8();
    r.skip(3);
    const config = r.u32();
    if (version >= 5 && r.remaining() > 0) return undefined; // 1.4 table-mod properties not modelled
    done(r, 'table mod');
    return { type: 'table_mod', version, xid, tableId, config };
  },
  write(w, msg) { w.u8(msg.tableId); w.zeros(3); w.u32(msg.config); },
});

export const FLOW_MESSAGES = [flowMod, flowRemoved, tableMod] as const;
