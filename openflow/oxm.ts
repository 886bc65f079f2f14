// OXM TLVs and struct ofp_match. Basic fields (class 0x8000) come from the one field table
// (openflow/oxm-fields.ts);
// every other class (Nicira NXM_0/NXM_1, ONF/experimenter 0xffff) keeps its raw payload so
// decode→encode reproduces the same bytes.
import { CodecError, type Reader, type Writer } from './buf.js';
import { readIpv4, readIpv6, readMac, writeIpv4, writeIpv6, writeMac } from './addr.js';
import { OXM_BASIC, OXM_VALUE_BYTES, type OxmBasicField, type OxmBasicName, type OxmValue, type OxmValueKind, type OxmValueOf } from './oxm-fields.js';
import type { Match, OxmField } from './types.js';

export const OXM_CLASS_NXM_0 = 0x0000;
export const OXM_CLASS_NXM_1 = 0x0001;
export const OXM_CLASS_OPENFLOW_BASIC = 0x8000;
export const OXM_CLASS_EXPERIMENTER = 0xffff;
export const OFPMT_OXM = 1;

/** A basic field's row of the table (openflow/oxm-fields.ts), with its name and value length. */
export interface OxmFieldDescriptor {
  name: OxmBasicName;
  /** oxm_field within class OFPXMC_OPENFLOW_BASIC. */
  code: number;
  kind: OxmValueKind;
  /** Value length in bytes (the mask, when present, has the same length). */
  length: number;
  /** Maskable per the OpenFlow spec. The codec also carries masks on other fields (Open vSwitch accepts some). */
  maskable: boolean;
}

/** Every OpenFlow basic OXM field (OpenFlow 1.3 plus the 1.4/1.5 additions), from the table. */
export const OXM_BASIC_FIELDS: readonly OxmFieldDescriptor[] = (Object.keys(OXM_BASIC) as OxmBasicName[]).map((name) => {
  const { code, kind, maskable } = OXM_BASIC[name];
  return { name, code, kind, length: OXM_VALUE_BYTES[kind], maskable };
});

const BY_CODE: (OxmFieldDescriptor | undefined)[] = new Array(128).fill(undefined);
const BY_NAME = new Map<string, OxmFieldDescriptor>();
for (const d of OXM_BASIC_FIELDS) {
  BY_CODE[d.code] = d;
  BY_NAME.set(d.name, d);
}

export function oxmDescriptor(name: OxmBasicName): OxmFieldDescriptor {
  const d = BY_NAME.get(name);
  if (!d) throw new CodecError('bad_value', `unknown OXM field ${String(name)}`);
  return d;
}

export function oxmDescriptorByCode(code: number): OxmFieldDescriptor | undefined {
  return BY_CODE[code];
}

/** A basic field, its value typed by its name: oxm('tcp_dst', 80), oxm('ipv4_src', '10.0.0.0', '255.0.0.0'). */
export function oxm<N extends OxmBasicName>(name: N, value: OxmValueOf<N>, mask?: OxmValueOf<N>): OxmField {
  // The signature ties value and mask to the name; TypeScript cannot follow a generic name into the union.
  return (mask === undefined ? { kind: 'basic', name, value } : { kind: 'basic', name, value, mask }) as OxmBasicField;
}

function readValue(r: Reader, kind: OxmValueKind): OxmValue {
  switch (kind) {
    case 'u8': return r.u8();
    case 'u16': return r.u16();
    case 'u24': { const hi = r.u8(); return hi * 65536 + r.u16(); }
    case 'u32': return r.u32();
    case 'u64': return r.u64();
    case 'mac': return readMac(r);
    case 'ipv4': return readIpv4(r);
    case 'ipv6': return readIpv6(r);
  }
}

function uint(v: OxmValue, max: number, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new CodecError('bad_value', `OXM ${name}: ${String(v)} is not an integer in 0..${max}`);
  }
  return v;
}

function writeValue(w: Writer, d: OxmFieldDescriptor, v: OxmValue): void {
  switch (d.kind) {
    case 'u8': w.u8(uint(v, 0xff, d.name)); return;
    case 'u16': w.u16(uint(v, 0xffff, d.name)); return;
    case 'u24': { const x = uint(v, 0xffffff, d.name); w.u8(x >>> 16); w.u16(x & 0xffff); return; }
    case 'u32': w.u32(uint(v, 0xffffffff, d.name)); return;
    case 'u64': {
      const x = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v;
      if (typeof x !== 'bigint' || x < 0n || x > 0xffffffffffffffffn) {
        throw new CodecError('bad_value', `OXM ${d.name}: ${String(v)} is not a 64-bit unsigned value`);
      }
      w.u64(x);
      return;
    }
    case 'mac': writeMac(w, v); return;
    case 'ipv4': writeIpv4(w, v); return;
    case 'ipv6': writeIpv6(w, v); return;
  }
}

/** One OXM TLV. */
export function readOxm(r: Reader): OxmField {
  const oxmClass = r.u16();
  const fh = r.u8();
  const len = r.u8();
  const field = fh >>> 1;
  const hasMask = (fh & 1) === 1;
  if (oxmClass === OXM_CLASS_OPENFLOW_BASIC) {
    const d = BY_CODE[field];
    if (d !== undefined && len === (hasMask ? 2 * d.length : d.length)) {
      // readValue reads the representation of d.kind, which is the type the table gives d.name.
      const value = readValue(r, d.kind);
      if (!hasMask) return { kind: 'basic', name: d.name, value } as OxmBasicField;
      return { kind: 'basic', name: d.name, value, mask: readValue(r, d.kind) } as OxmBasicField;
    }
  }
  return { kind: 'other', oxmClass, field, hasMask, payload: r.bytes(len) };
}

export function writeOxm(w: Writer, fld: OxmField): void {
  if (fld.kind === 'basic') {
    const d = BY_NAME.get(fld.name);
    if (d === undefined) throw new CodecError('bad_value', `unknown OXM field ${String(fld.name)}`);
    const masked = fld.mask !== undefined;
    w.u16(OXM_CLASS_OPENFLOW_BASIC);
    w.u8((d.code << 1) | (masked ? 1 : 0));
    w.u8(masked ? 2 * d.length : d.length);
    writeValue(w, d, fld.value);
    if (masked) writeValue(w, d, fld.mask as OxmValue);
    return;
  }
  const { oxmClass, field, hasMask, payload } = fld;
  if (oxmClass < 0 || oxmClass > 0xffff || field < 0 || field > 127 || payload.length > 255) {
    throw new CodecError('bad_value', `OXM class ${oxmClass} field ${field} (${payload.length} bytes) cannot be encoded`);
  }
  w.u16(oxmClass);
  w.u8((field << 1) | (hasMask ? 1 : 0));
  w.u8(payload.length);
  w.bytes(payload);
}

/** A sequence of OXM TLVs filling exactly the reader (e.g. set_field payloads, selection-method fields). */
export function readOxmList(r: Reader): Match {
  const out: Match = [];
  while (r.remaining() > 0) out.push(readOxm(r));
  return out;
}

export function writeOxmList(w: Writer, fields: Match): void {
  for (let i = 0; i < fields.length; i++) writeOxm(w, fields[i]);
}

/** Whole struct ofp_match: type OXM, length (without padding), OXM TLVs, zero padding to 8. */
export function readMatch(r: Reader): Match {
  const type = r.u16();
  const length = r.u16();
  if (type !== OFPMT_OXM) throw new CodecError('bad_value', `match type ${type} is not OXM`);
  if (length < 4) throw new CodecError('bad_length', `match length ${length} < 4`);
  const fields = readOxmList(r.sub(length - 4));
  r.skip(((length + 7) & ~7) - length);
  return fields;
}

export function writeMatch(w: Writer, m: Match): void {
  const start = w.offset;
  w.u16(OFPMT_OXM);
  w.u16(0);
  writeOxmList(w, m);
  w.patchU16(start + 2, w.offset - start);
  w.padTo8(start);
}

/** The value of a basic field in a match (the first, unmasked or not), if present. */
export function matchValue<N extends OxmBasicName>(m: Match, name: N): OxmValueOf<N> | undefined {
  // A basic field named N carries a value of N's type (decode and the field type both guarantee it).
  for (const f of m) if (f.kind === 'basic' && f.name === name) return f.value as OxmValueOf<N>;
  return undefined;
}

/** The packet's ingress port from a packet-in's match. */
export function inPortOf(m: Match): number | undefined {
  const v = matchValue(m, 'in_port');
  return typeof v === 'number' ? v : undefined;
}
