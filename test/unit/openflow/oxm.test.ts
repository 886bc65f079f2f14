import { describe, expect, test } from 'vitest';
import { CodecError, Reader, Writer } from '../../../openflow/buf.js';
import { OXM_BASIC_FIELDS, readMatch, readOxm, writeMatch, writeOxm } from '../../../openflow/oxm.js';
import type { OxmField, OxmValue, OxmValueKind } from '../../../openflow/types.js';

const SAMPLE: Record<OxmValueKind, [OxmValue, OxmValue]> = {
  u8: [5, 0x0f],
  u16: [0x1234, 0xff00],
  u24: [0x123456, 0xffff00],
  u32: [0x12345678, 0xffff0000],
  u64: [0x0102030405060708n, 0xffffffff00000000n],
  mac: ['02:11:22:33:44:55', 'ff:ff:ff:00:00:00'],
  ipv4: ['10.1.2.3', '255.255.0.0'],
  ipv6: ['2001:db8::1', 'ffff:ffff::'],
};

function enc(f: OxmField): Buffer {
  const w = new Writer();
  writeOxm(w, f);
  return Buffer.from(w.finish());
}

describe('OXM basic fields', () => {
  test('the table has unique names and codes', () => {
    expect(new Set(OXM_BASIC_FIELDS.map((d) => d.name)).size).toBe(OXM_BASIC_FIELDS.length);
    expect(new Set(OXM_BASIC_FIELDS.map((d) => d.code)).size).toBe(OXM_BASIC_FIELDS.length);
    expect(OXM_BASIC_FIELDS.length).toBe(44);
  });

  for (const d of OXM_BASIC_FIELDS) {
    test(`${d.name} round-trips with and without mask`, () => {
      const [value, mask] = SAMPLE[d.kind];
      for (const f of [
        { kind: 'basic', name: d.name, value } as OxmField,
        { kind: 'basic', name: d.name, value, mask } as OxmField,
      ]) {
        const bytes = enc(f);
        const masked = f.kind === 'basic' && f.mask !== undefined;
        expect(bytes.readUInt16BE(0)).toBe(0x8000);
        expect(bytes[2]).toBe((d.code << 1) | (masked ? 1 : 0));
        expect(bytes[3]).toBe(masked ? 2 * d.length : d.length);
        expect(bytes.length).toBe(4 + bytes[3]);
        const r = new Reader(bytes);
        expect(readOxm(r)).toEqual(f);
        expect(r.remaining()).toBe(0);
      }
    });
  }

  test('known encodings', () => {
    expect(enc({ kind: 'basic', name: 'in_port', value: 3 }).toString('hex')).toBe('8000000400000003');
    expect(enc({ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' }).toString('hex'))
      .toBe('800019080a000000ff000000');
    expect(enc({ kind: 'basic', name: 'vlan_vid', value: 0x1000 | 10 }).toString('hex')).toBe('80000c02100a');
    expect(enc({ kind: 'basic', name: 'eth_dst', value: '01:02:03:04:05:06' }).toString('hex')).toBe('80000606010203040506');
  });

  test('bad values throw bad_value', () => {
    const bad: OxmField[] = [
      { kind: 'basic', name: 'ip_proto', value: 256 },
      { kind: 'basic', name: 'tcp_dst', value: -1 },
      { kind: 'basic', name: 'eth_dst', value: '01:02:03:04:05' },
      { kind: 'basic', name: 'ipv4_src', value: '10.0.0.256' },
      { kind: 'basic', name: 'ipv6_src', value: '2001:db8:::1' },
      // The field types reject these two; the codec still checks at run time (values from outside).
      { kind: 'basic', name: 'metadata', value: 'x' } as unknown as OxmField,
      { kind: 'basic', name: 'in_port', value: 1n } as unknown as OxmField,
    ];
    for (const f of bad) {
      try { enc(f); expect.unreachable(`${JSON.stringify(f, (_, v) => typeof v === 'bigint' ? String(v) : v)}`); }
      catch (e) { expect(e).toBeInstanceOf(CodecError); expect((e as CodecError).kind).toBe('bad_value'); }
    }
  });
});

describe('non-basic OXM classes keep their bytes', () => {
  const cases = [
    '0001000400000005', // NXM_1 reg0 = 5
    '0001030800000005000000ff', // NXM_1 reg1 masked
    'ffff54064f4e46000002', // ONF experimenter tcp_flags (1.3 packet-in form)
    '00000c02100a', // NXM_0 field 6 (vlan_tci)
    '8000500100', // basic class with an unassigned field code
    '800014020006', // basic ip_proto with the wrong length
  ];
  for (const hex of cases) {
    test(hex, () => {
      const bytes = Buffer.from(hex, 'hex');
      const f = readOxm(new Reader(bytes));
      expect(f.kind).toBe('other');
      expect(enc(f).toString('hex')).toBe(hex);
    });
  }
  test('ONF class keeps the experimenter id in the payload', () => {
    const f = readOxm(new Reader(Buffer.from('ffff54064f4e46000002', 'hex')));
    expect(f).toMatchObject({ kind: 'other', oxmClass: 0xffff, field: 42, hasMask: false });
    if (f.kind === 'other') expect(f.payload.readUInt32BE(0)).toBe(0x4f4e4600);
  });
});

describe('ofp_match', () => {
  test('pads to 8 and round-trips', () => {
    const m: OxmField[] = [
      { kind: 'basic', name: 'in_port', value: 1 },
      { kind: 'basic', name: 'eth_type', value: 0x0800 },
      { kind: 'other', oxmClass: 1, field: 0, hasMask: false, payload: Buffer.from('00000001', 'hex') },
    ];
    const w = new Writer();
    writeMatch(w, m);
    const bytes = w.finish();
    expect(bytes.readUInt16BE(0)).toBe(1);
    expect(bytes.readUInt16BE(2)).toBe(4 + 8 + 6 + 8);
    expect(bytes.length).toBe(32);
    const r = new Reader(bytes);
    expect(readMatch(r)).toEqual(m);
    expect(r.remaining()).toBe(0);
  });

  test('empty match is 8 bytes', () => {
    const w = new Writer();
    writeMatch(w, []);
    expect(w.finish().toString('hex')).toBe('0001000400000000');
    expect(readMatch(new Reader(Buffer.from('0001000400000000', 'hex')))).toEqual([]);
  });

  test('a standard (non-OXM) match type is rejected', () => {
    expect(() => readMatch(new Reader(Buffer.from('0000000400000000', 'hex')))).toThrow(CodecError);
  });

  test('a match length past the data is truncated; below 4 is bad_length', () => {
    try { readMatch(new Reader(Buffer.from('0001002080000004', 'hex'))); expect.unreachable(); }
    catch (e) { expect((e as CodecError).kind).toBe('truncated'); }
    try { readMatch(new Reader(Buffer.from('0001000200000000', 'hex'))); expect.unreachable(); }
    catch (e) { expect((e as CodecError).kind).toBe('bad_length'); }
  });

  test('an OXM running past the match length is an error', () => {
    // match length 8 says one 4-byte OXM header, but that header claims 4 bytes of value
    expect(() => readMatch(new Reader(Buffer.from('0001000880000004000000030000000000000000', 'hex')))).toThrow(CodecError);
  });
});
