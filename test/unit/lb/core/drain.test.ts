// Drain completion decided by the core from connection counts and the clock: a drain completes
// once counts taken after the backend's last slot left say zero, and never on counts nobody took
// (a restarted controller knows no count until its switches answer).
import { describe, expect, it } from 'vitest';
import { pinCookieMatch } from '../../../../apps/lb/cookies.js';
import type { Effects, RequestPurpose } from '../../../../apps/lb/core/effects.js';
import { SWITCH_RETURN_GRACE_MS } from '../../../../apps/lb/core/drain.js';
import { eventsOf, requests, Rig, storeOf, SW1 } from './fixture.js';

const QUICK = { minMs: 100, quietMs: 50, maxMs: 200 };

function setup(): Rig {
  const rig = new Rig();
  rig.keep(rig.core.switchUp(SW1, rig.now));
  rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8, migration: QUICK }, rig.now));
  rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
  rig.keep(rig.core.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 }, rig.now));
  settle(rig);
  return rig;
}

/** Ticks until no migration is left. */
function settle(rig: Rig): void {
  for (let i = 0; i < 100 && rig.core.getService('web').migrations.length > 0; i++) rig.keep(rig.core.tick(rig.advance(50)));
  expect(rig.core.getService('web').migrations).toEqual([]);
}

const state = (rig: Rig, key: string) => rig.core.listBackends('web').find((b) => b.key === key)?.state;

/** Answers every count request in `fx` with `flows` connections. */
function answerCounts(rig: Rig, fx: Effects, flows: (backend: number) => number): RequestPurpose[] {
  const counts = requests(fx).filter((r) => r.purpose.kind === 'count');
  for (const r of counts) {
    const p = r.purpose as Extract<RequestPurpose, { kind: 'count' }>;
    rig.keep(rig.core.reply(SW1.dpidHex, p, [{ kind: 'aggregate', flowCount: flows(p.backend), packetCount: 0n, byteCount: 0n }], rig.now));
  }
  return counts.map((r) => r.purpose);
}

describe('drain completion (core)', () => {
  it('completes when counts taken after the last slot left reach zero', () => {
    const rig = setup();
    const b1 = rig.core.listBackends('web')[0];
    const drain = rig.keep(rig.core.drainBackend('web', b1.key, rig.now));
    expect(eventsOf(drain.effects, 'backend_state')).toEqual([
      { type: 'backend_state', service: 'web', backend: b1.key, from: 'active', to: 'draining', reason: 'drain requested' },
    ]);
    expect(storeOf(drain.effects, 'update_backend').map((c) => c.backend.state)).toEqual(['draining']);
    settle(rig);
    expect(rig.core.getService('web').slotOwners).not.toContain(b1.key);

    // A count asked for right now is too early (packets still in flight through old buckets).
    const early = rig.core.countConnections(rig.now);
    const asked = requests(early).filter((r) => r.purpose.kind === 'count');
    expect(asked.map((r) => r.body)).toContainEqual({
      kind: 'aggregate', body: expect.objectContaining({ ...((m) => ({ cookie: m.cookie, cookieMask: m.mask }))(pinCookieMatch(1, b1.id)) }),
    });
    answerCounts(rig, early, () => 0);
    expect(eventsOf(rig.keep(rig.core.tick(rig.advance(50))), 'backend_state')).toEqual([]);
    expect(state(rig, b1.key)).toBe('draining');

    // Later counts: one connection left, then none.
    rig.advance(400);
    answerCounts(rig, rig.core.countConnections(rig.now), (b) => (b === b1.id ? 1 : 5));
    expect(eventsOf(rig.keep(rig.core.tick(rig.advance(50))), 'backend_state')).toEqual([]);
    expect(rig.core.listBackends('web')[0].connections).toBe(1);

    answerCounts(rig, rig.core.countConnections(rig.now), () => 0);
    const done = rig.keep(rig.core.tick(rig.advance(50)));
    expect(eventsOf(done, 'backend_state')).toEqual([
      { type: 'backend_state', service: 'web', backend: b1.key, from: 'draining', to: 'drained', reason: 'its last connection is gone' },
    ]);
    expect(storeOf(done, 'update_backend').map((c) => [c.backend.id, c.backend.state])).toEqual([[b1.id, 'drained']]);
  });

  it('a new count round waits until the last one is answered', () => {
    const rig = setup();
    const first = rig.core.countConnections(rig.now);
    expect(requests(first).length).toBe(2);
    expect(requests(rig.core.countConnections(rig.advance(1_000)))).toEqual([]);
    const [one, two] = requests(first);
    rig.core.reply(SW1.dpidHex, one.purpose, [{ kind: 'aggregate', flowCount: 0, packetCount: 0n, byteCount: 0n }], rig.now);
    rig.core.requestFailed(SW1.dpidHex, two.purpose, 'timed out');
    expect(requests(rig.core.countConnections(rig.advance(1_000))).length).toBeGreaterThan(0);
  });

  it('after a restart, never completes on counts nobody took; completes on the first count of zero', () => {
    const rig = setup();
    const b1 = rig.core.listBackends('web')[0];
    rig.keep(rig.core.drainBackend('web', b1.key, rig.now).effects);
    settle(rig);
    answerCounts(rig, rig.core.countConnections(rig.advance(1_000)), (b) => (b === b1.id ? 3 : 0));

    // The controller restarts from what the store holds; the switch is not back yet.
    const again = new Rig(rig.advance(1_000), {}, rig.saved(), rig.ids);
    expect(again.core.listBackends('web').find((b) => b.key === b1.key)?.state).toBe('draining');
    for (let i = 0; i < 40; i++) {
      expect(eventsOf(again.keep(again.core.tick(again.advance(250))), 'backend_state')).toEqual([]);
    }
    again.keep(again.core.switchUp(SW1, again.now));
    for (let i = 0; i < 40; i++) {
      expect(eventsOf(again.keep(again.core.tick(again.advance(250))), 'backend_state')).toEqual([]);
    }
    answerCounts(again, again.core.countConnections(again.now), () => 0);
    const done = again.keep(again.core.tick(again.advance(50)));
    expect(eventsOf(done, 'backend_state').map((e) => [e.backend, e.to])).toEqual([[b1.key, 'drained']]);
  });

  it('with no switch at all, a started controller waits out the grace period, then completes', () => {
    const rig = setup();
    const b1 = rig.core.listBackends('web')[0];
    rig.keep(rig.core.drainBackend('web', b1.key, rig.now).effects);
    settle(rig);
    const again = new Rig(rig.advance(1_000), {}, rig.saved(), rig.ids);
    const started = again.now;
    expect(eventsOf(again.core.tick(again.advance(SWITCH_RETURN_GRACE_MS - 1_000)), 'backend_state')).toEqual([]);
    again.now = started + SWITCH_RETURN_GRACE_MS;
    expect(eventsOf(again.core.tick(again.now), 'backend_state').map((e) => e.to)).toEqual(['drained']);
  });

  it('a graceful remove deletes the backend when its drain completes', () => {
    const rig = setup();
    const b1 = rig.core.listBackends('web')[0];
    rig.keep(rig.core.removeBackend('web', b1.key, {}, rig.now).effects);
    settle(rig);
    rig.advance(400);
    answerCounts(rig, rig.core.countConnections(rig.now), () => 0);
    const done = rig.keep(rig.core.tick(rig.advance(50)));
    expect(eventsOf(done, 'backend_state').map((e) => e.to)).toEqual(['drained', 'removed']);
    expect(storeOf(done, 'delete_backend')).toEqual([{ kind: 'delete_backend', id: b1.id }]);
    expect(rig.core.listBackends('web').map((b) => b.key)).toEqual(['10.0.0.12:8080']);
  });
});
