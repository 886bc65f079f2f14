import { afterEach, describe, expect, it } from 'vitest';
import { assertBindAllowed, isLoopbackHost, tokenMatches } from '../../../controller/management/auth.js';
import { sampleMetrics, type Reading } from '../../../apps/lb/web/metrics.js';
import { backendSpec, handleApi, serviceInput } from '../../../apps/lb/web/routes.js';
import type { LbControl } from '../../../apps/lb/control.js';
import { SWITCH_RETURN_GRACE_MS } from '../../../apps/lb/core/drain.js';
import { testLb, type TestLb } from '../../helpers/test-lb.js';
import { until } from '../../helpers/wait-for.js';
import type { ServiceView } from '../../../apps/lb/control.js';

describe('auth', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
  it('refuses an open non-loopback bind', () => {
    expect(() => assertBindAllowed('0.0.0.0', undefined)).toThrow(/set a token/);
    expect(() => assertBindAllowed('0.0.0.0', 's3cret')).not.toThrow();
    expect(() => assertBindAllowed('127.0.0.1', undefined)).not.toThrow();
  });
  it('compares tokens exactly', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('abc', undefined)).toBe(false);
  });
});

describe('body parsing', () => {
  it('takes a service with defaults left to the LB', () => {
    expect(serviceInput({ name: 'web', vip: '10.0.0.100', port: 80, mode: 'dsr' })).toEqual({ name: 'web', vip: '10.0.0.100', port: 80, mode: 'dsr' });
  });
  it('names the field that is wrong', () => {
    expect(() => serviceInput({ name: 'web', vip: '10.0.0.100' })).toThrow('"port" is required');
    expect(() => serviceInput({ name: 'web', vip: '10.0.0.100', port: '80' })).toThrow('"port" must be an integer');
    expect(() => serviceInput({ name: 'web', vip: '10.0.0.100', port: 80, proto: 'sctp' })).toThrow('"proto" must be one of tcp, udp');
    expect(() => serviceInput({ name: 'web', vip: '10.0.0.100', port: 80, colour: 'red' })).toThrow('unknown field "colour"');
    expect(() => serviceInput([1])).toThrow('the body must be a JSON object');
  });
  it('defaults a backend weight to 1', () => {
    expect(backendSpec({ ip: '10.0.0.1', port: 8080 })).toEqual({ ip: '10.0.0.1', port: 8080, weight: 1 });
  });
});

describe('routes', () => {
  const open: TestLb[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  const newLb = (): LbControl => {
    const t = testLb();
    open.push(t);
    return t.lb;
  };
  const call = (lb: LbControl, method: string, path: string, body?: unknown, query = '') =>
    handleApi(lb, { method, path, query: new URLSearchParams(query), body });

  it('runs the service and backend lifecycle', () => {
    const lb = newLb();
    expect(call(lb, 'POST', '/services', { name: 'web', vip: '10.0.0.100', port: 80, slots: 8 }).status).toBe(201);
    // A static backend (its MAC and switch port given) is active at once; one found by ARP would
    // wait in `resolving` for a switch to answer.
    expect(call(lb, 'POST', '/services/web/backends', { ip: '10.0.0.1', port: 8080, mac: '02:00:00:00:00:01', switchPort: 1 }).status).toBe(201);
    const b = call(lb, 'GET', '/services/web/backends/10.0.0.1%3A8080');
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ key: '10.0.0.1:8080', slots: 8, state: 'active' });
    expect(call(lb, 'PUT', '/services/web/backends/10.0.0.1:8080/weight', { weight: 5 }).body).toMatchObject({ weight: 5 });
    expect(call(lb, 'POST', '/services/web/backends/10.0.0.1:8080/drain').body).toMatchObject({ state: 'draining' });
    expect(call(lb, 'POST', '/services/web/backends/10.0.0.1:8080/enable').body).toMatchObject({ state: 'active' });
    expect(call(lb, 'DELETE', '/services/web/backends/10.0.0.1:8080', undefined, 'now=1').body).toMatchObject({ state: 'removed' });
    expect(call(lb, 'GET', '/services/web/backends').body).toEqual([]);
    expect(call(lb, 'DELETE', '/services/web').body).toEqual({ removed: 'web' });
    const events = call(lb, 'GET', '/events', undefined, 'after=1&limit=2');
    expect((events.body as { id: number }[]).map((e) => e.id)).toEqual([2, 3]);
  });

  it('a graceful removal answers draining; the backend goes once its drain completes', async () => {
    // A clock the test moves, and the real timers (tick every 5 ms) that complete drains.
    let now = 1_000_000;
    const t = testLb({ clock: () => now, tickMs: 5 });
    open.push(t);
    t.lb.start();
    const lb = t.lb;
    call(lb, 'POST', '/services', { name: 'web', vip: '10.0.0.100', port: 80, slots: 8 });
    call(lb, 'POST', '/services/web/backends', { ip: '10.0.0.1', port: 8080, mac: '02:00:00:00:00:01', switchPort: 1 });
    expect(call(lb, 'DELETE', '/services/web/backends/10.0.0.1:8080').body).toMatchObject({ state: 'draining', removeWhenDrained: true });
    // No switch has come back to count its connections yet: the drain waits.
    await new Promise((r) => setTimeout(r, 50));
    expect(call(lb, 'GET', '/services/web/backends').body).toMatchObject([{ key: '10.0.0.1:8080', state: 'draining' }]);
    // Past the grace for switches to return, no switch means no connection anywhere: done.
    now += SWITCH_RETURN_GRACE_MS;
    await until('the drain to complete', () => (call(lb, 'GET', '/services/web/backends').body as unknown[]).length === 0, 3000);
    const states = t.store.eventsSince(0).flatMap((e) => (e.event.type === 'backend_state' ? [`${e.event.to} ${e.event.reason ?? ''}`] : []));
    expect(states).toEqual(['draining remove requested', 'drained its last connection is gone', 'removed graceful remove completed']);
  });

  it('maps errors to statuses with one line', () => {
    const lb = newLb();
    expect(call(lb, 'GET', '/services/nope')).toEqual({ status: 404, body: { error: 'no service named "nope"' } });
    expect(call(lb, 'GET', '/nothing')).toEqual({ status: 404, body: { error: 'no such API endpoint: GET /api/nothing' } });
    expect(call(lb, 'PATCH', '/services').status).toBe(405);
    expect(call(lb, 'POST', '/services', { name: 'web', vip: 'x', port: 80 })).toMatchObject({ status: 400 });
    call(lb, 'POST', '/services', { name: 'web', vip: '10.0.0.100', port: 80 });
    expect(call(lb, 'POST', '/services', { name: 'web', vip: '10.0.0.100', port: 80 }).status).toBe(409);
    expect(call(lb, 'GET', '/events', undefined, 'limit=abc')).toMatchObject({ status: 400 });
    expect(call(lb, 'PUT', '/services/web/backends/x/weight', {})).toEqual({ status: 400, body: { error: '"weight" is required' } });
  });
});

describe('metrics', () => {
  const svc = (packets: number, pins: number): ServiceView => ({
    name: 'web', backends: [{ key: 'a', pins, slots: 4, traffic: { packets, bytes: packets * 100 } }],
  }) as unknown as ServiceView;
  const reading = (at: number, packetIns: number, packets: number): Reading => ({
    at, counters: { packetIns, pinsInstalled: packetIns / 2, pinsRemoved: 0, migrationsActive: 3, slotsMoved: 0 }, services: [svc(packets, 7)],
  });

  it('turns counters into rates per second', () => {
    const s = sampleMetrics(reading(1000, 100, 1000), reading(3000, 300, 5000));
    expect(s.intervalMs).toBe(2000);
    expect(s.packetInsPerSec).toBe(100);
    expect(s.pinsInstalledPerSec).toBe(50);
    expect(s.migrationsActive).toBe(3);
    expect(s.pins).toBe(7);
    expect(s.backends[0]).toMatchObject({ packetsPerSec: 2000, bytesPerSec: 200000, packets: 5000 });
  });
  it('has no rates without a previous reading and survives counter resets', () => {
    expect(sampleMetrics(undefined, reading(1000, 100, 10)).packetInsPerSec).toBe(0);
    expect(sampleMetrics(reading(1000, 500, 10), reading(2000, 20, 10)).packetInsPerSec).toBe(20);
  });
});
