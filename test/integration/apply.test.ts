// `holdfast apply` and `holdfast export` against the real `holdfast start` process and a real Open
// vSwitch (ovs profile): create from empty, change a weight, remove a backend (drained first: its
// connections carry on and end cleanly), a file with three errors gets three lines and changes
// nothing, --dry-run changes nothing, and export then apply is a no-op.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceView } from '../../apps/lb/control.js';
import { ProcRig, sleep } from '../helpers/proc-rig.js';
import { until } from '../helpers/wait-for.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';

const VIP = '10.0.0.100';

describe('holdfast apply / export (real holdfast process, real Open vSwitch)', () => {
  const rig = new ProcRig({ clients: ['c1'], backends: ['b1', 'b2'] });
  const key = (b: string) => `${rig.ip(b)}:8080`;
  let n = 0;
  const file = (text: string): string => {
    const f = join(rig.dir, `config-${n++}.yaml`);
    writeFileSync(f, text);
    return f;
  };
  const services = async (): Promise<ServiceView[]> => JSON.parse(await rig.ok(['service', 'list', '--json'])) as ServiceView[];
  /** What apply may change: services, settings, backends with weights and states. */
  const shape = async () => (await services()).map((s) => ({
    name: s.name, vip: s.vip, port: s.port, slots: s.slots, drainDeadlineMs: s.drainDeadlineMs,
    backends: s.backends.map((b) => [b.key, b.weight, b.state, b.removeWhenDrained]),
  }));
  const web = (backends: string, extra = ''): string => `services:
  - name: web
    vip: ${VIP}
    port: 80
    slots: 32${extra}
    backends:
${backends}`;

  beforeAll(async () => {
    await rig.start();
    for (const b of ['b1', 'b2']) await startServerProc((cmd) => rig.spawn(b, cmd), { name: b, tcp: 8080 });
  }, 60_000);
  afterAll(async () => {
    await rig.stop();
  });

  it('creates services and backends from empty; --dry-run first changes nothing', async () => {
    const f = file(web(`      - ${key('b1')}\n      - { address: ${key('b2')}, weight: 1 }\n`));
    const dry = await rig.ok(['apply', '-f', f, '--dry-run']);
    expect(dry).toContain(`+ service web: ${VIP}:80/tcp nat, 32 slots`);
    expect(dry).toContain(`+ backend web ${key('b1')} (weight 1)`);
    expect(dry).toContain('plan: 3 to add, 0 to change, 0 to remove');
    expect(await services()).toEqual([]);
    const out = await rig.ok(['apply', '-f', f]);
    expect(out).toContain('applied 3 change(s)');
    await until('backends active', async () => (await services())[0]?.backends.every((b) => b.state === 'active') ?? false, 20_000);
    // Traffic reaches both.
    const c = startClientProc((cmd) => rig.spawn('c1', cmd), { target: `${VIP}:80`, newRate: 50, durationMs: 2_000 });
    const r = await c.final();
    expect(r.newConns.failed).toBe(0);
    expect(Object.keys(r.newConns.byBackend).sort()).toEqual(['b1', 'b2']);
  }, 60_000);

  it('changes a weight (and a setting) and nothing else', async () => {
    const f = file(web(`      - ${key('b1')}\n      - { address: ${key('b2')}, weight: 3 }\n`, '\n    drainDeadlineMs: 60000'));
    const before = await shape();
    const dry = await rig.ok(['apply', '-f', f, '--dry-run']);
    expect(dry.trim().split('\n')).toEqual([
      '~ service web: drainDeadlineMs 900000 → 60000',
      `~ backend web ${key('b2')}: weight 1 → 3`,
      'plan: 0 to add, 2 to change, 0 to remove',
    ]);
    expect(await shape()).toEqual(before);
    await rig.ok(['apply', '-f', f]);
    const [s] = await services();
    expect(s!.drainDeadlineMs).toBe(60_000);
    expect(s!.backends.map((b) => [b.key, b.weight])).toEqual([[key('b1'), 1], [key('b2'), 3]]);
    await until('slots follow the weights', async () => {
      const v = (await services())[0]!;
      return v.migrations.length === 0 && v.slotOwners.filter((o) => o === key('b2')).length === 24;
    }, 20_000);
  }, 60_000);

  it('a file with three errors gets three lines and changes nothing', async () => {
    const before = await shape();
    const f = file(`services:
  - name: web
    vip: ${VIP}
    port: 80
    slots: 32
    backends:
      - { address: ${key('b1')}, weight: -1 }
      - 10.0.0.256:8080
    colour: blue
`);
    const r = await rig.cli(['apply', '-f', f]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `holdfast: ${f}:7: service web, backend ${key('b1')}: weight must be a whole number from 0 to 1000, got -1`,
      `holdfast: ${f}:8: service web: backend address must be an IPv4 address like 10.0.0.1, got "10.0.0.256"`,
      `holdfast: ${f}:9: unknown service setting "colour" (allowed: name, vip, port, proto, mode, slots, switches, pinIdleTimeout, migration, drainDeadlineMs, tracking, maxQuerySlots, backends, removeMissingBackends)`,
    ]);
    expect(r.stdout).toBe('');
    expect(await shape()).toEqual(before);
  }, 30_000);

  it('export then apply is a no-op', async () => {
    const exported = await rig.ok(['export']);
    expect(exported).toContain('drainDeadlineMs: 60000');
    const before = await shape();
    const eventsBefore = JSON.parse(await rig.ok(['events', '--json', '--limit', '1000'])) as unknown[];
    const out = await rig.ok(['apply', '-f', file(exported)]);
    expect(out.trim()).toBe('no changes: the live state equals the file');
    expect(await shape()).toEqual(before);
    const eventsAfter = JSON.parse(await rig.ok(['events', '--json', '--limit', '1000'])) as unknown[];
    expect(eventsAfter.length).toBe(eventsBefore.length);
  }, 30_000);

  it('removes a backend missing from the file gracefully: drained first, its connections survive', async () => {
    // Long-lived connections on both backends, a message every 200 ms for 12 s.
    const client = startClientProc((cmd) => rig.spawn('c1', cmd), { target: `${VIP}:80`, long: 20, intervalMs: 200, durationMs: 12_000 });
    await until('long connections on both backends', async () => {
      const v = (await services())[0]!;
      return v.backends.every((b) => b.connections >= 2);
    }, 15_000);
    const f = file(web(`      - { address: ${key('b2')}, weight: 3 }\n`, '\n    drainDeadlineMs: 60000'));
    const dry = await rig.ok(['apply', '-f', f, '--dry-run']);
    expect(dry).toContain(`- backend web ${key('b1')}: drain, then remove (its connections finish first)`);
    await rig.ok(['apply', '-f', f]);
    // Still there, draining, while its connections carry on.
    await sleep(2_000);
    const mid = (await services())[0]!.backends.find((b) => b.key === key('b1'));
    expect(mid).toMatchObject({ state: 'draining', removeWhenDrained: true });
    expect(mid!.connections).toBeGreaterThan(0);
    const report = await client.final();
    expect(report.long.failureCount).toBe(0);
    expect(report.long.stickinessViolations).toBe(0);
    expect(report.long.connsByBackend.b1 ?? 0).toBeGreaterThan(0);
    // Once they have ended, the backend goes.
    await until('b1 removed', async () => (await services())[0]!.backends.every((b) => b.key !== key('b1')), 20_000);
    const again = await rig.ok(['apply', '-f', f]);
    expect(again.trim()).toBe('no changes: the live state equals the file');
  }, 90_000);
});
