// The control surface rejects bad input with one clear line and changes nothing (checked through
// the views and the store).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Controller } from '../../../controller/index.js';
import { LoadBalancer } from '../../../apps/lb/app.js';
import { LbError } from '../../../apps/lb/control.js';
import { expectLbError } from '../../helpers/lb-error.js';
import { Store } from '../../../db/store.js';

describe('LoadBalancer control surface', () => {
  let controller: Controller;
  let store: Store;
  let lb: LoadBalancer;

  beforeEach(() => {
    controller = new Controller({ listeners: [] });
    store = Store.open(':memory:');
    lb = new LoadBalancer({ controller, store });
    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16 });
    lb.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 });
  });
  afterEach(() => {
    lb.stop();
    store.close();
  });

  function snapshot() {
    return JSON.stringify({ services: lb.listServices(), stored: store.listServices(), backends: store.listBackends() });
  }

  function rejects(fn: () => unknown, code: LbError['code'], re: RegExp) {
    const before = snapshot();
    const events = store.lastEventId();
    expect(expectLbError(fn, code, re).message).not.toContain('\n');
    expect(snapshot()).toBe(before);
    expect(store.lastEventId()).toBe(events);
  }

  it('rejects a duplicate VIP:port/proto and a duplicate name', () => {
    rejects(() => lb.addService({ name: 'web2', vip: '10.0.0.100', port: 80 }), 'conflict', /already service web/);
    rejects(() => lb.addService({ name: 'web', vip: '10.0.0.101', port: 80 }), 'conflict', /already exists/);
  });
  it('rejects bad addresses and out-of-range weights', () => {
    rejects(() => lb.addBackend('web', { ip: '10.0.0.300', weight: 1 }), 'invalid', /backend address/);
    rejects(() => lb.addBackend('web', { ip: '10.0.0.12', weight: 5000 }), 'invalid', /weight/);
    rejects(() => lb.setWeight('web', '10.0.0.11:8080', -2), 'invalid', /weight/);
    rejects(() => lb.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1 }), 'conflict', /already has backend/);
  });
  it('rejects unknown services and backends', () => {
    rejects(() => lb.addBackend('nope', { ip: '10.0.0.12', weight: 1 }), 'not_found', /no service named "nope"/);
    rejects(() => lb.drainBackend('web', '10.0.0.99'), 'not_found', /has no backend 10.0.0.99/);
    rejects(() => lb.removeBackend('web', '10.0.0.11:9999'), 'not_found', /has no backend/);
    rejects(() => lb.removeService('nope'), 'not_found', /no service/);
  });
  it('accepts good changes, records them, and keeps them across a restart', () => {
    lb.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 3, mac: '02:00:00:00:00:12', switchPort: 2 });
    const view = lb.getService('web');
    const owned = (k: string) => view.slotOwners.filter((o) => o === k).length;
    // Static backends are active at once; with no switch the migrations wait in query state.
    expect(view.backends.map((b) => b.state)).toEqual(['active', 'active']);
    expect(owned('10.0.0.11:8080') + view.migrations.filter((m) => m.from === '10.0.0.11:8080').length).toBeGreaterThan(0);
    lb.drainBackend('web', '10.0.0.11:8080');
    expect(lb.listBackends('web')[0].state).toBe('draining');
    const types = store.eventsSince(0).map((e) => e.event.type);
    expect(types).toContain('service_added');
    expect(types).toContain('backend_state');
    lb.stop();
    const again = new LoadBalancer({ controller: new Controller({ listeners: [] }), store });
    expect(again.listBackends('web').map((b) => [b.key, b.state, b.weight])).toEqual([
      ['10.0.0.11:8080', 'draining', 1], ['10.0.0.12:8080', 'active', 3],
    ]);
    expect(again.getService('web').slotOwners).toEqual(lb.getService('web').slotOwners);
    again.stop();
  });
});
