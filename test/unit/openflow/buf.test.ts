import { describe, expect, test } from 'vitest';
import { CodecError, Reader, Writer } from '../../../openflow/buf.js';

describe('Reader', () => {
  test('reads big-endian integers and stops at end', () => {
    const r = new Reader(Buffer.from('0102030405060708090a0b0c0d0e0f10ff', 'hex'), 0, 16);
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0203);
    expect(r.u32()).toBe(0x04050607);
    expect(r.u64()).toBe(0x08090a0b0c0d0e0fn);
    expect(r.remaining()).toBe(1);
    expect(() => r.u16()).toThrow(CodecError);
    try { r.u16(); } catch (e) { expect((e as CodecError).kind).toBe('truncated'); }
    expect(r.u8()).toBe(0x10);
    expect(() => r.u8()).toThrow(/need 1/);
  });

  test('sub() bounds a child reader and advances the parent', () => {
    const r = new Reader(Buffer.from('aabbccddeeff', 'hex'));
    r.skip(1);
    const s = r.sub(3);
    expect(r.offset).toBe(4);
    expect(s.bytes(3).toString('hex')).toBe('bbccdd');
    expect(() => s.u8()).toThrow(CodecError);
    expect(() => r.sub(5)).toThrow(CodecError);
    expect(() => r.bytes(-1)).toThrow(CodecError);
  });

  test('bytes() is a view, not a copy', () => {
    const buf = Buffer.from('00112233', 'hex');
    const b = new Reader(buf).bytes(2);
    buf[0] = 0x99;
    expect(b[0]).toBe(0x99);
  });
});

describe('Writer', () => {
  test('grows past its initial size and keeps earlier bytes', () => {
    const w = new Writer(16);
    for (let i = 0; i < 100; i++) w.u32(i);
    const out = w.finish();
    expect(out.length).toBe(400);
    expect(out.readUInt32BE(396)).toBe(99);
    expect(out.readUInt32BE(0)).toBe(0);
  });

  test('writes integers, zeros, padding and patches', () => {
    const w = new Writer();
    w.u8(1); w.u16(0x0203); w.u32(0xfffffffe); w.u64(0x0102030405060708n); w.u64(5n);
    w.padTo8(0);
    w.patchU16(1, 0xabcd);
    expect(w.finish().toString('hex')).toBe('01abcdfffffffe0102030405060708000000000000000500');
    expect(w.offset % 8).toBe(0);
  });

  test('rejects integers that do not fit', () => {
    const w = new Writer();
    expect(() => w.u8(256)).toThrow(CodecError);
    expect(() => w.u16(0x10000)).toThrow(CodecError);
    expect(() => w.u16(-1)).toThrow(CodecError);
    expect(() => w.u32(2 ** 32)).toThrow(CodecError);
    expect(() => w.u32(1.5)).toThrow(CodecError);
    w.u32(-1); // int32 two's complement is allowed
    expect(w.finish().toString('hex')).toBe('ffffffff');
    expect(() => w.patchU16(0, 70000)).toThrow(/16 bits/);
  });

  test('reset() reuses the buffer', () => {
    const w = new Writer();
    w.u32(1);
    w.reset();
    w.u16(2);
    expect(w.finish().toString('hex')).toBe('0002');
  });
});
