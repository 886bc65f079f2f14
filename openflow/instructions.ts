// OpenFlow 1.3 instructions; experimenter and unknown ones are kept byte-exact.
import { CodecError, type Reader, type Writer } from './buf.js';
import { readActions, writeActions } from './actions.js';
import { readTlvList, writeExperimenterTlv, writeRawTlv } from './tlv-list.js';
import type { Action, Instruction, WireVersion } from './types.js';

export const OFPIT = {
  GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6,
  EXPERIMENTER: 0xffff,
} as const;

function readOne(r: Reader, itype: number, ilen: number, start: number, version: WireVersion): Instruction {
  switch (itype) {
    case OFPIT.GOTO_TABLE:
      if (ilen !== 8) break;
      { const tableId = r.u8(); r.skip(3); return { type: 'goto_table', tableId }; }
    case OFPIT.WRITE_METADATA:
      if (ilen !== 24) break;
      { r.skip(4); const metadata = r.u64(); const mask = r.u64(); return { type: 'write_metadata', metadata, mask }; }
    case OFPIT.WRITE_ACTIONS:
    case OFPIT.APPLY_ACTIONS: {
      r.skip(4);
      const actions = readActions(r, ilen - 8, version);
      return { type: itype === OFPIT.WRITE_ACTIONS ? 'write_actions' : 'apply_actions', actions };
    }
    case OFPIT.CLEAR_ACTIONS: if (ilen !== 8) break; r.skip(4); return { type: 'clear_actions' };
    case OFPIT.METER: if (ilen !== 8) break; return { type: 'meter', meterId: r.u32() };
    case OFPIT.EXPERIMENTER: {
      const experimenter = r.u32();
      return { type: 'experimenter', experimenter, data: r.bytes(ilen - 8) };
    }
  }
  r.offset = start;
  return { type: 'unknown', instructionType: itype, raw: r.bytes(ilen) };
}

export function readInstructions(r: Reader, len: number, version: WireVersion): Instruction[] {
  return readTlvList(r, len, 'instruction', (sub, itype, ilen, start) => readOne(sub, itype, ilen, start, version));
}

function writeActionsInstruction(w: Writer, type: number, actions: Action[], version: WireVersion): void {
  const start = w.offset;
  w.u16(type);
  w.u16(0);
  w.u32(0);
  writeActions(w, actions, version);
  w.patchU16(start + 2, w.offset - start);
}

export function writeInstruction(w: Writer, ins: Instruction, version: WireVersion): void {
  switch (ins.type) {
    case 'goto_table': w.u16(OFPIT.GOTO_TABLE); w.u16(8); w.u8(ins.tableId); w.u8(0); w.u16(0); return;
    case 'write_metadata':
      w.u16(OFPIT.WRITE_METADATA); w.u16(24); w.u32(0); w.u64(ins.metadata); w.u64(ins.mask);
      return;
    case 'write_actions': writeActionsInstruction(w, OFPIT.WRITE_ACTIONS, ins.actions, version); return;
    case 'apply_actions': writeActionsInstruction(w, OFPIT.APPLY_ACTIONS, ins.actions, version); return;
    case 'clear_actions': w.u16(OFPIT.CLEAR_ACTIONS); w.u16(8); w.u32(0); return;
    case 'meter': w.u16(OFPIT.METER); w.u16(8); w.u32(ins.meterId); return;
    case 'experimenter': writeExperimenterTlv(w, OFPIT.EXPERIMENTER, ins.experimenter, ins.data, 'instruction'); return;
    case 'unknown': writeRawTlv(w, ins.raw, 'instruction'); return;
    default: {
      const never: never = ins;
      throw new CodecError('bad_value', `unknown instruction ${JSON.stringify(never)}`);
    }
  }
}

export function writeInstructions(w: Writer, ins: Instruction[], version: WireVersion): void {
  for (let i = 0; i < ins.length; i++) writeInstruction(w, ins[i], version);
}
