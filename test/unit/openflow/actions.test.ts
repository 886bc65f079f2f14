import { describe, expect, test } from 'vitest';
import { CodecError, Reader, Writer } from '../../../openflow/buf.js';
import { readActions, writeActions } from '../../../openflow/actions.js';
import { readInstructions, writeInstructions } from '../../../openflow/instructions.js';
import type { Action, Instruction } from '../../../openflow/types.js';

const ALL_ACTIONS: Action[] = [
  { type: 'output', port: 0xfffffffd, maxLen: 0xffff },
  { type: 'copy_ttl_out' },
  { type: 'copy_ttl_in' },
  { type: 'set_mpls_ttl', ttl: 64 },
  { type: 'dec_mpls_ttl' },
  { type: 'push_vlan', ethertype: 0x8100 },
  { type: 'pop_vlan' },
  { type: 'push_mpls', ethertype: 0x8847 },
  { type: 'pop_mpls', ethertype: 0x0800 },
  { type: 'set_queue', queueId: 7 },
  { type: 'group', groupId: 42 },
  { type: 'set_nw_ttl', ttl: 9 },
  { type: 'dec_nw_ttl' },
  { type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:01' } },
  { type: 'set_field', field: { kind: 'basic', name: 'ipv6_dst', value: 'fe80::1' } },
  { type: 'set_field', field: { kind: 'other', oxmClass: 1, field: 0, hasMask: false, payload: Buffer.from('0000002a', 'hex') } },
  { type: 'push_pbb', ethertype: 0x88e7 },
  { type: 'pop_pbb' },
  // Open vSwitch NX resubmit_table (subtype 14): experimenter 0x2320
  { type: 'experimenter', experimenter: 0x00002320, data: Buffer.from('000effff0100000000000000', 'hex').subarray(0, 8) },
  { type: 'unknown', actionType: 29, raw: Buffer.from('001d000800000001', 'hex') },
];

function encActions(a: Action[]): Buffer {
  const w = new Writer();
  writeActions(w, a, 4);
  return Buffer.from(w.finish());
}

describe('actions', () => {
  test('every action kind round-trips', () => {
    const bytes = encActions(ALL_ACTIONS);
    expect(bytes.length % 8).toBe(0);
    const r = new Reader(bytes);
    expect(readActions(r, bytes.length, 4)).toEqual(ALL_ACTIONS);
    expect(r.remaining()).toBe(0);
  });

  test('known encodings', () => {
    expect(encActions([{ type: 'output', port: 2, maxLen: 0 }]).toString('hex')).toBe('00000010000000020000000000000000');
    expect(encActions([{ type: 'set_field', field: { kind: 'basic', name: 'tcp_dst', value: 8080 } }]).toString('hex'))
      .toBe('0019001080001c021f90000000000000');
    expect(encActions([{ type: 'group', groupId: 1 }]).toString('hex')).toBe('0016000800000001');
  });

  test('non-canonical known actions stay raw and byte-exact', () => {
    // an output action 24 bytes long, and a set_field with extra padding
    const output24 = '00000018' + '00000002' + '0000' + '0'.repeat(28);
    const setField24 = '00190018' + '80001c021f90' + '0'.repeat(28);
    const bytes = Buffer.from(output24 + setField24, 'hex');
    expect(bytes.length).toBe(48);
    const acts = readActions(new Reader(bytes), bytes.length, 4);
    expect(acts.map((a) => a.type)).toEqual(['unknown', 'unknown']);
    expect(encActions(acts).equals(bytes)).toBe(true);
  });

  test('Open vSwitch NX action keeps its bytes', () => {
    // NXAST_LEARN experimenter action of 32 bytes, every field zero: read as a typed learn.
    const bytes = Buffer.from('ffff002000002320' + '0010' + '0'.repeat(44), 'hex');
    const acts = readActions(new Reader(bytes), bytes.length, 4);
    expect(acts).toHaveLength(1);
    expect(acts[0]).toEqual({ type: 'nx_learn', table: 0, priority: 0, idleTimeout: 0, cookie: 0n, flags: 0, specs: [] });
    expect(encActions(acts).equals(bytes)).toBe(true);
  });

  test('NX actions we do not model, or would not write the same way, stay experimenter and byte-exact', () => {
    for (const hex of [
      'ffff001000002320' + '0015' + '0'.repeat(12), // NXAST_OUTPUT_REG: not modelled
      'ffff001000002320' + '000e' + '0003' + '01' + '000000', // resubmit(3,1): in_port given, not IN_PORT
      'ffff001000002320' + '0013' + '00050000' + '0001', // fin_timeout with non-zero padding
      'ffff003000002320' + '0010' + '0'.repeat(44) + '0010' + '00000bad0000' + '00000bad0000' + '0000', // learn on an unknown NXM field
    ]) {
      const bytes = Buffer.from(hex, 'hex');
      const acts = readActions(new Reader(bytes), bytes.length, 4);
      expect(acts[0], hex).toMatchObject({ type: 'experimenter', experimenter: 0x2320 });
      expect(encActions(acts).equals(bytes)).toBe(true);
    }
  });

  test('bad lengths are typed errors', () => {
    for (const hex of ['0000000c0000000200000000', '0000000400000000', '0000001000000002']) {
      const b = Buffer.from(hex, 'hex');
      try { readActions(new Reader(b), b.length, 4); expect.unreachable(hex); }
      catch (e) { expect(e).toBeInstanceOf(CodecError); expect(['bad_length', 'truncated']).toContain((e as CodecError).kind); }
    }
    // the list length itself past the data
    expect(() => readActions(new Reader(Buffer.alloc(8)), 16, 4)).toThrow(CodecError);
  });

  test('unencodable experimenter data is rejected', () => {
    expect(() => encActions([{ type: 'experimenter', experimenter: 1, data: Buffer.alloc(3) }])).toThrow(CodecError);
  });
});

const ALL_INSTRUCTIONS: Instruction[] = [
  { type: 'goto_table', tableId: 3 },
  { type: 'write_metadata', metadata: 0x1122334455667788n, mask: 0xffffffffffffffffn },
  { type: 'write_actions', actions: [{ type: 'group', groupId: 5 }] },
  { type: 'apply_actions', actions: [{ type: 'set_field', field: { kind: 'basic', name: 'ipv4_dst', value: '10.0.0.2' } }, { type: 'output', port: 1, maxLen: 0 }] },
  { type: 'apply_actions', actions: [] },
  { type: 'clear_actions' },
  { type: 'meter', meterId: 12 },
  { type: 'experimenter', experimenter: 0x2320, data: Buffer.from('0102030405060708', 'hex') },
  { type: 'unknown', instructionType: 7, raw: Buffer.from('0007000800000000', 'hex') },
];

describe('instructions', () => {
  test('every instruction kind round-trips', () => {
    const w = new Writer();
    writeInstructions(w, ALL_INSTRUCTIONS, 4);
    const bytes = w.finish();
    const r = new Reader(bytes);
    expect(readInstructions(r, bytes.length, 4)).toEqual(ALL_INSTRUCTIONS);
    expect(r.remaining()).toBe(0);
  });

  test('apply_actions encoding', () => {
    const w = new Writer();
    writeInstructions(w, [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }], 4);
    expect(w.finish().toString('hex')).toBe('000400180000000000000010000000020000000000000000');
  });

  test('goto_table of the wrong length stays raw', () => {
    const b = Buffer.from('00010010030000000000000000000000', 'hex');
    const ins = readInstructions(new Reader(b), 16, 4);
    expect(ins[0]).toMatchObject({ type: 'unknown', instructionType: 1 });
  });

  test('an action list inside an instruction that lies about its length is an error', () => {
    const b = Buffer.from('00040010000000000000001000000002', 'hex');
    expect(() => readInstructions(new Reader(b), b.length, 4)).toThrow(CodecError);
  });
});
