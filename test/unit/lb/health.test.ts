import { describe, expect, it } from 'vitest';
import { LbError } from '../../../apps/lb/control.js';
import { targetCounts } from '../../../apps/lb/allocation.js';
import {
  defaultHealth, firstCheckAt, initialHealth, parseStatusRange, portDown, slowStartFraction, slowStartWeights, stepHealth,
  udpSilence, validateHealth, type BackendHealth, type CheckResult,
} from '../../../apps/lb/health.js';
import { planOwners } from '../../../apps/lb/allocation.js';

const ok: CheckResult = { ok: true, detail: 'syn-ack', rttMs: 1 };
const bad: CheckResult = { ok: false, detail: 'connection refused (RST)' };

function msg(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(LbError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('health settings', () => {
  it('defaults by protocol', () => {
    expect(defaultHealth('tcp')).toMatchObject({ type: 'tcp', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, slowStartMs: 30000, http: { path: '/', status: { min: 200, max: 399 } } });
    expect(validateHealth(undefined, 'udp').type).toBe('udp');
  });

  it('merges over the current settings', () => {
    const base = validateHealth({ type: 'http', http: { path: '/health', status: '200-299' } }, 'tcp');
    expect(validateHealth({ fall: 5 }, 'tcp', base)).toMatchObject({ type: 'http', fall: 5, http: { path: '/health', status: { min: 200, max: 299 } } });
  });

  it('rejects bad parameters with one clear line', () => {
    expect(msg(() => validateHealth({ intervalMs: 0 }, 'tcp'))).toMatch(/interval \(ms\) must be a whole number from 100/);
    expect(msg(() => validateHealth({ rise: 0 }, 'tcp'))).toMatch(/rise must be a whole number from 1/);
    expect(msg(() => validateHealth({ fall: 0 }, 'tcp'))).toMatch(/fall/);
    expect(msg(() => validateHealth({ intervalMs: 1000, timeoutMs: 1000 }, 'tcp'))).toBe('health timeout (1000 ms) must be shorter than the interval (1000 ms)');
    expect(msg(() => validateHealth({ timeoutMs: 5000 }, 'tcp'))).toMatch(/shorter than the interval/);
    expect(msg(() => validateHealth({ type: 'icmp' }, 'tcp'))).toMatch(/type must be one of tcp, udp, http, none/);
    expect(msg(() => validateHealth({ type: 'udp' }, 'tcp'))).toMatch(/needs a udp service/);
    expect(msg(() => validateHealth({ type: 'http' }, 'udp'))).toMatch(/needs a tcp service/);
    expect(msg(() => validateHealth({ http: { status: '399-200' } }, 'tcp'))).toMatch(/is empty/);
    expect(msg(() => validateHealth({ http: { status: '2xx' } }, 'tcp'))).toMatch(/range like 200-399/);
    expect(msg(() => validateHealth({ http: { path: 'health' } }, 'tcp'))).toMatch(/must start with \//);
    expect(msg(() => validateHealth({ slowStartMs: -1 }, 'tcp'))).toMatch(/slow start/);
  });

  it('parses status ranges', () => {
    expect(parseStatusRange('200')).toEqual({ min: 200, max: 200 });
    expect(parseStatusRange(' 200 - 399 ')).toEqual({ min: 200, max: 399 });
    expect(parseStatusRange({ min: 200, max: 204 })).toEqual({ min: 200, max: 204 });
  });
});

describe('rise/fall', () => {
  const spec = { rise: 2, fall: 3 };
  const run = (h: BackendHealth, results: CheckResult[]) => {
    const changes: (string | null)[] = [];
    let t = 0;
    for (const r of results) {
      const s = stepHealth(h, spec, r, (t += 1000));
      h = s.health;
      changes.push(s.changed);
    }
    return { h, changes };
  };

  it('goes down after `fall` failures in a row, not before; a good check resets the count', () => {
    const { h, changes } = run(initialHealth('up', 0), [bad, bad, ok, bad, bad, bad]);
    expect(changes).toEqual([null, null, null, null, null, 'down']);
    expect(h).toMatchObject({ status: 'down', bad: 3, good: 0, since: 6000 });
    expect(stepHealth(initialHealth('up', 0), spec, bad, 1).health.last).toMatchObject({ ok: false, detail: 'connection refused (RST)', at: 1 });
  });

  it('comes back after `rise` good checks in a row', () => {
    const { h, changes } = run(initialHealth('down', 0), [ok, bad, ok, ok]);
    expect(changes).toEqual([null, null, null, 'up']);
    expect(h.status).toBe('up');
    expect(stepHealth(initialHealth('down', 0), { rise: 1, fall: 1 }, ok, 5).reason).toBe('1 good check in a row (last: syn-ack)');
  });

  it('port down: down at once, and a down backend needs rise checks again', () => {
    const s = portDown({ ...initialHealth('up', 0), good: 7 }, 'switch 1 port 3', 10);
    expect(s).toMatchObject({ changed: 'down', reason: 'switch 1 port 3 is down', health: { status: 'down', good: 0, since: 10 } });
    expect(portDown(s.health, 'switch 1 port 3', 11).changed).toBeNull();
  });

  it('udp silence is good while the backend answers ARP', () => {
    expect(udpSilence(true).ok).toBe(true);
    expect(udpSilence(false).ok).toBe(false);
  });

  it('spreads first checks over the interval', () => {
    const at = Array.from({ length: 1000 }, (_, i) => firstCheckAt(i + 1, 1000, 0));
    expect(Math.min(...at)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...at)).toBeLessThan(1000);
    const perTenth = new Array<number>(10).fill(0);
    for (const t of at) perTenth[Math.floor(t / 100)]!++;
    for (const n of perTenth) expect(n).toBeGreaterThan(50); // no burst
  });
});

describe('slow start', () => {
  it('steps the fraction every second up to 1', () => {
    expect(slowStartFraction(0, 10_000, 0)).toBe(0);
    expect(slowStartFraction(0, 10_000, 1999)).toBe(0.1);
    expect(slowStartFraction(0, 10_000, 5_500)).toBe(0.5);
    expect(slowStartFraction(0, 10_000, 20_000)).toBe(1);
    expect(slowStartFraction(0, 0, 0)).toBe(1);
  });

  it('grows a backend from one slot to its full share, each step moving only slots to it', () => {
    const slots = 64;
    const pool = [{ id: 1, weight: 1 }, { id: 2, weight: 1 }, { id: 3, weight: 1 }, { id: 4, weight: 1 }];
    let owners: (number | null)[] = planOwners(new Array<number | null>(slots).fill(null), targetCounts(pool.slice(0, 3), slots));
    const shares: number[] = [];
    for (let t = 0; t <= 10_000; t += 1000) {
      const f = slowStartFraction(0, 10_000, t);
      const w = slowStartWeights(pool, f < 1 ? new Map([[4, f]]) : new Map(), slots);
      const next = planOwners(owners, targetCounts(w, slots));
      // Only slots that go to backend 4 move.
      for (let s = 0; s < slots; s++) if (next[s] !== owners[s]) expect(next[s]).toBe(4);
      owners = next;
      shares.push(owners.filter((o) => o === 4).length);
    }
    expect(shares[0]).toBe(1);
    expect(shares.at(-1)).toBe(16);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThanOrEqual(shares[i - 1]!);
    expect(shares[5]).toBeGreaterThan(4);
    expect(shares[5]).toBeLessThan(12);
  });

  it('a lone backend gets every slot whatever its fraction', () => {
    const w = slowStartWeights([{ id: 1, weight: 3 }], new Map([[1, 0]]), 16);
    expect(targetCounts(w, 16).get(1)).toBe(16);
  });
});
