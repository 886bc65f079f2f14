// Meters: METER_MOD (rate limiters with drop, DSCP remark or experimenter bands).
import { CodecError } from '../buf.js';
import { defineMessage } from '../registry.js';
import type { OfMessageMap } from '../types.js';
import { fromTable, toTable } from './body.js';

export type MeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  | { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number }
  | { type: 'experimenter'; rate: number; burstSize: number; experimenter: number }
  | { type: 'unknown'; bandType: number; raw: Buffer };

declare module '../types.js' {
  interface OfMessageMap {
    meter_mod: MessageBase & { type: 'meter_mod'; command: 'add' | 'modify' | 'delete'; flags: number; meterId: number; bands: MeterBand[] };
  }
}

/** OFPMC_*, index = wire code. */
const METER_COMMANDS = ['add', 'modify', 'delete'] as const;
/** OFPMBT_*. */
const OFPMBT = { DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff } as const;

export const meterMod = defineMessage({
  type: 'meter_mod', code: 29, versions: [4, 5, 6],
  read(r, version, xid) {
    const command = fromTable(METER_COMMANDS, r.u16(), 'meter mod command');
    const flags = r.u16();
    const meterId = r.u32();
    const bands: OfMessageMap['meter_mod']['bands'] = [];
    while (r.remaining() > 0) {
      const start = r.offset;
      const bandType = r.u16();
      const len = r.u16();
      if (len < 4 || len - 4 > r.remaining()) throw new CodecError('bad_length', `meter band length ${len}`);
      if (len === 16) {
        const rate = r.u32();
        const burstSize = r.u32();
        if (bandType === OFPMBT.DROP) { r.skip(4); bands.push({ type: 'drop', rate, burstSize }); continue; }
        if (bandType === OFPMBT.DSCP_REMARK) { const precLevel = r.u8(); r.skip(3); bands.push({ type: 'dscp_remark', rate, burstSize, precLevel }); continue; }
        if (bandType === OFPMBT.EXPERIMENTER) { bands.push({ type: 'experimenter', rate, burstSize, experimenter: r.u32() }); continue; }
      }
      r.offset = start;
      bands.push({ type: 'unknown', bandType, raw: r.bytes(len) });
    }
    return { type: 'meter_mod', version, xid, command, flags, meterId, bands };
  },
  write(w, msg) {
    w.u16(toTable(METER_COMMANDS, msg.command, 'meter mod command')); w.u16(msg.flags); w.u32(msg.meterId);
    for (const b of msg.bands) {
      switch (b.type) {
        case 'drop': w.u16(OFPMBT.DROP); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u32(0); break;
        case 'dscp_remark': w.u16(OFPMBT.DSCP_REMARK); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u8(b.precLevel); w.zeros(3); break;
        case 'experimenter': w.u16(OFPMBT.EXPERIMENTER); w.u16(16); w.u32(b.rate); w.u32(b.burstSize); w.u32(b.experimenter); break;
        case 'unknown': w.bytes(b.raw); break;
      }
    }
  },
});

export const METER_MESSAGES = [meterMod] as const;
