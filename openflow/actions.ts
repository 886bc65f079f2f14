// OpenFlow 1.3 action lists. Open vSwitch's NX actions resubmit, learn and fin_timeout are typed
// (openflow/nicira.ts reads and writes them); other experimenter actions and any action type or
// length we don't model are kept byte-exact.
import { CodecError, type Reader, type Writer } from './buf.js';
import { NX_VENDOR_ID, readNxAction, writeNxAction } from './nicira.js';
import { readOxm, writeOxm } from './oxm.js';
import { readTlvList, writeExperimenterTlv, writeRawTlv } from './tlv-list.js';
import type { Action, WireVersion } from './types.js';

export const OFPAT = {
  OUTPUT: 0, COPY_TTL_OUT: 11, COPY_TTL_IN: 12, SET_MPLS_TTL: 15, DEC_MPLS_TTL: 16, PUSH_VLAN: 17,
  POP_VLAN: 18, PUSH_MPLS: 19, POP_MPLS: 20, SET_QUEUE: 21, GROUP: 22, SET_NW_TTL: 23, DEC_NW_TTL: 24,
  SET_FIELD: 25, PUSH_PBB: 26, POP_PBB: 27, EXPERIMENTER: 0xffff,
} as const;

export { NX_VENDOR_ID } from './nicira.js';

function readOne(r: Reader, atype: number, alen: number, start: number): Action {
  switch (atype) {
    case OFPAT.OUTPUT:
      if (alen !== 16) break;
      { const port = r.u32(); const maxLen = r.u16(); r.skip(6); return { type: 'output', port, maxLen }; }
    case OFPAT.COPY_TTL_OUT: if (alen !== 8) break; r.skip(4); return { type: 'copy_ttl_out' };
    case OFPAT.COPY_TTL_IN: if (alen !== 8) break; r.skip(4); return { type: 'copy_ttl_in' };
    case OFPAT.SET_MPLS_TTL: if (alen !== 8) break; { const ttl = r.u8(); r.skip(3); return { type: 'set_mpls_ttl', ttl }; }
    case OFPAT.DEC_MPLS_TTL: if (alen !== 8) break; r.skip(4); return { type: 'dec_mpls_ttl' };
    case OFPAT.PUSH_VLAN: if (alen !== 8) break; { const ethertype = r.u16(); r.skip(2); return { type: 'push_vlan', ethertype }; }
    case OFPAT.POP_VLAN: if (alen !== 8) break; r.skip(4); return { type: 'pop_vlan' };
    case OFPAT.PUSH_MPLS: if (alen !== 8) break; { const ethertype = r.u16(); r.skip(2); return { type: 'push_mpls', ethertype }; }
    case OFPAT.POP_MPLS: if (alen !== 8) break; { const ethertype = r.u16(); r.skip(2); return { type: 'pop_mpls', ethertype }; }
    case OFPAT.SET_QUEUE: if (alen !== 8) break; return { type: 'set_queue', queueId: r.u32() };
    case OFPAT.GROUP: if (alen !== 8) break; return { type: 'group', groupId: r.u32() };
    case OFPAT.SET_NW_TTL: if (alen !== 8) break; { const ttl = r.u8(); r.skip(3); return { type: 'set_nw_ttl', ttl }; }
    case OFPAT.DEC_NW_TTL: if (alen !== 8) break; r.skip(4); return { type: 'dec_nw_ttl' };
    case OFPAT.SET_FIELD: {
      if (alen < 8) break;
      const body = r.sub(alen - 4);
      const oxmLen = body.buf[body.offset + 3];
      // Only the canonical padding re-encodes to the same bytes; anything else stays raw.
      if (((8 + oxmLen + 7) & ~7) !== alen) { r.offset = start; break; }
      const field = readOxm(body);
      return { type: 'set_field', field };
    }
    case OFPAT.PUSH_PBB: if (alen !== 8) break; { const ethertype = r.u16(); r.skip(2); return { type: 'push_pbb', ethertype }; }
    case OFPAT.POP_PBB: if (alen !== 8) break; r.skip(4); return { type: 'pop_pbb' };
    case OFPAT.EXPERIMENTER: {
      const experimenter = r.u32();
      const data = r.bytes(alen - 8);
      // Open vSwitch's NX actions we model are typed (openflow/nicira.ts); the rest stay raw.
      return (experimenter === NX_VENDOR_ID ? readNxAction(data) : undefined) ?? { type: 'experimenter', experimenter, data };
    }
  }
  r.offset = start;
  return { type: 'unknown', actionType: atype, raw: r.bytes(alen) };
}

export function readActions(r: Reader, len: number, _version: WireVersion): Action[] {
  return readTlvList(r, len, 'action', readOne);
}

function simple(w: Writer, type: number): void {
  w.u16(type); w.u16(8); w.u32(0);
}

function withU16(w: Writer, type: number, v: number): void {
  w.u16(type); w.u16(8); w.u16(v); w.u16(0);
}

function withU8(w: Writer, type: number, v: number): void {
  w.u16(type); w.u16(8); w.u8(v); w.u8(0); w.u16(0);
}

function withU32(w: Writer, type: number, v: number): void {
  w.u16(type); w.u16(8); w.u32(v);
}

export function writeAction(w: Writer, a: Action): void {
  switch (a.type) {
    case 'output': w.u16(OFPAT.OUTPUT); w.u16(16); w.u32(a.port); w.u16(a.maxLen); w.zeros(6); return;
    case 'copy_ttl_out': simple(w, OFPAT.COPY_TTL_OUT); return;
    case 'copy_ttl_in': simple(w, OFPAT.COPY_TTL_IN); return;
    case 'set_mpls_ttl': withU8(w, OFPAT.SET_MPLS_TTL, a.ttl); return;
    case 'dec_mpls_ttl': simple(w, OFPAT.DEC_MPLS_TTL); return;
    case 'push_vlan': withU16(w, OFPAT.PUSH_VLAN, a.ethertype); return;
    case 'pop_vlan': simple(w, OFPAT.POP_VLAN); return;
    case 'push_mpls': withU16(w, OFPAT.PUSH_MPLS, a.ethertype); return;
    case 'pop_mpls': withU16(w, OFPAT.POP_MPLS, a.ethertype); return;
    case 'set_queue': withU32(w, OFPAT.SET_QUEUE, a.queueId); return;
    case 'group': withU32(w, OFPAT.GROUP, a.groupId); return;
    case 'set_nw_ttl': withU8(w, OFPAT.SET_NW_TTL, a.ttl); return;
    case 'dec_nw_ttl': simple(w, OFPAT.DEC_NW_TTL); return;
    case 'set_field': {
      const start = w.offset;
      w.u16(OFPAT.SET_FIELD);
      w.u16(0);
      writeOxm(w, a.field);
      w.padTo8(start);
      w.patchU16(start + 2, w.offset - start);
      return;
    }
    case 'push_pbb': withU16(w, OFPAT.PUSH_PBB, a.ethertype); return;
    case 'pop_pbb': simple(w, OFPAT.POP_PBB); return;
    case 'nx_resubmit':
    case 'nx_fin_timeout':
    case 'nx_learn':
      writeNxAction(w, a);
      return;
    case 'experimenter': writeExperimenterTlv(w, OFPAT.EXPERIMENTER, a.experimenter, a.data, 'action'); return;
    case 'unknown': writeRawTlv(w, a.raw, 'action'); return;
    default: {
      const never: never = a;
      throw new CodecError('bad_value', `unknown action ${JSON.stringify(never)}`);
    }
  }
}

export function writeActions(w: Writer, actions: Action[], _version: WireVersion): void {
  for (let i = 0; i < actions.length; i++) writeAction(w, actions[i]);
}
