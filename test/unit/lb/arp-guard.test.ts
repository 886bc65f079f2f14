import { describe, expect, it } from 'vitest';
import { judgeArpAnswer, type ArpAnswer } from '../../../apps/lb/arp-guard.js';

const base: ArpAnswer = { now: 10_000, askedAt: 9_900, known: { mac: '02:00:00:00:00:0b', port: 3, misses: 1 }, mac: '02:00:00:00:00:0b', port: 3, lastMoveAt: undefined };

describe('which ARP answers may locate a backend', () => {
  it('ignores answers nobody asked for, or asked for too long ago', () => {
    expect(judgeArpAnswer({ ...base, askedAt: undefined })).toEqual({ kind: 'ignore', why: 'unsolicited' });
    expect(judgeArpAnswer({ ...base, askedAt: 5_000 })).toEqual({ kind: 'ignore', why: 'unsolicited' });
  });
  it('takes a first answer, and the known location answering again', () => {
    expect(judgeArpAnswer({ ...base, known: undefined })).toEqual({ kind: 'accept', moves: true });
    expect(judgeArpAnswer(base)).toEqual({ kind: 'accept', moves: false });
    // First seen on this switch (another switch's port is known): learning, not moving.
    expect(judgeArpAnswer({ ...base, known: { ...base.known!, port: undefined } })).toEqual({ kind: 'accept', moves: true });
  });
  it('refuses a move while the known location still answers (a forged or racing answer)', () => {
    const v = judgeArpAnswer({ ...base, mac: '02:66:66:66:66:66' });
    expect(v.kind).toBe('conflict');
    expect(judgeArpAnswer({ ...base, port: 7 }).kind).toBe('conflict');
  });
  it('moves once the known location let a probe round go unanswered, but not twice within the hold', () => {
    const gone = { ...base, known: { ...base.known!, misses: 2 }, mac: '02:00:00:00:aa:01', port: 5 };
    expect(judgeArpAnswer(gone)).toEqual({ kind: 'accept', moves: true });
    expect(judgeArpAnswer({ ...gone, lastMoveAt: 5_000 }).kind).toBe('conflict');
    expect(judgeArpAnswer({ ...gone, lastMoveAt: -1_000 })).toEqual({ kind: 'accept', moves: true });
  });
});
