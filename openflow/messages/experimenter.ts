// OFPT_EXPERIMENTER messages nobody declared under their experimenter id and type (those that
// are, like the 1.3 ONF bundles, decode as themselves): id, type and raw payload.
import { defineMessage } from '../registry.js';
import { rest } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    experimenter: MessageBase & { type: 'experimenter'; experimenter: number; expType: number; data: Buffer };
  }
}

export const OFPT_EXPERIMENTER = 4;

export const experimenter = defineMessage({
  type: 'experimenter', code: OFPT_EXPERIMENTER, versions: [4, 5, 6],
  read(r, version, xid) {
    const experimenter = r.u32();
    const expType = r.u32();
    return { type: 'experimenter', version, xid, experimenter, expType, data: rest(r) };
  },
  write(w, msg) { w.u32(msg.experimenter); w.u32(msg.expType); w.bytes(msg.data); },
});

export const EXPERIMENTER_MESSAGES = [experimenter] as const;
