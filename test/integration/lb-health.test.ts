// Health checks on a real Open vSwitch with real servers in network namespaces: TCP probes through
// the switch from the monitor address (a killed server is `down` within interval × fall + one
// interval, new connections stop failing, other backends' connections are untouched; restarted, it
// is `active` after `rise` checks and its share grows by slow start), port status (a backend's veth
// set down: `down` at once), UDP probes (ICMP port unreachable), HTTP checks (500: down, 200: up)
// on a backend given with --mac/--switch-port, and bad parameters refused with nothing changed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc, TRAFFIC_DIST_DIR, type ServerProc } from '../../tools/traffic/procs.js';
import { handleApi } from '../../apps/lb/web/routes.js';
import type { BackendView } from '../../apps/lb/control.js';

const MONITOR_IP = '10.0.0.250';
const INTERVAL = 500;
const FALL = 3;
const RISE = 2;
const SLOW_START = 6_000;

describe('health checks (real Open vSwitch, probes through the switch)', () => {
  const rig = new LbRig({ clients: ['c1', 'c2'], backends: ['b1', 'b2', 'b3', 'b4'], lb: { monitor: { ip: MONITOR_IP } } });
  const servers = new Map<string, ServerProc>();
  const dir = mkdtempSync(join(tmpdir(), 'hf-health-'));
  const backend = (svc: string, host: string): BackendView => rig.lb.listBackends(svc).find((b) => b.ip === rig.ip(host))!;

  beforeAll(async () => {
    await rig.start();
    for (const b of ['b1', 'b2', 'b3']) {
      servers.set(b, await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080 }));
      // ICMP errors are rate-limited per destination by default; the UDP check wants each one.
      await rig.lab.exec(b, ['sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0']);
    }
    rig.lb.addService({
      name: 'web', vip: '10.0.0.100', port: 80, slots: 64,
      health: { type: 'tcp', intervalMs: INTERVAL, timeoutMs: 300, rise: RISE, fall: FALL, slowStartMs: SLOW_START },
    });
    for (const b of ['b1', 'b2', 'b3']) rig.lb.addBackend('web', { ip: rig.ip(b), port: 8080, weight: 1 });
    await until('backends active, slots settled', () => rig.lb.getService('web').migrations.length === 0
      && rig.lb.listBackends('web').every((b) => b.state === 'active' && b.health.lastOk === true), 20_000);
  }, 90_000);
  afterAll(async () => {
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a killed server is down within interval × fall + one interval; new connections stop failing; the others\' connections survive; back with slow start', async () => {
    const durationMs = 30_000;
    const clientStart = Date.now();
    const client = startClientProc((cmd) => rig.spawn('c1', cmd), {
      target: '10.0.0.100:80', long: 30, intervalMs: 100, newRate: 20, durationMs, stallMs: 10_000,
    });
    await sleep(3_000);
    const v = backend('web', 'b2');
    expect(v.health).toMatchObject({ check: 'tcp', status: 'up', lastOk: true, lastResult: 'syn-ack' });
    expect(v.health.rttMs).not.toBeNull();

    const killedAt = Date.now();
    await servers.get('b2')!.kill();
    await until('b2 down', () => backend('web', 'b2').state === 'down', 10_000);
    const downAfter = Date.now() - killedAt;
    expect(downAfter).toBeLessThanOrEqual(INTERVAL * FALL + INTERVAL + 300);
    expect(backend('web', 'b2').slots).toBe(0);
    const downAt = Date.now() - clientStart;

    // Restart the server: active after `rise` good checks, then its share grows step by step.
    await sleep(3_000);
    const restartedAt = Date.now();
    servers.set('b2', await startServerProc((cmd) => rig.spawn('b2', cmd), { name: 'b2', tcp: 8080 }));
    await until('b2 active again', () => backend('web', 'b2').state === 'active', 10_000);
    expect(Date.now() - restartedAt).toBeLessThanOrEqual(INTERVAL * (RISE + 1) + 1_000);
    const shares: { t: number; slots: number }[] = [];
    const upAt = Date.now();
    while (Date.now() - upAt < SLOW_START + 2_000) {
      shares.push({ t: Date.now() - upAt, slots: backend('web', 'b2').slots });
      await sleep(250);
    }
    const r = await client.final(durationMs + 30_000);

    // Slow start: one slot (or a few) at first, about half way at half time, the full share at the end.
    const full = Math.round(64 / 3);
    expect(shares[0]!.slots).toBeLessThanOrEqual(3);
    const mid = shares.filter((s) => s.t >= SLOW_START / 2 - 500 && s.t <= SLOW_START / 2 + 500).map((s) => s.slots);
    for (const n of mid) {
      expect(n).toBeGreaterThan(3);
      expect(n).toBeLessThan(full - 2);
    }
    expect(Math.abs(shares.at(-1)!.slots - full)).toBeLessThanOrEqual(1);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!.slots).toBeGreaterThanOrEqual(shares[i - 1]!.slots);

    // Only connections on b2 broke; new connections failed only before b2 was down.
    // (A broken connection's re-open is a new connection: it may be refused by b2 until b2 is down.)
    const longBroken = r.long.failures.filter((f) => f.backend !== 'b2' && !(f.kind === 'connect' && f.tMs <= downAt + 500));
    expect(longBroken, JSON.stringify(longBroken.slice(0, 5))).toEqual([]);
    const lateNew = r.newConns.failures.filter((f) => f.tMs > downAt + 500);
    expect(lateNew, JSON.stringify(lateNew.slice(0, 5))).toEqual([]);
    expect(r.newConns.ok).toBeGreaterThan(100);
    const events = rig.lb.eventsSince(0, 1000).map((e) => e.event);
    expect(events).toContainEqual(expect.objectContaining({ type: 'backend_health', backend: `${rig.ip('b2')}:8080`, health: 'down', check: 'tcp' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'backend_slow_start', backend: `${rig.ip('b2')}:8080`, done: true }));
  }, 120_000);

  it('a backend whose veth goes down is down at once (port status), and back by its checks', async () => {
    rig.lb.updateService('web', { health: { intervalMs: 5_000, timeoutMs: 1_000 } });
    await sleep(500);
    const veth = rig.lab.host('b3').veth;
    const t0 = Date.now();
    expect((await rig.lab.exec('b3', ['ip', 'link', 'set', veth, 'down'])).code).toBe(0);
    await until('b3 down', () => backend('web', 'b3').state === 'down', 5_000);
    expect(Date.now() - t0).toBeLessThan(1_500); // far below one 5 s interval: the port status did it
    expect(backend('web', 'b3').health.lastResult).toMatch(/port .* is down/);
    expect((await rig.lab.exec('b3', ['ip', 'link', 'set', veth, 'up'])).code).toBe(0);
    rig.lb.updateService('web', { health: { intervalMs: INTERVAL, timeoutMs: 300 } });
    await until('b3 active again', () => backend('web', 'b3').state === 'active', 15_000);
  }, 60_000);

  it('a UDP backend that stops listening is down by ICMP port unreachable', async () => {
    rig.lb.addService({ name: 'dns', vip: '10.0.0.100', port: 53, proto: 'udp', slots: 16, health: { intervalMs: 1_000, timeoutMs: 500, fall: 2, rise: 2, slowStartMs: 0 } });
    const udp = await startServerProc((cmd) => rig.spawn('b4', cmd), { name: 'b4', udp: 5353 });
    await rig.lab.exec('b4', ['sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0']);
    rig.lb.addBackend('dns', { ip: rig.ip('b4'), port: 5353, weight: 1 });
    await until('b4 active', () => backend('dns', 'b4').state === 'active', 15_000);
    await sleep(2_500);
    expect(backend('dns', 'b4').health).toMatchObject({ check: 'udp', status: 'up' });
    await udp.kill();
    await until('b4 down', () => backend('dns', 'b4').state === 'down', 10_000);
    expect(backend('dns', 'b4').health.lastResult).toBe('icmp port unreachable');
  }, 60_000);

  it('an http check on a --mac/--switch-port backend: 500 is down, 200 is up again', async () => {
    const statusFile = join(dir, 'b4-status');
    writeFileSync(statusFile, '200\n');
    rig.spawn('b4', [process.execPath, join(TRAFFIC_DIST_DIR, 'http-check-server.js'), '--port', '9090', '--status-file', statusFile, '--name', 'b4']);
    await sleep(1_000);
    rig.lb.addService({
      name: 'api', vip: '10.0.0.101', port: 80, slots: 16,
      health: { type: 'http', intervalMs: INTERVAL, timeoutMs: 300, rise: RISE, fall: FALL, http: { path: '/health', status: '200-299' }, slowStartMs: 0 },
    });
    const h = rig.lab.host('b4');
    rig.lb.addBackend('api', { ip: h.ip, port: 9090, weight: 1, mac: h.mac, switchPort: h.ofport });
    await until('http check passes', () => backend('api', 'b4').health.lastResult === 'http 200', 10_000);
    expect(backend('api', 'b4').state).toBe('active');
    writeFileSync(statusFile, '500\n');
    await until('b4 down by http 500', () => backend('api', 'b4').state === 'down', INTERVAL * (FALL + 2) + 2_000);
    expect(backend('api', 'b4').health.lastResult).toBe('http 500 (expected 200-299)');
    writeFileSync(statusFile, '200\n');
    await until('b4 active again', () => backend('api', 'b4').state === 'active', INTERVAL * (RISE + 2) + 2_000);
  }, 60_000);

  it('bad check parameters are refused with one line, and nothing changes', () => {
    const before = rig.lb.getService('web').health;
    for (const [health, msg] of [
      [{ intervalMs: 0 }, /interval/],
      [{ rise: 0 }, /rise/],
      [{ intervalMs: 1000, timeoutMs: 2000 }, /timeout \(2000 ms\) must be shorter than the interval/],
      [{ type: 'icmp' }, /type must be one of/],
      [{ http: { status: '600-700' } }, /status/],
    ] as const) {
      const r = handleApi(rig.lb, { method: 'PATCH', path: '/services/web', query: new URLSearchParams(), body: { health } });
      expect(r.status).toBe(400);
      expect((r.body as { error: string }).error).toMatch(msg);
      const add = handleApi(rig.lb, { method: 'POST', path: '/services', query: new URLSearchParams(), body: { name: 'bad', vip: '10.0.0.102', port: 80, health } });
      expect(add.status).toBe(400);
    }
    expect(rig.lb.getService('web').health).toEqual(before);
    expect(rig.lb.listServices().map((s) => s.name)).not.toContain('bad');
  });
});
