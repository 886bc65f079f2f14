import { describe, expect, it } from 'vitest';
import { LbError } from '../../../apps/lb/control.js';
import { normalizeDpid, parseBackendKey, validateBackendSpec, validateServiceInput } from '../../../apps/lb/validation.js';

function rejects(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LbError);
    expect((e as LbError).code).toBe('invalid');
    expect((e as Error).message).toMatch(re);
    expect((e as Error).message).not.toContain('\n');
    return;
  }
  throw new Error('expected a rejection');
}

describe('service validation', () => {
  it('fills documented defaults', () => {
    const s = validateServiceInput({ name: 'web', vip: '10.0.0.100', port: 80 });
    expect(s).toMatchObject({ proto: 'tcp', mode: 'nat', slots: 256, tracking: 'migrations', switches: [] });
    expect(s.migration.maxMs).toBeGreaterThanOrEqual(s.migration.minMs);
  });
  it('accepts small slot counts and normalizes datapath ids', () => {
    const s = validateServiceInput({ name: 'x', vip: '10.0.0.1', port: 53, proto: 'udp', slots: 8, switches: ['0x1', '00:00:00:00:00:00:00:0a'] });
    expect(s.slots).toBe(8);
    expect(s.switches).toEqual(['0000000000000001', '000000000000000a']);
  });
  it.each([
    [{ name: 'bad name!', vip: '10.0.0.1', port: 80 }, /service name/],
    [{ name: 'a', vip: '10.0.0.256', port: 80 }, /vip must be an IPv4/],
    [{ name: 'a', vip: '224.0.0.1', port: 80 }, /not a unicast/],
    [{ name: 'a', vip: '10.0.0.1', port: 0 }, /port must be a whole number from 1 to 65535/],
    [{ name: 'a', vip: '10.0.0.1', port: 80, proto: 'icmp' }, /proto must be tcp or udp/],
    [{ name: 'a', vip: '10.0.0.1', port: 80, mode: 'tunnel' }, /mode must be nat or dsr/],
    [{ name: 'a', vip: '10.0.0.1', port: 80, slots: 0 }, /slots/],
    [{ name: 'a', vip: '10.0.0.1', port: 80, migration: { minMs: 10, quietMs: 1, maxMs: 5 } }, /maximum window/],
  ])('rejects %j', (input, re) => {
    rejects(() => validateServiceInput(input as never), re);
  });
});

describe('slot limits from the 64 KiB message', () => {
  it('refuses a 2,000-slot nat service naming the limit, and takes the largest that fits', () => {
    rejects(() => validateServiceInput({ name: 'big', vip: '10.0.0.100', port: 80, slots: 2000 }), /slots 2000 is over the limit of 818 for a nat tcp service/);
    expect(validateServiceInput({ name: 'big', vip: '10.0.0.100', port: 80, slots: 818 }).slots).toBe(818);
    // dsr buckets are smaller: more fit.
    expect(validateServiceInput({ name: 'big', vip: '10.0.0.100', port: 80, mode: 'dsr', slots: 1364 }).slots).toBe(1364);
    rejects(() => validateServiceInput({ name: 'big', vip: '10.0.0.100', port: 80, mode: 'dsr', slots: 1365 }), /limit of 1364/);
  });
});

describe('backend validation', () => {
  it('accepts nat backends with and without port', () => {
    expect(validateBackendSpec({ ip: '10.0.0.2', port: 8080, weight: 3 }, 'nat')).toEqual({ ip: '10.0.0.2', port: 8080, weight: 3 });
    expect(validateBackendSpec({ ip: '10.0.0.2', weight: 0 }, 'nat')).toEqual({ ip: '10.0.0.2', weight: 0 });
  });
  it('normalizes a given MAC', () => {
    expect(validateBackendSpec({ ip: '10.0.0.2', weight: 1, mac: '02-AA-bb-cc-dd-ee', switchPort: 3 }, 'dsr').mac).toBe('02:aa:bb:cc:dd:ee');
  });
  it.each([
    [{ ip: 'x', weight: 1 }, 'nat', /backend address/],
    [{ ip: '10.0.0.2', weight: 1001 }, 'nat', /weight must be a whole number from 0 to 1000/],
    [{ ip: '10.0.0.2', weight: -1 }, 'nat', /weight/],
    [{ ip: '10.0.0.2', weight: 1.5 }, 'nat', /weight/],
    [{ ip: '10.0.0.2', port: 80, weight: 1 }, 'dsr', /dsr backend takes no port/],
    [{ ip: '10.0.0.2', weight: 1, mac: '02:00:00:00:00:01' }, 'nat', /both --mac and --switch-port/],
    [{ ip: '10.0.0.2', weight: 1, mac: '01:00:5e:00:00:01', switchPort: 1 }, 'nat', /multicast/],
  ])('rejects %j in %s mode', (spec, mode, re) => {
    rejects(() => validateBackendSpec(spec as never, mode as 'nat' | 'dsr'), re);
  });
  it('parses backend keys', () => {
    expect(parseBackendKey('10.0.0.2')).toEqual({ ip: '10.0.0.2' });
    expect(parseBackendKey('10.0.0.2:8080')).toEqual({ ip: '10.0.0.2', port: 8080 });
    rejects(() => parseBackendKey('10.0.0.2:99999'), /backend port/);
    rejects(() => normalizeDpid('xyz'), /datapath id/);
  });
});
