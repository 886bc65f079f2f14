// OFPT_ERROR: type, code (named where the spec or Open vSwitch names it) and the offending bytes.
import { defineMessage } from '../registry.js';
import { errorCodeName, errorTypeCode, errorTypeName, OFPET_EXPERIMENTER } from '../errors.js';
import { rest } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    error: MessageBase & { type: 'error'; errType: ErrorTypeName | number; code: number; codeName?: string; data: Buffer; experimenter?: number };
  }
}

export const error = defineMessage({
  type: 'error', code: 1, versions: [4, 5, 6],
  read(r, version, xid) {
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
  },
  write(w, msg) {
    const t = errorTypeCode(msg.errType);
    w.u16(t);
    w.u16(msg.code);
    if (t === OFPET_EXPERIMENTER) w.u32(msg.experimenter ?? 0);
    w.bytes(msg.data);
  },
});

export const ERROR_MESSAGES = [error] as const;
