import { describe, expect, it } from 'vitest';
import {
  COOKIE_KIND_PIN, COOKIE_KIND_SERVICE, PIN_COOKIE_MASK_FOR_SERVICE, SERVICE_COOKIE_SPACE,
  groupIdFor, markerMac, parseCookie, parseMarkerMac, pinCookie, serviceCookie, serviceVmac,
} from '../../../apps/lb/cookies.js';
import { prng } from './prng.js';

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const matches = (c: bigint, m: { cookie: bigint; mask: bigint }): boolean => (c & m.mask) === m.cookie;

describe('cookies', () => {
  it('lays out kind, service and low bits', () => {
    expect(serviceCookie(0x123456, 7)).toBe(0x01123456_00000007n);
    expect(pinCookie(1, 0xdeadbeef)).toBe(0x02000001_deadbeefn);
    expect(COOKIE_KIND_SERVICE).toBe(1n);
    expect(COOKIE_KIND_PIN).toBe(2n);
  });
  it('round-trips at random and at the bounds', () => {
    const r = prng(3);
    const cases: [number, number][] = [[0, 0], [0xffffff, 0xffffffff], [1, 1], [0xffffff, 0]];
    for (let i = 0; i < 500; i++) cases.push([r.int(0, 0xffffff), r.int(0, 0xffffffff)]);
    for (const [sid, low] of cases) {
      expect(parseCookie(serviceCookie(sid, low))).toEqual({ kind: 'service', serviceId: sid, rule: low });
      expect(parseCookie(pinCookie(sid, low))).toEqual({ kind: 'pin', serviceId: sid, backendId: low });
    }
  });
  it('rejects out-of-range inputs', () => {
    expect(() => serviceCookie(0x1000000, 0)).toThrow(RangeError);
    expect(() => serviceCookie(-1, 0)).toThrow(RangeError);
    expect(() => pinCookie(1, 0x100000000)).toThrow(RangeError);
    expect(() => pinCookie(1.5, 1)).toThrow(RangeError);
    expect(() => PIN_COOKIE_MASK_FOR_SERVICE(1 << 24)).toThrow(RangeError);
  });
  it('calls anything else other', () => {
    for (const c of [0n, 0x03000001_00000001n, 0xff00000000000000n, -1n, 1n << 64n]) expect(parseCookie(c)).toEqual({ kind: 'other' });
  });
  it('masks select the right cookies', () => {
    expect(matches(serviceCookie(5, 1), SERVICE_COOKIE_SPACE)).toBe(true);
    expect(matches(serviceCookie(0xffffff, 0xffffffff), SERVICE_COOKIE_SPACE)).toBe(true);
    expect(matches(pinCookie(5, 1), SERVICE_COOKIE_SPACE)).toBe(false);
    expect(matches(0n, SERVICE_COOKIE_SPACE)).toBe(false);
    const m = PIN_COOKIE_MASK_FOR_SERVICE(5);
    expect(matches(pinCookie(5, 1), m)).toBe(true);
    expect(matches(pinCookie(5, 0xffffffff), m)).toBe(true);
    expect(matches(pinCookie(6, 1), m)).toBe(false);
    expect(matches(serviceCookie(5, 1), m)).toBe(false);
  });
});

describe('marker and service MACs', () => {
  it('formats the marker MAC as a locally administered unicast address', () => {
    expect(markerMac(0x010203, 0x0405)).toBe('0e:01:02:03:04:05');
    const b = macBytes(markerMac(7, 255));
    expect(b[0] & 1).toBe(0);
    expect(b[0] & 2).toBe(2);
  });
  it('round-trips marker MACs, also inside a packet at an offset', () => {
    const r = prng(9);
    for (let i = 0; i < 300; i++) {
      const sid = i === 0 ? 0xffffff : r.int(0, 0xffffff), slot = i === 0 ? 0xffff : r.int(0, 0xffff);
      expect(parseMarkerMac(macBytes(markerMac(sid, slot)))).toEqual({ serviceId: sid, slot });
      const pkt = Buffer.concat([Buffer.alloc(3, 0xaa), macBytes(markerMac(sid, slot)), Buffer.alloc(8)]);
      expect(parseMarkerMac(pkt, 3)).toEqual({ serviceId: sid, slot });
    }
  });
  it('rejects other MACs and short buffers', () => {
    expect(parseMarkerMac(macBytes('02:48:46:00:00:01'))).toBeNull();
    expect(parseMarkerMac(macBytes('ff:ff:ff:ff:ff:ff'))).toBeNull();
    expect(parseMarkerMac(Buffer.from([0x0e, 0, 0, 1, 0]))).toBeNull();
    expect(parseMarkerMac(macBytes(markerMac(1, 1)), 1)).toBeNull();
    expect(() => markerMac(1, 0x10000)).toThrow(RangeError);
    expect(() => markerMac(1, -1)).toThrow(RangeError);
  });
  it('gives each service its virtual MAC and group', () => {
    expect(serviceVmac(1)).toBe('02:48:46:00:00:01');
    expect(serviceVmac(0xabcdef)).toBe('02:48:46:ab:cd:ef');
    expect(macBytes(serviceVmac(1))[0] & 3).toBe(2);
    expect(groupIdFor(42)).toBe(42);
    expect(() => serviceVmac(1 << 24)).toThrow(RangeError);
  });
});
