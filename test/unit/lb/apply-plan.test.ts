import { afterEach, describe, expect, it } from 'vitest';
import { exportConfig, parseConfig, type DesiredConfig } from '../../../apps/lb/config-file.js';
import { formatPlan, planApply } from '../../../apps/lb/apply-plan.js';
import type { LoadBalancer } from '../../../apps/lb/app.js';
import { testLb, type TestLb } from '../../helpers/test-lb.js';

function config(text: string): DesiredConfig {
  const r = parseConfig(text);
  expect(r.problems).toEqual([]);
  return r.config!;
}

const WEB = `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - 10.0.0.11:8080
      - { address: 10.0.0.12:8080, weight: 3 }
`;

const open: TestLb[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** A real load balancer (no switch), closed after the test. */
function newLb(): LoadBalancer {
  const t = testLb();
  open.push(t);
  return t.lb;
}

function liveWith(text: string): LoadBalancer {
  const lb = newLb();
  for (const s of config(text).services) {
    lb.addService(s.spec);
    for (const b of s.backends) lb.addBackend(s.spec.name, b.spec);
  }
  return lb;
}

describe('parseConfig', () => {
  it('reads YAML and JSON alike, filling the defaults of `service add`', () => {
    const y = config(WEB);
    const j = config(JSON.stringify({ services: [{ name: 'web', vip: '10.0.0.100', port: 80, backends: ['10.0.0.11:8080', { address: '10.0.0.12:8080', weight: 3 }] }] }));
    expect(j.services.map((s) => [s.spec, s.backends.map((b) => b.spec)])).toEqual(y.services.map((s) => [s.spec, s.backends.map((b) => b.spec)]));
    expect(y.services[0]!.spec).toMatchObject({ proto: 'tcp', mode: 'nat', slots: 256 });
    expect(y.services[0]!.backends.map((b) => [b.key, b.spec.weight, b.line])).toEqual([['10.0.0.11:8080', 1, 7], ['10.0.0.12:8080', 3, 8]]);
  });

  it('reports every problem on its own line, with the line number', () => {
    const r = parseConfig(`services:
  - name: web
    vip: 10.0.0.300
    port: 80
    backends:
      - { address: 10.0.0.11:8080, weight: 5000 }
      - 10.0.0.12:8080
    colour: blue
`);
    expect(r.config).toBeUndefined();
    expect(r.problems.map((p) => p.line)).toEqual([3, 6, 8]);
    expect(r.problems[0]!.message).toContain('vip must be an IPv4 address');
    expect(r.problems[1]!.message).toContain('weight must be a whole number from 0 to 1000');
    expect(r.problems[2]!.message).toContain('unknown service setting "colour"');
  });

  it('reports YAML syntax errors with their line, duplicates, and missing fields', () => {
    expect(parseConfig('services:\n  - name: web\n    vip: [10.0.0.1\n').problems[0]!.line).toBe(3);
    const r = parseConfig(`services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends: [10.0.0.11:8080, 10.0.0.11:8080]
  - name: web
    port: 81
`);
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [5, 'service web: backend 10.0.0.11:8080 appears twice (first on line 5)'],
      [6, 'service web: "vip" is required'],
    ]);
  });
});

describe('planApply', () => {
  it('creates everything from empty, services before their backends', () => {
    const plan = planApply(config(WEB), []);
    expect(plan.steps.map((s) => `${s.op} ${'key' in s ? s.key : s.service}`)).toEqual([
      'add-service web', 'add-backend 10.0.0.11:8080', 'add-backend 10.0.0.12:8080',
    ]);
    expect(formatPlan(plan)).toContain('plan: 3 to add, 0 to change, 0 to remove');
  });

  it('changes only what differs: a weight', () => {
    const lb = liveWith(WEB);
    const plan = planApply(config(WEB.replace('weight: 3', 'weight: 2')), lb.listServices());
    expect(plan.steps).toEqual([{ op: 'set-weight', service: 'web', key: '10.0.0.12:8080', from: 3, to: 2 }]);
  });

  it('removes a backend missing from the file gracefully, at once only when the file says so', () => {
    const lb = liveWith(WEB);
    const without = WEB.replace('      - 10.0.0.11:8080\n', '');
    expect(planApply(config(without), lb.listServices()).steps).toEqual([{ op: 'remove-backend', service: 'web', key: '10.0.0.11:8080', now: false }]);
    const now = without.replace('    backends:', '    removeMissingBackends: now\n    backends:');
    expect(planApply(config(now), lb.listServices()).steps).toEqual([{ op: 'remove-backend', service: 'web', key: '10.0.0.11:8080', now: true }]);
  });

  it('applies service settings in place and refuses changes that would rebuild the group', () => {
    const lb = liveWith(WEB);
    const plan = planApply(config(WEB.replace('    port: 80\n', '    port: 80\n    drainDeadlineMs: 60000\n')), lb.listServices());
    expect(plan.steps).toMatchObject([{ op: 'update-service', service: 'web', settings: { drainDeadlineMs: 60000 } }]);
    const bad = planApply(config(WEB.replace('    port: 80\n', '    port: 80\n    slots: 64\n')), lb.listServices());
    expect(bad.problems).toEqual([{ line: 6, message: expect.stringContaining('service web: slots cannot change on a live service (256 → 64)') }]);
  });

  it('export then apply is a no-op (drained backends and non-default settings included)', () => {
    const lb = liveWith(WEB);
    lb.addService({ name: 'dns', vip: '10.0.0.100', port: 53, proto: 'udp', slots: 16, migration: { minMs: 100, quietMs: 100, maxMs: 1000 } });
    lb.addBackend('dns', { ip: '10.0.0.21', port: 5353, weight: 1, mac: '02:00:00:00:00:21', switchPort: 4 });
    lb.drainBackend('web', '10.0.0.11:8080');
    const text = exportConfig(lb.listServices());
    const plan = planApply(config(text), lb.listServices());
    expect(plan).toEqual({ steps: [], notes: [], problems: [] });
    expect(formatPlan(plan)).toBe('no changes: the live state equals the file');
  });

  it('a service missing from the file loses its backends gracefully first', () => {
    const lb = liveWith(WEB);
    const plan = planApply({ services: [] }, lb.listServices());
    expect(plan.steps.map((s) => s.op)).toEqual(['remove-backend', 'remove-backend']);
    expect(plan.notes[0]).toContain('apply again once they are gone');
    const empty = newLb();
    empty.addService({ name: 'web', vip: '10.0.0.100', port: 80 });
    expect(planApply({ services: [] }, empty.listServices()).steps).toEqual([{ op: 'remove-service', service: 'web' }]);
  });
});
