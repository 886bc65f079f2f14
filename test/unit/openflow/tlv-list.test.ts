// The shared type-length list readers: what the action, instruction, property and hello element
// readers all rely on (lengths that lie are refused, unmodelled entries come back byte-exact).
import { describe, expect, it } from 'vitest';
import { CodecError, Reader, Writer } from '../../../openflow/buf.js';
import { readPropertyList, readTlvList, writeExperimenterTlv, writeRawTlv } from '../../../openflow/tlv-list.js';

const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');

describe('type-length lists (actions, instructions)', () => {
  it('reads each entry at its length whatever the entry reader consumed', () => {
    const bytes = hex('0001 0008 aabbccdd  0002 0010 00000000 11223344 55667788');
    const got = readTlvList(new Reader(bytes), bytes.length, 'thing', (r, type, length, start) => ({ type, length, start, first: r.u8() }));
    expect(got).toEqual([{ type: 1, length: 8, start: 0, first: 0xaa }, { type: 2, length: 16, start: 8, first: 0 }]);
  });

  it.each([
    ['short', '0001 0004 00000000', 'thing type 1 length 4'],
    ['not a multiple of 8', '0001 000c 00000000 00000000', 'thing type 1 length 12'],
    ['past the list', '0001 0010 00000000', 'thing type 1 length 16 past its list'],
  ])('refuses a length that lies (%s)', (_n, h, message) => {
    const bytes = hex(h);
    expect(() => readTlvList(new Reader(bytes), bytes.length, 'thing', () => null)).toThrow(new CodecError('bad_length', message));
  });

  it('writes experimenter and raw entries, refusing lengths off 8', () => {
    const w = new Writer();
    writeExperimenterTlv(w, 0xffff, 0x2320, hex('0102030405060708'), 'action');
    writeRawTlv(w, hex('0007 0008 00000000'), 'action');
    expect(w.finish().toString('hex')).toBe('ffff00100000232001020304050607080007000800000000');
    expect(() => writeExperimenterTlv(new Writer(), 0xffff, 1, hex('01'), 'instruction')).toThrow('experimenter instruction length 9 is not a multiple of 8');
    expect(() => writeRawTlv(new Writer(), hex('0007000c0000000000000000'), 'instruction')).toThrow('raw instruction of 12 bytes');
  });
});

describe('property lists', () => {
  it('hands known properties over and keeps the others raw with their padding, the last cut at the end', () => {
    // A known 8-byte property, an unknown 5-byte one (3 bytes of padding), a known one whose
    // reader stops early, an unknown 6-byte one with its padding cut short by the list's end.
    const bytes = hex('0001 0008 0000002a  0009 0005 ee 000000  0001 000c 00000007 ffffffff 00000000  0009 0006 abcd');
    const known: [number, number][] = [];
    const raw: string[] = [];
    readPropertyList(new Reader(bytes), 'thing property', (r, type, length) => {
      if (type !== 1) return false;
      known.push([length, r.u32()]);
      return true;
    }, (b) => raw.push(b.toString('hex')));
    expect(known).toEqual([[8, 42], [12, 7]]);
    expect(raw).toEqual(['00090005ee000000', '00090006abcd']);
  });

  it('keeps a property raw when its reader declines part way, and refuses a length under 4', () => {
    const bytes = hex('0001 0008 0000002a');
    const raw: Buffer[] = [];
    readPropertyList(new Reader(bytes), 'thing property', (r) => r.u16() === 0xffff, (b) => raw.push(b));
    expect(raw).toEqual([bytes]);
    expect(() => readPropertyList(new Reader(hex('00010003 00000000')), 'thing property', () => true, () => undefined))
      .toThrow(new CodecError('bad_length', 'thing property length 3'));
  });
});
