import { describe, expect, it } from 'vitest';
import type { ServiceView } from '../../../apps/lb/control.js';
import type { StoredEvent } from '../../../apps/lb/model.js';
import { parseApiUrl, parseBackendRef, parseDpid, parseHostPort } from '../../../tools/cli/args.js';
import { describeGroup, groupSlotMoves, table } from '../../../tools/cli/format.js';
import { isDone, progressOf } from '../../../tools/cli/wait.js';

describe('cli argument forms', () => {
  it('parses HOST:PORT', () => {
    expect(parseHostPort('127.0.0.1:8080', '--api')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort(':6653', '--openflow')).toEqual({ host: '0.0.0.0', port: 6653 });
    expect(parseHostPort('[::1]:0', '--api')).toEqual({ host: '::1', port: 0 });
    expect(() => parseHostPort('8080', '--api')).toThrow('bad --api "8080": expected HOST:PORT');
    expect(() => parseHostPort('h:70000', '--api')).toThrow('bad --api port "70000"');
  });
  it('parses backends, dpids and API URLs', () => {
    expect(parseBackendRef('10.0.0.1:80')).toEqual({ ip: '10.0.0.1', port: 80, key: '10.0.0.1:80' });
    expect(parseBackendRef('10.0.0.1')).toEqual({ ip: '10.0.0.1', key: '10.0.0.1' });
    expect(() => parseBackendRef('10.0.0.256')).toThrow(/bad backend/);
    expect(parseDpid('0x1')).toBe('0000000000000001');
    expect(parseDpid('00:00:00:00:00:00:00:2a')).toBe('000000000000002a');
    expect(parseDpid('42')).toBe('000000000000002a');
    expect(parseApiUrl('127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(parseApiUrl('https://lb.example/')).toBe('https://lb.example');
  });
});

describe('cli output', () => {
  it('aligns tables, numbers to the right, addresses to the left', () => {
    expect(table(['NAME', 'VIP', 'N'], [['a', '10.0.0.1', 5], ['bbb', '10.0.0.100', 12]])).toBe(
      'NAME  VIP          N\na     10.0.0.1     5\nbbb   10.0.0.100  12');
  });
  it('joins the slot moves of one migration', () => {
    const ev = (id: number, slot: number, to: string): StoredEvent => ({ id, at: 0, event: { type: 'slot_moved', service: 'web', slot, from: 'a', to } });
    const groups = groupSlotMoves([ev(1, 0, 'b'), ev(2, 1, 'b'), ev(3, 2, 'b'), ev(4, 7, 'b'), ev(5, 3, 'c')]);
    expect(groups).toHaveLength(2);
    expect(describeGroup(groups[0]!)).toMatch(/#1-4\s+web: 4 slots a → b \(slots 0-2,7\)$/);
  });
});

describe('--wait progress', () => {
  const svc = (owners: (string | null)[], migFrom: number[], state: string, pins: number): ServiceView => ({
    slotOwners: owners,
    migrations: migFrom.map((slot) => ({ slot, from: 'a', to: 'b', since: 0, phase: 'query' })),
    backends: state === 'gone' ? [] : [{ key: 'a', state, pins, connections: 0 }],
  }) as unknown as ServiceView;

  it('counts owned and leaving slots, and moved ones against the baseline', () => {
    expect(progressOf(svc(['a', 'a', 'b', 'b'], [], 'draining', 3), 'a', 4)).toEqual({ state: 'draining', slotsLeft: 2, slotsMoved: 2, connectionsLeft: 3 });
    // A query slot still owned by 'a' counts once.
    expect(progressOf(svc(['a', 'b', 'b', 'b'], [0], 'draining', 1), 'a', 4).slotsLeft).toBe(1);
    expect(progressOf(svc([], [], 'gone', 0), 'a', 4)).toEqual({ state: 'gone', slotsLeft: 0, slotsMoved: 4, connectionsLeft: 0 });
  });
  it('knows when a drain or a removal is done', () => {
    expect(isDone('drained', { state: 'draining', slotsLeft: 0, slotsMoved: 4, connectionsLeft: 2 })).toBe(false);
    expect(isDone('drained', { state: 'drained', slotsLeft: 0, slotsMoved: 4, connectionsLeft: 0 })).toBe(true);
    expect(isDone('removed', { state: 'drained', slotsLeft: 0, slotsMoved: 4, connectionsLeft: 0 })).toBe(false);
    expect(isDone('removed', { state: 'gone', slotsLeft: 0, slotsMoved: 4, connectionsLeft: 0 })).toBe(true);
  });
});
