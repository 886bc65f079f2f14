// Reads the Open vSwitch (Nicira) actions the fake table executes from their wire bytes, as a
// switch does: resubmit(,table), learn(...) and fin_timeout. The fake decodes the bytes rather
// than trusting any builder, so a flow installed through the codec behaves as the bytes say.
// Layouts follow Open vSwitch's lib/ofp-actions.c (nx_action_resubmit, nx_action_learn and its
// flow_mod_spec list, nx_action_fin_timeout).
import { NX_VENDOR_ID, writeAction } from '../../openflow/actions.js';
import { Writer } from '../../openflow/buf.js';
import type { Action, OxmBasicName } from '../../openflow/types.js';

/** A field named by an NXM or OXM header, with the bit range an action uses. */
export interface FieldRef {
  name: OxmBasicName;
  ofs: number;
  bits: number;
}

export type LearnSpecRead =
  | { kind: 'match'; dst: FieldRef; src: FieldRef }
  | { kind: 'match_value'; dst: FieldRef; value: bigint }
  | { kind: 'load'; dst: FieldRef; src: FieldRef }
  | { kind: 'load_value'; dst: FieldRef; value: bigint }
  | { kind: 'output'; src: FieldRef };

export interface LearnRead {
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  cookie: bigint;
  flags: number;
  table: number;
  finIdleTimeout: number;
  finHardTimeout: number;
  specs: LearnSpecRead[];
}

export type NxAction =
  | { nx: 'resubmit'; inPort: number; table: number }
  | { nx: 'learn'; learn: LearnRead }
  | { nx: 'fin_timeout'; idle: number; hard: number }
  | { nx: 'unsupported'; subtype: number };

/** NXAST_* subtypes. */
const NXAST = { RESUBMIT: 1, RESUBMIT_TABLE: 14, LEARN: 16, FIN_TIMEOUT: 19 } as const;

/** OpenFlow 1.0 IN_PORT (NX actions carry 16-bit ports); resubmit to it means "same in_port". */
const OFPP10_IN_PORT = 0xfff8;

/** NXM_OF_* (class 0) field numbers and OXM basic (class 0x8000) field numbers the fake names. */
const NXM0: Record<number, OxmBasicName> = {
  0: 'in_port', 1: 'eth_dst', 2: 'eth_src', 3: 'eth_type', 6: 'ip_proto', 7: 'ipv4_src', 8: 'ipv4_dst',
  9: 'tcp_src', 10: 'tcp_dst', 11: 'udp_src', 12: 'udp_dst', 15: 'arp_op', 16: 'arp_spa', 17: 'arp_tpa',
};
const OXM_BASIC: Record<number, OxmBasicName> = {
  0: 'in_port', 2: 'metadata', 3: 'eth_dst', 4: 'eth_src', 5: 'eth_type', 10: 'ip_proto', 11: 'ipv4_src', 12: 'ipv4_dst',
  13: 'tcp_src', 14: 'tcp_dst', 15: 'udp_src', 16: 'udp_dst', 21: 'arp_op', 22: 'arp_spa', 23: 'arp_tpa', 24: 'arp_sha', 25: 'arp_tha',
};

/** The field an NXM/OXM header names (class in bits 31..16, field in 15..9). */
export function fieldOfHeader(header: number): OxmBasicName {
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const name = cls === 0 ? NXM0[field] : cls === 0x8000 ? OXM_BASIC[field] : undefined;
  if (name === undefined) throw new RangeError(`fake switch: NXM/OXM header 0x${header.toString(16)} not modelled`);
  return name;
}

/**
 * The codec hands Open vSwitch's NX actions over typed (`nx_resubmit`, `nx_learn`, `nx_fin_timeout`);
 * the fake reads them from their bytes all the same: a typed one is encoded as the switch would
 * receive it. Other actions pass as they are.
 */
export function wireForm(a: Action): Action {
  if (a.type !== 'nx_resubmit' && a.type !== 'nx_learn' && a.type !== 'nx_fin_timeout') return a;
  const w = new Writer(256);
  writeAction(w, a);
  const bytes = w.finish();
  return { type: 'experimenter', experimenter: bytes.readUInt32BE(4), data: Buffer.from(bytes.subarray(8)) };
}

/** The Nicira action an experimenter action holds, or null for another experimenter. */
export function readNx(a: Extract<Action, { type: 'experimenter' }>): NxAction | null {
  if (a.experimenter !== NX_VENDOR_ID) return null;
  const d = a.data;
  const subtype = d.readUInt16BE(0);
  switch (subtype) {
    case NXAST.RESUBMIT:
    case NXAST.RESUBMIT_TABLE: {
      const port = d.readUInt16BE(2);
      return { nx: 'resubmit', inPort: port === OFPP10_IN_PORT ? -1 : port, table: subtype === NXAST.RESUBMIT ? 255 : d[4] };
    }
    case NXAST.FIN_TIMEOUT:
      return { nx: 'fin_timeout', idle: d.readUInt16BE(2), hard: d.readUInt16BE(4) };
    case NXAST.LEARN:
      return { nx: 'learn', learn: readLearn(d) };
    default:
      return { nx: 'unsupported', subtype };
  }
}

const SRC_IMMEDIATE = 1 << 13;
const DST_SHIFT = 11;
const DST = { MATCH: 0, LOAD: 1, OUTPUT: 2 } as const;

function readLearn(d: Buffer): LearnRead {
  const l: LearnRead = {
    idleTimeout: d.readUInt16BE(2), hardTimeout: d.readUInt16BE(4), priority: d.readUInt16BE(6), cookie: d.readBigUInt64BE(8),
    flags: d.readUInt16BE(16), table: d[18], finIdleTimeout: d.readUInt16BE(20), finHardTimeout: d.readUInt16BE(22), specs: [],
  };
  let o = 24;
  const ref = (): FieldRef => {
    const r = { name: fieldOfHeader(d.readUInt32BE(o)), ofs: d.readUInt16BE(o + 4), bits: 0 };
    o += 6;
    return r;
  };
  while (o + 2 <= d.length) {
    const h = d.readUInt16BE(o);
    if (h === 0) break; // padding: the spec list ends
    o += 2;
    const bits = h & 0x3ff;
    const dst = (h >> DST_SHIFT) & 3;
    let value: bigint | null = null;
    let src: FieldRef | null = null;
    if (h & SRC_IMMEDIATE) {
      const n = Math.ceil(bits / 16) * 2;
      value = BigInt(`0x${d.subarray(o, o + n).toString('hex') || '0'}`);
      o += n;
    } else {
      src = { ...ref(), bits };
    }
    if (dst === DST.OUTPUT) {
      if (src === null) throw new RangeError('fake switch: learn output from an immediate is not modelled');
      l.specs.push({ kind: 'output', src });
      continue;
    }
    const to = { ...ref(), bits };
    if (dst === DST.MATCH) l.specs.push(value !== null ? { kind: 'match_value', dst: to, value } : { kind: 'match', dst: to, src: src! });
    else l.specs.push(value !== null ? { kind: 'load_value', dst: to, value } : { kind: 'load', dst: to, src: src! });
  }
  return l;
}
