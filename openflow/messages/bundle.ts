// Bundles: BUNDLE_CONTROL (open, close, commit, discard) and BUNDLE_ADD_MESSAGE (a message held
// until commit). On 1.4+ they have their own type codes; on 1.3 they travel inside the ONF
// experimenter (0x4f4e4600) as types 2300/2301, the extension Open vSwitch accepts.
import { CodecError } from '../buf.js';
import { ONF_EXPERIMENTER_ID } from '../errors.js';
import { OFP_HEADER_LEN } from '../framing.js';
import { defineMessage } from '../registry.js';
import type { BundleControlType, OfDecodeError, OfMessageMap } from '../types.js';
import { fromTable, rest, toTable } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    bundle_control: MessageBase & { type: 'bundle_control'; bundleId: number; controlType: BundleControlType; flags: number; properties?: Buffer };
    bundle_add_message: MessageBase & { type: 'bundle_add_message'; bundleId: number; flags: number; message: OfMessage; properties?: Buffer };
  }
}

/** ONF extension 230 (bundles on OpenFlow 1.3, as Open vSwitch accepts them). */
export const ONFT13_BUNDLE_CONTROL = 2300;
export const ONFT13_BUNDLE_ADD_MESSAGE = 2301;

/** OFPBCT_*, index = wire code. */
const BUNDLE_CONTROL_TYPES: readonly BundleControlType[] = [
  'open_request', 'open_reply', 'close_request', 'close_reply', 'commit_request', 'commit_reply',
  'discard_request', 'discard_reply',
];

/** A bundled message that does not decode: the outer message fails with the inner error. */
export class InnerDecodeError extends Error {
  constructor(readonly inner: OfDecodeError) {
    super(inner.message);
  }
}

export const bundleControl = defineMessage({
  type: 'bundle_control', code: 33, versions: [5, 6],
  experimenter: { id: ONF_EXPERIMENTER_ID, expType: ONFT13_BUNDLE_CONTROL, versions: [4] },
  read(r, version, xid) {
    const bundleId = r.u32();
    const controlType = fromTable(BUNDLE_CONTROL_TYPES, r.u16(), 'bundle control type');
    const flags = r.u16();
    const m: OfMessageMap['bundle_control'] = { type: 'bundle_control', version, xid, bundleId, controlType, flags };
    if (r.remaining() > 0) m.properties = rest(r);
    return m;
  },
  write(w, msg) {
    w.u32(msg.bundleId); w.u16(toTable(BUNDLE_CONTROL_TYPES, msg.controlType, 'bundle control type')); w.u16(msg.flags);
    if (msg.properties) w.bytes(msg.properties);
  },
});

export const bundleAddMessage = defineMessage({
  type: 'bundle_add_message', code: 34, versions: [5, 6],
  experimenter: { id: ONF_EXPERIMENTER_ID, expType: ONFT13_BUNDLE_ADD_MESSAGE, versions: [4] },
  read(r, version, xid, codec) {
    const bundleId = r.u32();
    r.skip(2);
    const flags = r.u16();
    if (r.remaining() < OFP_HEADER_LEN) throw new CodecError('truncated', 'bundled message header');
    const innerLen = r.buf.readUInt16BE(r.offset + 2);
    if (innerLen < OFP_HEADER_LEN || innerLen > r.remaining()) {
      throw new CodecError('bad_length', `bundled message length ${innerLen} with ${r.remaining()} bytes left`);
    }
    const inner = codec.decode(r.bytes(innerLen));
    if (!inner.ok) throw new InnerDecodeError(inner.error);
    const m: OfMessageMap['bundle_add_message'] = { type: 'bundle_add_message', version, xid, bundleId, flags, message: inner.value };
    if (r.remaining() > 0) m.properties = rest(r);
    return m;
  },
  write(w, msg, codec) {
    w.u32(msg.bundleId); w.u16(0); w.u16(msg.flags);
    codec.write(w, msg.message);
    if (msg.properties) w.bytes(msg.properties);
  },
});

export const BUNDLE_MESSAGES = [bundleControl, bundleAddMessage] as const;
