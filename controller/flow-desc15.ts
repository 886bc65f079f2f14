// STOPGAP until the codec models it: OpenFlow 1.5 OFPMP_FLOW_DESC reply records (ofp_flow_desc
// with OXS statistics), which the codec returns as { kind: 'raw', mpType: 1 }. Built from the
// codec's own Reader/readMatch/readInstructions; only the fixed fields and OXS stats are read here.
import { Reader } from '../openflow/buf.js';
import { readInstructions } from '../openflow/instructions.js';
import { readMatch } from '../openflow/oxm.js';
import type { FlowStats, MultipartReplyBody } from '../openflow/types.js';

const OFPMP_FLOW_DESC = 1;
const OXS_CLASS_OPENFLOW_BASIC = 0x8002;
const OXS = { DURATION: 0, PACKET_COUNT: 4, BYTE_COUNT: 5 } as const;

/** Parses one reply body; returns null when it is malformed (callers keep the raw part then). */
export function decodeFlowDesc15(body: Buffer): FlowStats[] | null {
  try {
    const out: FlowStats[] = [];
    const r = new Reader(body);
    while (r.remaining() > 0) {
      const start = r.offset;
      const len = r.u16();
      if (len < 24 || start + len > body.length) return null;
      const rec = new Reader(body, start + 2, start + len);
      rec.skip(2);
      const tableId = rec.u8();
      rec.skip(1);
      const priority = rec.u16();
      const idleTimeout = rec.u16();
      const hardTimeout = rec.u16();
      const flags = rec.u16();
      rec.skip(2); // importance
      const cookie = rec.u64();
      const match = readMatch(rec);
      const statsStart = rec.offset;
      rec.skip(2);
      const statsLen = rec.u16();
      let durationSec = 0, durationNsec = 0, packetCount = 0n, byteCount = 0n;
      const stats = new Reader(body, rec.offset, statsStart + statsLen);
      while (stats.remaining() >= 4) {
        const cls = stats.u16();
        const field = stats.u8() >>> 1;
        const flen = stats.u8();
        const v = stats.sub(flen);
        if (cls !== OXS_CLASS_OPENFLOW_BASIC) continue;
        if (field === OXS.DURATION && flen === 8) { durationSec = v.u32(); durationNsec = v.u32(); }
        else if (field === OXS.PACKET_COUNT && flen === 8) packetCount = v.u64();
        else if (field === OXS.BYTE_COUNT && flen === 8) byteCount = v.u64();
      }
      rec.offset = statsStart + ((statsLen + 7) & ~7);
      const instructions = readInstructions(rec, rec.remaining(), 6);
      out.push({ tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match, instructions });
      r.offset = start + len;
    }
    return out;
  } catch {
    return null;
  }
}

/** Replaces raw 1.5 flow-desc parts by decoded 'flow' parts. */
export function normalizeFlowParts(parts: MultipartReplyBody[]): MultipartReplyBody[] {
  return parts.map((p) => {
    if (p.kind !== 'raw' || p.mpType !== OFPMP_FLOW_DESC) return p;
    const flows = decodeFlowDesc15(p.body);
    return flows ? { kind: 'flow', flows } : p;
  });
}
