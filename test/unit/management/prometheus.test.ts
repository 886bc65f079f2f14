import { afterEach, describe, expect, it } from 'vitest';
import type { ManagementServer } from '../../../controller/management/server.js';
import { startLbManagementServer } from '../../../apps/lb/web/server.js';
import { testLb, type TestLb } from '../../helpers/test-lb.js';
import { promtoolCheckMetrics } from '../../helpers/promtool.js';

const open: { server: ManagementServer; t: TestLb }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.server.close();
    await o.t.close();
  }
});

/** The metrics of the real load balancer (no switch). */
async function start(token?: string) {
  const t = testLb();
  const server = await startLbManagementServer({ host: '127.0.0.1', port: 0, token, control: t.lb, metricsIntervalMs: 100 });
  open.push({ server, t });
  return { lb: t.lb, base: `http://127.0.0.1:${server.address.port}` };
}

describe('GET /metrics', () => {
  it('serves the Prometheus text format that promtool accepts, with a series per backend', async () => {
    const { lb, base } = await start();
    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80 });
    // Static backends (MAC and switch port given) are active at once, without ARP.
    lb.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 2, mac: '02:00:00:00:00:11', switchPort: 1 });
    lb.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 });
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(text).toContain('holdfast_backend_bytes_total{service="web",backend="10.0.0.11:8080"} 0');
    expect(text).toContain('holdfast_backend_weight{service="web",backend="10.0.0.11:8080"} 2');
    expect(text).toContain('holdfast_backend_state{service="web",backend="10.0.0.12:8080",state="active"} 1');
    expect(text).toContain('# TYPE holdfast_migration_duration_seconds histogram');
    expect(text).toContain('holdfast_event_loop_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');
    const check = await promtoolCheckMetrics(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });

  it('follows the API token rules', async () => {
    const { base } = await start('s3cret');
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } })).status).toBe(405);
  });
});
