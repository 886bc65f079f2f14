// Whole OpenFlow messages: header + body, wire versions 4 (1.3), 5 (1.4) and 6 (1.5). Each message
// is declared once in its family's file under openflow/messages/ (type code, versions, read and
// write side by side); this module dispatches on the registry built from those declarations.
// Where a 1.4/1.5 layout differs and is not modelled, the message decodes as `raw` rather than
// being misread. decodeMessage never throws.
import { CodecError, Reader, Writer } from './buf.js';
import { OFP_HEADER_LEN } from './framing.js';
import { buildRegistry, experimenterKey, type InnerCodec, type OfptTable } from './registry.js';
import type { DecodeResult, OfDecodeErrorKind, OfMessage, OfMessageMap, WireVersion } from './types.js';
import { BARRIER_MESSAGES } from './messages/barrier.js';
import { BUNDLE_MESSAGES, InnerDecodeError } from './messages/bundle.js';
import { CONFIG_MESSAGES } from './messages/config.js';
import { ECHO_MESSAGES } from './messages/echo.js';
import { ERROR_MESSAGES } from './messages/error.js';
import { EXPERIMENTER_MESSAGES, OFPT_EXPERIMENTER } from './messages/experimenter.js';
import { FLOW_MESSAGES } from './messages/flow.js';
import { GROUP_MESSAGES } from './messages/group.js';
import { HANDSHAKE_MESSAGES } from './messages/handshake.js';
import { METER_MESSAGES } from './messages/meter.js';
import { MULTIPART_MESSAGES } from './messages/multipart.js';
import { PACKET_MESSAGES } from './messages/packet.js';
import { PORT_MESSAGES } from './messages/port.js';
import { ROLE_MESSAGES } from './messages/role.js';

export { ONFT13_BUNDLE_ADD_MESSAGE, ONFT13_BUNDLE_CONTROL } from './messages/bundle.js';
export { NTR_VENDOR_ID, NTRT_SELECTION_METHOD } from './messages/group.js';

/** Every declared message, family by family. */
export const MESSAGE_DECLARATIONS = [
  ...HANDSHAKE_MESSAGES, ...ERROR_MESSAGES, ...ECHO_MESSAGES, ...EXPERIMENTER_MESSAGES, ...CONFIG_MESSAGES,
  ...PACKET_MESSAGES, ...FLOW_MESSAGES, ...GROUP_MESSAGES, ...PORT_MESSAGES, ...METER_MESSAGES,
  ...MULTIPART_MESSAGES, ...BARRIER_MESSAGES, ...ROLE_MESSAGES, ...BUNDLE_MESSAGES,
] as const;

// A message type in OfMessageMap without a declaration would neither decode nor encode: refuse to compile.
type Undeclared = Exclude<keyof OfMessageMap, (typeof MESSAGE_DECLARATIONS)[number]['type']>;
const everyMessageDeclared: [Undeclared] extends [never] ? true : Undeclared = true;
void everyMessageDeclared;

const REGISTRY = buildRegistry(MESSAGE_DECLARATIONS);
const BY_CODE = REGISTRY.byCode;
const BY_TYPE = REGISTRY.byType;

/** OFPT_* message type codes, from the declarations: OFPT.FLOW_MOD === 14. */
export const OFPT = Object.fromEntries(MESSAGE_DECLARATIONS.map((d) => [d.type.toUpperCase(), d.code])) as OfptTable<typeof MESSAGE_DECLARATIONS>;

// A literal (typed as the declaration's code, so it cannot drift): V8 folds it into the compare,
// where a load from the derived OFPT object stays a load per message.
const OFPT_HELLO: typeof OFPT.HELLO = 0;

const INNER: InnerCodec = { decode: (buf) => decodeMessage(buf), write: (w, msg) => writeMessage(w, msg) };

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
  if (type !== OFPT_HELLO && (version < 4 || version > 6)) {
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

// Kept small on purpose: V8 inlines decodeBody into decodeMessage (and that into the connection's
// read loop) within one bytecode budget per optimized function. The rare branches live in their
// own functions so that the budget goes to the hot message's read (a packet-in and its Reader
// calls), as the old one-function switch's own compile did.
function decodeBody(r: Reader, version: WireVersion, type: number, xid: number): OfMessage {
  if (type === OFPT_EXPERIMENTER) {
    const m = decodeExperimenter(r, version, xid);
    if (m !== undefined) return m;
  }
  const e = BY_CODE[type];
  if (e !== undefined && (e.versions >>> version) & 1) {
    const m = e.read(r, version, xid, INNER);
    if (m !== undefined) return m;
  }
  return raw(r, version, type, xid);
}

/** An experimenter message some declaration carries on this version (1.3 bundles) is that message. */
function decodeExperimenter(r: Reader, version: WireVersion, xid: number): OfMessage | undefined {
  if (r.remaining() < 8) return undefined;
  const e = REGISTRY.byExperimenter.get(experimenterKey(r.buf.readUInt32BE(r.offset), r.buf.readUInt32BE(r.offset + 4)));
  if (e === undefined || !((e.experimenterVersions >>> version) & 1)) return undefined;
  r.skip(8);
  const m = e.read(r, version, xid, INNER);
  if (m === undefined) r.offset = OFP_HEADER_LEN;
  return m;
}

function raw(r: Reader, version: WireVersion, type: number, xid: number): OfMessage {
  return { type: 'raw', version, xid, msgType: type, body: r.buf.subarray(OFP_HEADER_LEN, r.end) };
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
 * out-of-range integers, malformed addresses, a message its version does not have) and
 * CodecError('too_large') over 65535 bytes.
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
  w.patchU8(start + 1, type);
}

/** Writes the body; returns the header's type code. */
function writeBody(w: Writer, msg: OfMessage): number {
  if (msg.type === 'raw') {
    w.bytes(msg.body);
    return msg.msgType;
  }
  const e = BY_TYPE.get(msg.type);
  if (e === undefined) throw new CodecError('bad_value', `unknown message ${JSON.stringify(msg)}`);
  if ((e.versions >>> msg.version) & 1) {
    e.write(w, msg, INNER);
    return e.code;
  }
  if ((e.experimenterVersions >>> msg.version) & 1) {
    w.u32(e.experimenterId);
    w.u32(e.experimenterType);
    e.write(w, msg, INNER);
    return OFPT_EXPERIMENTER;
  }
  throw new CodecError('bad_value', `${msg.type} is not part of OpenFlow wire version ${msg.version}`);
}
