// Open vSwitch (Nicira) extensions the `ovs` switch profile uses: NXM field headers and the NX
// actions resubmit, learn and fin_timeout, encoded as experimenter actions
// (openflow/actions.ts keeps them byte-exact, so what we send is what a flow dump gives back).
// Encodings follow Open vSwitch's lib/ofp-actions.c and lib/learn.c; the unit tests check every
// builder against `ovs-ofctl ofp-print`.
import { Writer } from './buf.js';
import { parseIpv4 } from './packet/addr.js';
import type { Action } from './types.js';
import { NX_VENDOR_ID } from './actions.js';

/** NX action subtypes (lib/ofp-actions.c, enum ofp_raw_action_type). */
const NXAST = { RESUBMIT_TABLE: 14, LEARN: 16, FIN_TIMEOUT: 19 } as const;

/** OpenFlow 1.0 port numbers, which NX actions carry in 16 bits. */
const OFPP10_IN_PORT = 0xfff8;

/** An NXM field: its 32-bit header (class, field, length) and width in bits. */
export interface NxmField {
  name: string;
  header: number;
  bits: number;
}

const nxm = (name: string, vendor: number, field: number, bytes: number): NxmField =>
  ({ name, header: ((vendor << 16) | (field << 9) | bytes) >>> 0, bits: bytes * 8 });

/** The NXM fields a learned connection entry matches and rewrites (lib/meta-flow.h). */
export const NXM = {
  inPort: nxm('NXM_OF_IN_PORT', 0, 0, 2),
  ethDst: nxm('NXM_OF_ETH_DST', 0, 1, 6),
  ethType: nxm('NXM_OF_ETH_TYPE', 0, 3, 2),
  ipProto: nxm('NXM_OF_IP_PROTO', 0, 6, 1),
  ipSrc: nxm('NXM_OF_IP_SRC', 0, 7, 4),
  ipDst: nxm('NXM_OF_IP_DST', 0, 8, 4),
  tcpSrc: nxm('NXM_OF_TCP_SRC', 0, 9, 2),
  tcpDst: nxm('NXM_OF_TCP_DST', 0, 10, 2),
  udpSrc: nxm('NXM_OF_UDP_SRC', 0, 11, 2),
  udpDst: nxm('NXM_OF_UDP_DST', 0, 12, 2),
  /** OpenFlow's metadata (an OXM basic field: it has no NXM header of its own). Unlike Nicira
   * registers, Open vSwitch gives it back in flow dumps as sent, in OpenFlow 1.3 and 1.5 alike
   * (registers come back as 1.5 packet registers), so the reconciler sees what it installed. */
  metadata: { name: 'OXM_OF_METADATA', header: 0x80000408, bits: 64 } satisfies NxmField,
} as const;

function nxAction(subtype: number, body: (w: Writer) => void): Action {
  const w = new Writer(256);
  w.u16(subtype);
  body(w);
  // Experimenter action = 8-byte header (type, len, experimenter) + data, padded to 8.
  const unpadded = w.offset + 8;
  w.zeros(((unpadded + 7) & ~7) - unpadded);
  return { type: 'experimenter', experimenter: NX_VENDOR_ID, data: Buffer.from(w.finish()) };
}

/** resubmit(,table): run the packet through `table` as if it arrived on its in_port. */
export function nxResubmit(table: number): Action {
  return nxAction(NXAST.RESUBMIT_TABLE, (w) => {
    w.u16(OFPP10_IN_PORT);
    w.u8(table);
    w.zeros(3);
  });
}

/** fin_timeout: shortens the idle timeout of the flow it runs in once TCP FIN or RST is seen. */
export function nxFinTimeout(idleSeconds: number, hardSeconds = 0): Action {
  return nxAction(NXAST.FIN_TIMEOUT, (w) => {
    w.u16(idleSeconds);
    w.u16(hardSeconds);
    w.zeros(2);
  });
}

/** One flow_mod_spec of a learn action: what the learned flow matches, loads or outputs. */
export type LearnSpec =
  /** Match the field on the value it has in the packet being learned from. */
  | { kind: 'match_field'; field: NxmField }
  /** Match `field` on the value `from` has in the packet being learned from (same width): how a
   * learned flow for the other direction swaps source and destination. */
  | { kind: 'match_from'; field: NxmField; from: NxmField }
  /** Match the field on a fixed value. */
  | { kind: 'match_value'; field: NxmField; value: LearnValue }
  /** The learned flow sets the field to a fixed value. */
  | { kind: 'load_value'; field: NxmField; value: LearnValue }
  /** The learned flow outputs to the port held (at learn time) in bits ofs..ofs+bits-1 of `field`. */
  | { kind: 'output_field'; field: NxmField; ofs: number; bits: number };

/** A learn immediate: a number, a MAC ("aa:bb:..") or an IPv4 address ("10.0.0.1"). */
export type LearnValue = number | string;

export const NX_LEARN_F = { SEND_FLOW_REM: 1, DELETE_LEARNED: 2 } as const;

export interface LearnAction {
  table: number;
  priority: number;
  idleTimeout: number;
  hardTimeout?: number;
  finIdleTimeout?: number;
  finHardTimeout?: number;
  cookie: bigint;
  /** NX_LEARN_F_* bits. */
  flags: number;
  specs: LearnSpec[];
}

const SRC_IMMEDIATE = 1 << 13;
const DST_LOAD = 1 << 11;
const DST_OUTPUT = 2 << 11;

/** An immediate of `bits` bits as Open vSwitch wants it: big-endian in whole 16-bit units. */
function immediate(field: NxmField, v: LearnValue): Buffer {
  const bytes = field.bits / 8;
  const out = Buffer.alloc(Math.ceil(field.bits / 16) * 2);
  let value: Buffer;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** field.bits) throw new RangeError(`${field.name}: ${v} does not fit in ${field.bits} bits`);
    value = Buffer.alloc(bytes);
    value.writeUIntBE(v, 0, bytes);
  } else if (bytes === 6) {
    const parts = v.split(':');
    if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new RangeError(`${field.name}: bad MAC ${v}`);
    value = Buffer.from(parts.join(''), 'hex');
  } else {
    const n = parseIpv4(v);
    if (n === null || bytes !== 4) throw new RangeError(`${field.name}: bad value ${v}`);
    value = Buffer.alloc(4);
    value.writeUInt32BE(n >>> 0, 0);
  }
  value.copy(out, out.length - bytes);
  return out;
}

/** learn(...): the switch adds (or refreshes) a flow built from the packet being processed. */
export function nxLearn(l: LearnAction): Action {
  return nxAction(NXAST.LEARN, (w) => {
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
          if (s.from.bits !== s.field.bits) throw new RangeError(`learn: ${s.from.name} and ${s.field.name} differ in width`);
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
          w.u16(SRC_IMMEDIATE | DST_LOAD | s.field.bits);
          w.bytes(immediate(s.field, s.value));
          w.u32(s.field.header); w.u16(0);
          break;
        case 'output_field':
          w.u16(DST_OUTPUT | s.bits);
          w.u32(s.field.header); w.u16(s.ofs);
          break;
      }
    }
    // The spec list ends at the action's end; Open vSwitch pads with zeros (an all-zero header).
  });
}
