// Open vSwitch (Nicira) extensions the `ovs` switch profile uses: NXM field headers and the NX
// actions resubmit, learn and fin_timeout. They are typed actions (`nx_resubmit`, `nx_learn`,
// `nx_fin_timeout`) that openflow/actions.ts writes and reads like the others, as experimenter
// actions byte-exact with what a flow dump gives back. Encodings follow Open vSwitch's
// lib/ofp-actions.c and lib/learn.c; the unit tests check them against `ovs-ofctl ofp-print`.
import { CodecError, Reader, Writer } from './buf.js';
import { formatIpv4, formatMac } from './addr.js';
import { NXM_FIELDS, OXM_BASIC, OXM_VALUE_BYTES, oxmHeader, type NxmFieldName, type OxmValueKind } from './oxm-fields.js';
import { parseIpv4 } from './packet/addr.js';
import type { Action, LearnAction, LearnSpec, LearnValue, NxmField } from './types.js';

export type { LearnAction, LearnSpec, LearnValue, NxmField } from './types.js';

/** Open vSwitch (Nicira) experimenter id used by NX actions. */
export const NX_VENDOR_ID = 0x00002320;

/** NX action subtypes (lib/ofp-actions.c, enum ofp_raw_action_type). */
const NXAST = { RESUBMIT_TABLE: 14, LEARN: 16, FIN_TIMEOUT: 19 } as const;

/** OpenFlow 1.0 port numbers, which NX actions carry in 16 bits. */
const OFPP10_IN_PORT = 0xfff8;

const nxm = (name: NxmFieldName): NxmField => {
  const f = NXM_FIELDS[name];
  return { name, header: oxmHeader(f.oxmClass, f.code, f.kind), bits: OXM_VALUE_BYTES[f.kind] * 8 };
};

/** The NXM fields a learned connection entry matches and rewrites, from the one field table. */
export const NXM = {
  inPort: nxm('NXM_OF_IN_PORT'),
  ethDst: nxm('NXM_OF_ETH_DST'),
  ethType: nxm('NXM_OF_ETH_TYPE'),
  ipProto: nxm('NXM_OF_IP_PROTO'),
  ipSrc: nxm('NXM_OF_IP_SRC'),
  ipDst: nxm('NXM_OF_IP_DST'),
  tcpSrc: nxm('NXM_OF_TCP_SRC'),
  tcpDst: nxm('NXM_OF_TCP_DST'),
  udpSrc: nxm('NXM_OF_UDP_SRC'),
  udpDst: nxm('NXM_OF_UDP_DST'),
  /** OpenFlow's metadata (an OXM basic field: it has no NXM header of its own). Unlike Nicira
   * registers, Open vSwitch gives it back in flow dumps as sent, in OpenFlow 1.3 and 1.5 alike
   * (registers come back as 1.5 packet registers), so the reconciler sees what it installed. */
  metadata: { name: 'OXM_OF_METADATA', header: oxmHeader(0x8000, OXM_BASIC.metadata.code, OXM_BASIC.metadata.kind), bits: 64 } satisfies NxmField,
} as const;

const NXM_BY_HEADER = new Map<number, NxmField>(Object.values(NXM).map((f) => [f.header, f]));

export const NX_LEARN_F = { SEND_FLOW_REM: 1, DELETE_LEARNED: 2 } as const;

/** resubmit(,table). */
export function nxResubmit(table: number): Action {
  return { type: 'nx_resubmit', table };
}

/** fin_timeout(idle_timeout=…,hard_timeout=…). */
export function nxFinTimeout(idleTimeout: number, hardTimeout = 0): Action {
  return { type: 'nx_fin_timeout', idleTimeout, hardTimeout };
}

/** learn(...). */
export function nxLearn(l: LearnAction): Action {
  return { type: 'nx_learn', ...l };
}

export type NxAction = Extract<Action, { type: 'nx_resubmit' | 'nx_fin_timeout' | 'nx_learn' }>;

const SRC_IMMEDIATE = 1 << 13;
const DST_SHIFT = 11;
const DST_MATCH = 0;
const DST_LOAD = 1;
const DST_OUTPUT = 2;
const N_BITS_MASK = 0x3ff;

/** An immediate of `bits` bits as Open vSwitch wants it: big-endian in whole 16-bit units. */
function immediate(field: NxmField, v: LearnValue): Buffer {
  const bytes = field.bits / 8;
  const out = Buffer.alloc(Math.ceil(field.bits / 16) * 2);
  let value: Buffer;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** field.bits) throw new CodecError('bad_value', `${field.name}: ${v} does not fit in ${field.bits} bits`);
    value = Buffer.alloc(bytes);
    value.writeUIntBE(v, 0, bytes);
  } else if (bytes === 6) {
    const parts = v.split(':');
    if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new CodecError('bad_value', `${field.name}: bad MAC ${v}`);
    value = Buffer.from(parts.join(''), 'hex');
  } else {
    const n = parseIpv4(v);
    if (n === null || bytes !== 4) throw new CodecError('bad_value', `${field.name}: bad value ${v}`);
    value = Buffer.alloc(4);
    value.writeUInt32BE(n >>> 0, 0);
  }
  value.copy(out, out.length - bytes);
  return out;
}

/** Value kinds by NXM header (the table's), for reading immediates back. */
const KIND_BY_HEADER = new Map<number, OxmValueKind>([
  ...(Object.keys(NXM_FIELDS) as NxmFieldName[]).map((n): [number, OxmValueKind] => [nxm(n).header, NXM_FIELDS[n].kind]),
  [NXM.metadata.header, OXM_BASIC.metadata.kind],
]);

/** An immediate read back the way `immediate` takes it (MACs and IPv4 addresses as text), or
 * undefined for a value a LearnValue cannot hold (wider than 48 bits). */
function readImmediate(r: Reader, field: NxmField): LearnValue | undefined {
  const raw = r.bytes(Math.ceil(field.bits / 16) * 2);
  const bytes = field.bits / 8;
  const at = raw.length - bytes;
  const kind = KIND_BY_HEADER.get(field.header);
  if (kind === 'mac') return formatMac(raw, at);
  if (kind === 'ipv4') return formatIpv4(raw, at);
  return bytes <= 6 ? raw.readUIntBE(at, bytes) : undefined;
}

function writeLearnBody(w: Writer, l: LearnAction): void {
  w.u16(l.idleTimeout);
  w.u16(l.hardTimeout ?? 0);
  w.u16(l.priority);
  w.u64(l.cookie);
  w.u16(l.flags);
  w.u8(l.table);
  w.u8(0);
  w.u16(l.finIdleTimeout ?? 0);
  w.u16(l.finHardTimeout ?? 0);
  for (const s of l.specs) {
    switch (s.kind) {
      case 'match_field':
        w.u16(s.field.bits);
        w.u32(s.field.header); w.u16(0);
        w.u32(s.field.header); w.u16(0);
        break;
      case 'match_from':
        if (s.from.bits !== s.field.bits) throw new CodecError('bad_value', `learn: ${s.from.name} and ${s.field.name} differ in width`);
        w.u16(s.field.bits);
        w.u32(s.from.header); w.u16(0);
        w.u32(s.field.header); w.u16(0);
        break;
      case 'match_value':
        w.u16(SRC_IMMEDIATE | s.field.bits);
        w.bytes(immediate(s.field, s.value));
        w.u32(s.field.header); w.u16(0);
        break;
      case 'load_value':
        w.u16(SRC_IMMEDIATE | (DST_LOAD << DST_SHIFT) | s.field.bits);
        w.bytes(immediate(s.field, s.value));
        w.u32(s.field.header); w.u16(0);
        break;
      case 'output_field':
        w.u16((DST_OUTPUT << DST_SHIFT) | s.bits);
        w.u32(s.field.header); w.u16(s.ofs);
        break;
    }
  }
  // The spec list ends at the action's end; Open vSwitch pads with zeros (an all-zero header).
}

/** Writes a whole NX action: experimenter action header, NX subtype, body, zero padding to 8. */
export function writeNxAction(w: Writer, a: NxAction): void {
  const start = w.offset;
  w.u16(0xffff); // OFPAT_EXPERIMENTER
  w.u16(0);
  w.u32(NX_VENDOR_ID);
  switch (a.type) {
    case 'nx_resubmit':
      w.u16(NXAST.RESUBMIT_TABLE); w.u16(OFPP10_IN_PORT); w.u8(a.table); w.zeros(3);
      break;
    case 'nx_fin_timeout':
      w.u16(NXAST.FIN_TIMEOUT); w.u16(a.idleTimeout); w.u16(a.hardTimeout); w.zeros(2);
      break;
    case 'nx_learn':
      w.u16(NXAST.LEARN);
      writeLearnBody(w, a);
      break;
  }
  w.padTo8(start);
  w.patchU16(start + 2, w.offset - start);
}

function readLearn(r: Reader): NxAction | undefined {
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const cookie = r.u64();
  const flags = r.u16();
  const table = r.u8();
  r.skip(1);
  const finIdleTimeout = r.u16();
  const finHardTimeout = r.u16();
  const specs: LearnSpec[] = [];
  const field = (header: number): NxmField | undefined => NXM_BY_HEADER.get(header);
  while (r.remaining() >= 2) {
    const h = r.u16();
    if (h === 0) break; // padding
    const bits = h & N_BITS_MASK;
    const dst = (h >>> DST_SHIFT) & 3;
    if (h & SRC_IMMEDIATE) {
      if (dst === DST_OUTPUT) return undefined;
      const peek = r.offset + Math.ceil(bits / 16) * 2;
      if (peek + 6 > r.end) return undefined;
      const f = field(r.buf.readUInt32BE(peek));
      if (f === undefined || f.bits !== bits) return undefined;
      const value = readImmediate(r, f);
      if (value === undefined) return undefined;
      r.skip(6);
      specs.push({ kind: dst === DST_LOAD ? 'load_value' : 'match_value', field: f, value });
      continue;
    }
    const src = field(r.u32());
    const srcOfs = r.u16();
    if (src === undefined) return undefined;
    if (dst === DST_OUTPUT) { specs.push({ kind: 'output_field', field: src, ofs: srcOfs, bits }); continue; }
    if (dst !== DST_MATCH) return undefined; // a load from a field: not modelled
    const to = field(r.u32());
    const dstOfs = r.u16();
    if (to === undefined || srcOfs !== 0 || dstOfs !== 0 || bits !== to.bits || src.bits !== to.bits) return undefined;
    specs.push(src.header === to.header ? { kind: 'match_field', field: to } : { kind: 'match_from', field: to, from: src });
  }
  return {
    type: 'nx_learn', table, priority, idleTimeout,
    ...(hardTimeout !== 0 ? { hardTimeout } : {}),
    ...(finIdleTimeout !== 0 ? { finIdleTimeout } : {}),
    ...(finHardTimeout !== 0 ? { finHardTimeout } : {}),
    cookie, flags, specs,
  };
}

/**
 * Reads an NX action's `data` (after the experimenter id) as a typed action, or undefined when it
 * is one we do not model or written in a form we would not write the same way (it then stays an
 * experimenter action, byte-exact).
 */
export function readNxAction(data: Buffer): NxAction | undefined {
  if (data.length < 2) return undefined;
  const r = new Reader(data);
  let a: NxAction | undefined;
  try {
    switch (r.u16()) {
      case NXAST.RESUBMIT_TABLE: {
        if (r.u16() !== OFPP10_IN_PORT) return undefined;
        a = { type: 'nx_resubmit', table: r.u8() };
        break;
      }
      case NXAST.FIN_TIMEOUT:
        a = { type: 'nx_fin_timeout', idleTimeout: r.u16(), hardTimeout: r.u16() };
        break;
      case NXAST.LEARN:
        a = readLearn(r);
        break;
    }
  } catch (e) {
    if (e instanceof CodecError) return undefined;
    throw e;
  }
  if (a === undefined) return undefined;
  // Only a form we write back identically is taken (padding, reserved bits and offsets included).
  const w = new Writer(data.length + 16);
  try {
    writeNxAction(w, a);
  } catch (e) {
    if (e instanceof CodecError) return undefined;
    throw e;
  }
  const again = w.finish();
  return again.length === data.length + 8 && again.subarray(8).equals(data) ? a : undefined;
}
