import { describe, expect, it } from 'vitest';
import {
  bufferToIpv6, bufferToMac, ipv4ToNumber, ipv6ToBuffer, isMac, macToBuffer, numberToIpv4, parseIpv4, parseIpv6,
} from '../../../openflow/packet/addr.js';

let seed = 12345;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

describe('MAC helpers', () => {
  it('round-trips random MACs through text', () => {
    for (let i = 0; i < 1000; i++) {
      const b = Buffer.from(Array.from({ length: 6 }, () => rnd(256)));
      const s = bufferToMac(b);
      expect(s).toBe([...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
      expect(macToBuffer(s)).toEqual(b);
      expect(macToBuffer(s.toUpperCase())).toEqual(b);
    }
  });

  it('reads at an offset', () => {
    expect(bufferToMac(Buffer.from([9, 9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]), 2)).toBe('aa:bb:cc:dd:ee:0f');
  });

  it('rejects malformed MACs', () => {
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:fg', 'aa-bb-cc-dd-ee-ff', 'aa:bb:cc:dd:ee:fff', ' a:bb:cc:dd:ee:ff']) {
      expect(isMac(bad)).toBe(false);
      expect(() => macToBuffer(bad)).toThrow(TypeError);
    }
  });
});

describe('IPv4 helpers', () => {
  it('converts both ways', () => {
    expect(ipv4ToNumber('10.0.0.1')).toBe(0x0a000001);
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToNumber('0.0.0.0')).toBe(0);
    expect(numberToIpv4(0xc0a80164)).toBe('192.168.1.100');
    expect(numberToIpv4(0xffffffff)).toBe('255.255.255.255');
    for (let i = 0; i < 1000; i++) {
      const n = (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0;
      const s = numberToIpv4(n);
      expect(s.split('.').map(Number)).toEqual([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
      expect(ipv4ToNumber(s)).toBe(n);
    }
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', '.1.2.3', 'a.b.c.d', '1.2.3.4 ', '+1.2.3.4', '0001.2.3.4']) {
      expect(parseIpv4(bad)).toBeNull();
      expect(() => ipv4ToNumber(bad)).toThrow(TypeError);
    }
  });
});

describe('IPv6 helpers', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::1:2', 'fe80::1:2'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['FF02::1', 'ff02::1'],
  ];
  for (const [input, canonical] of cases) {
    it(`parses ${input} and prints ${canonical}`, () => {
      const b = ipv6ToBuffer(input);
      expect(bufferToIpv6(b)).toBe(canonical);
      expect(ipv6ToBuffer(canonical)).toEqual(b);
    });
  }

  it('prints what the WHATWG URL parser prints for random addresses with zero runs', () => {
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(16);
      for (let g = 0; g < 8; g++) if (rnd(2)) b.writeUInt16BE(rnd(3) ? rnd(0x10000) : 0, g * 2);
      if (b.readUInt16BE(10) === 0xffff && b.subarray(0, 10).every((x) => x === 0)) continue; // mapped: URL differs by design
      const s = bufferToIpv6(b);
      expect(`[${s}]`).toBe(new URL(`http://[${s}]/`).hostname);
      expect(parseIpv6(s)).toEqual(b);
    }
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:', ':1', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4']) {
      expect(parseIpv6(bad)).toBeNull();
    }
  });
});
