// Each API change is one SQLite transaction, state and event together: `kill -9` of the real
// `holdfast start` process in the middle of a burst of API changes, 20 times, never leaves a change
// half-written. After each restart the state agrees with the event log: every backend has its
// `backend_added`, every weight is the last `backend_weight`, every backend removed has its
// `removed` event, no slot points at a backend that is gone.
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, startHoldfastProcess, type HoldfastProcess } from '../helpers/holdfast-process.js';
import type { ServiceView } from '../../apps/lb/control.js';
import type { StoredEvent } from '../../apps/lb/model.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'hf-kill9-'));
afterAll(() => removeDir(dir));

async function call(hf: HoldfastProcess, method: string, path: string, body?: unknown): Promise<number> {
  try {
    const r = await fetch(`${hf.api}/api${path}`, {
      method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0; // the process died under us
  }
}

async function get<T>(hf: HoldfastProcess, path: string): Promise<T> {
  const r = await fetch(`${hf.api}/api${path}`);
  return (await r.json()) as T;
}

/** The state must be what the event log says. */
async function checkConsistent(hf: HoldfastProcess): Promise<number> {
  const svc = await get<ServiceView>(hf, '/services/web');
  const events: StoredEvent[] = [];
  for (let after = 0; ;) {
    const page = await get<StoredEvent[]>(hf, `/events?after=${after}&limit=1000`);
    if (page.length === 0) break;
    events.push(...page);
    after = page.at(-1)!.id;
  }
  const added = new Set<string>();
  const removed = new Set<string>();
  const weight = new Map<string, number>();
  for (const { event: e } of events) {
    if (e.type === 'backend_added') { added.add(e.backend); removed.delete(e.backend); weight.delete(e.backend); }
    if (e.type === 'backend_weight') weight.set(e.backend, e.to);
    if (e.type === 'backend_state' && e.to === 'removed') removed.add(e.backend);
  }
  const live = new Set(svc.backends.map((b) => b.key));
  for (const b of svc.backends) {
    expect(added.has(b.key), `${b.key} has no backend_added event`).toBe(true);
    expect(removed.has(b.key), `${b.key} is listed but was removed`).toBe(false);
    expect(b.weight, `${b.key}: weight without its event`).toBe(weight.get(b.key) ?? 1);
  }
  for (const k of added) if (!live.has(k)) expect(removed.has(k), `${k} vanished without its removed event`).toBe(true);
  // No slot points at a backend that is gone (the view names an unknown owner "#id").
  expect(svc.slotOwners.filter((o) => o !== null && !live.has(o))).toEqual([]);
  return events.length;
}

describe('kill -9 during bursts of API changes', () => {
  it('leaves every change complete or absent, 20 times', async () => {
    let hf = await startHoldfastProcess({ dir });
    expect(await call(hf, 'POST', '/services', { name: 'web', vip: '10.0.0.100', port: 80, slots: 64 })).toBe(201);
    let n = 0;
    for (let round = 0; round < 20; round++) {
      // 200 changes: add backends (given MAC and port: active at once, so slots move), re-weight
      // them, remove some at once; the process is killed somewhere in the middle.
      const burst = (async () => {
        for (let i = 0; i < 200; i++) {
          const k = n++;
          const ip = `10.1.${(k >> 8) & 255}.${k & 255}`;
          const key = `${ip}:8080`;
          if (await call(hf, 'POST', '/services/web/backends', { ip, port: 8080, weight: 1, mac: '02:00:00:00:01:01', switchPort: 1 }) === 0) return;
          if (await call(hf, 'PUT', `/services/web/backends/${key}/weight`, { weight: 2 + (k % 5) }) === 0) return;
          if (k % 3 === 0 && await call(hf, 'DELETE', `/services/web/backends/${key}?now=1`) === 0) return;
        }
      })();
      await new Promise((r) => setTimeout(r, 150 + ((round * 37) % 300)));
      await hf.kill();
      await burst;
      hf = await startHoldfastProcess({ dir, apiPort: hf.apiPort });
      const events = await checkConsistent(hf);
      expect(events).toBeGreaterThan(round);
    }
    await hf.stop();
  }, 240_000);
});
