import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LbEvent, SlotTableSnapshot } from '../../../apps/lb/model.js';
import { EtcdStore } from '../../../db/etcd-store.js';
import type { LbStore } from '../../../apps/lb/store.js';
import { SERVICE_ID_MAX, Store, StoreError } from '../../../db/store.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { backend, service, tempDir } from './fixtures.js';

// The same tests against both implementations of the storage interface: SQLite (the default) and
// etcd (a real etcd started for this file; each test gets its own key prefix). "Reopen" closes
// the store (which ships everything to etcd) and loads a new one from the same place.
interface Impl {
  name: 'sqlite' | 'etcd';
  open(opts?: { maxEvents?: number; pruneEvery?: number }): Promise<LbStore>;
}

let etcd: TestEtcd | undefined;
let prefixNo = 0;
let tmp: ReturnType<typeof tempDir>;

const IMPLS: Impl[] = [
  { name: 'sqlite', open: async (opts = {}) => Store.open(tmp.file(), opts) },
  {
    name: 'etcd',
    open: async (opts = {}) => {
      etcd ??= await startEtcd();
      return EtcdStore.open(etcd.client(), { prefix: `/test${prefixNo}/`, ...opts });
    },
  },
];

afterAll(async () => {
  await etcd?.stop();
});

describe.each(IMPLS)('$name store', (impl) => {
let store: LbStore;

beforeAll(async () => {
  if (impl.name === 'etcd') etcd ??= await startEtcd();
}, 30_000);
beforeEach(async () => {
  tmp = tempDir();
  prefixNo++;
  store = await impl.open();
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

function storeError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected a StoreError, nothing was thrown');
}

describe('services', () => {
  it('round-trips every field, nested objects included', () => {
    const a = service(1, 'web');
    const b = service(2, 'dns', { proto: 'udp', port: 53, mode: 'nat', switches: [], tracking: 'migrations', slots: 8 });
    store.insertService(b);
    store.insertService(a);
    expect(store.getService('web')).toStrictEqual(a);
    expect(store.getService('dns')).toStrictEqual(b);
    expect(store.listServices()).toStrictEqual([a, b]); // by id
    expect(store.getService('nope')).toBeUndefined();
  });

  it('updates by id, including a rename that backends and the slot table follow', () => {
    store.insertService(service(1, 'web'));
    store.insertBackend(backend(5, 'web'));
    store.saveSlotTable('web', { owners: [5, 5], migrations: [] });
    const changed = service(1, 'www', {
      port: 8080,
      pinIdleTimeout: { tcp: 1, udp: 2 },
      migration: { minMs: 3, quietMs: 4, maxMs: 5 },
      switches: ['00000000000000ff'],
    });
    store.updateService(changed);
    expect(store.getService('web')).toBeUndefined();
    expect(store.getService('www')).toStrictEqual(changed);
    expect(store.listBackends('www').map((b) => b.id)).toEqual([5]);
    expect(store.loadSlotTable('www')).toEqual({ owners: [5, 5], migrations: [] });
  });

  it('refuses a duplicate name or VIP with a clear conflict, and changes nothing', () => {
    store.insertService(service(1, 'web', { vip: '10.1.1.1', port: 80, proto: 'tcp' }));
    const dupName = storeError(() => store.insertService(service(2, 'web', { vip: '10.1.1.2' })));
    expect(dupName.kind).toBe('conflict');
    expect(dupName.message).toMatch(/service "web".*name already exists/);
    const dupVip = storeError(() => store.insertService(service(3, 'other', { vip: '10.1.1.1', port: 80, proto: 'tcp' })));
    expect(dupVip.kind).toBe('conflict');
    expect(dupVip.message).toMatch(/VIP, protocol and port/);
    const dupId = storeError(() => store.insertService(service(1, 'third', { vip: '10.1.1.3' })));
    expect(dupId.kind).toBe('conflict');
    expect(store.listServices().map((s) => s.name)).toEqual(['web']);
    // Same VIP and port over another protocol is a different service.
    store.insertService(service(4, 'web-udp', { vip: '10.1.1.1', port: 80, proto: 'udp' }));
    expect(store.listServices()).toHaveLength(2);
  });

  it('reports updating a missing service as not_found', () => {
    expect(storeError(() => store.updateService(service(9, 'ghost'))).kind).toBe('not_found');
  });

  it('deletes a service with its backends and slot table', () => {
    store.insertService(service(1, 'web'));
    store.insertService(service(2, 'api'));
    store.insertBackend(backend(1, 'web'));
    store.insertBackend(backend(2, 'web', { ip: '192.168.9.9' }));
    store.insertBackend(backend(3, 'api'));
    store.saveSlotTable('web', { owners: [1, 2], migrations: [] });
    expect(store.deleteService('web')).toBe(true);
    expect(store.deleteService('web')).toBe(false);
    expect(store.listBackends().map((b) => b.id)).toEqual([3]);
    expect(store.loadSlotTable('web')).toBeUndefined();
    // A new service of the same name starts clean.
    store.insertService(service(3, 'web'));
    expect(store.listBackends('web')).toEqual([]);
  });

  it('allocates service ids past every id ever used, then the smallest free one once the space wraps', () => {
    expect(store.nextServiceId()).toBe(1);
    expect(store.nextServiceId()).toBe(2); // reserved, even though 1 was never inserted
    store.insertService(service(7, 'seven'));
    expect(store.nextServiceId()).toBe(8);
    store.deleteService('seven');
    expect(store.nextServiceId()).toBe(9); // 7 and 8 are not handed out again
    store.insertService(service(1, 'one'));
    store.insertService(service(2, 'two'));
    store.insertService(service(SERVICE_ID_MAX, 'last'));
    expect(store.nextServiceId()).toBe(3);
    store.insertService(service(3, 'three'));
    store.deleteService('one');
    expect(store.nextServiceId()).toBe(1);
  });
});

describe('backends', () => {
  beforeEach(() => {
    store.insertService(service(1, 'web'));
    store.insertService(service(2, 'api'));
  });

  it('round-trips with every optional field set, and with none (absent, not undefined)', () => {
    const full = backend(1, 'web', {
      port: 8080,
      mac: '02:aa:bb:cc:dd:ee',
      switchPort: 4,
      state: 'draining',
      removeWhenDrained: true,
      drainStartedAt: 1_700_000_002_000,
      resolvedMac: '02:aa:bb:cc:dd:ef',
      locations: { '0000000000000001': 4, '00000000000000ab': 17 },
      weight: 0,
    });
    const bare = backend(2, 'web', { state: 'resolving' });
    store.insertBackend(full);
    store.insertBackend(bare);
    expect(store.getBackend(1)).toStrictEqual(full);
    expect(store.getBackend(2)).toStrictEqual(bare);
    expect(Object.keys(store.getBackend(2)!)).not.toContain('port');
    expect(store.getBackend(3)).toBeUndefined();
  });

  it('lists by service or all, updates and deletes', () => {
    store.insertBackend(backend(3, 'api'));
    store.insertBackend(backend(1, 'web'));
    store.insertBackend(backend(2, 'web', { ip: '192.168.1.50' }));
    expect(store.listBackends('web').map((b) => b.id)).toEqual([1, 2]);
    expect(store.listBackends().map((b) => b.id)).toEqual([1, 2, 3]);
    expect(store.listBackends('none')).toEqual([]);

    const updated = { ...store.getBackend(1)!, state: 'drained' as const, stateSince: 42, weight: 7, mac: '02:00:00:00:00:09' };
    store.updateBackend(updated);
    expect(store.getBackend(1)).toStrictEqual(updated);
    // Clearing an optional field clears it in the store too.
    const { mac: _mac, ...cleared } = updated;
    store.updateBackend(cleared);
    expect(store.getBackend(1)).toStrictEqual(cleared);

    expect(store.deleteBackend(1)).toBe(true);
    expect(store.deleteBackend(1)).toBe(false);
    expect(store.listBackends('web').map((b) => b.id)).toEqual([2]);
    expect(storeError(() => store.updateBackend(updated)).kind).toBe('not_found');
  });

  it('refuses a backend of an unknown service', () => {
    const e = storeError(() => store.insertBackend(backend(1, 'nope')));
    expect(e.kind).toBe('not_found');
    expect(e.message).toMatch(/service "nope".*no such service/);
    expect(store.listBackends()).toEqual([]);
  });

  it('refuses a second live backend with the same address in a service, but not a removed one or another service', () => {
    store.insertBackend(backend(1, 'web', { ip: '10.9.0.1', port: 80 }));
    const e = storeError(() => store.insertBackend(backend(2, 'web', { ip: '10.9.0.1', port: 80 })));
    expect(e.kind).toBe('conflict');
    expect(e.message).toMatch(/10\.9\.0\.1:80.*already has a backend with this address/);
    store.insertBackend(backend(3, 'web', { ip: '10.9.0.1', port: 81 }));
    store.insertBackend(backend(4, 'api', { ip: '10.9.0.1', port: 80 }));
    // dsr backends have no port: still one per IP.
    store.insertBackend(backend(5, 'web', { ip: '10.9.0.2' }));
    expect(storeError(() => store.insertBackend(backend(6, 'web', { ip: '10.9.0.2' }))).kind).toBe('conflict');
    // A removed backend may linger beside its replacement.
    store.updateBackend({ ...store.getBackend(5)!, state: 'removed' });
    store.insertBackend(backend(7, 'web', { ip: '10.9.0.2' }));
    expect(store.listBackends('web').map((b) => b.id)).toEqual([1, 3, 5, 7]);
  });

  it('rejects values the schema cannot hold as invalid', () => {
    const e = storeError(() => store.insertBackend({ ...backend(1, 'web'), state: 'bogus' as 'active' }));
    expect(e.kind).toBe('invalid');
  });

  it('allocates backend ids monotonically, never reusing one, past explicitly inserted ids', async () => {
    const a = store.nextBackendId();
    const b = store.nextBackendId();
    expect(b).toBe(a + 1);
    store.insertBackend(backend(b, 'web'));
    store.deleteBackend(b);
    expect(store.nextBackendId()).toBe(b + 1);
    store.insertBackend(backend(100, 'web'));
    expect(store.nextBackendId()).toBe(101);
    await store.close();
    store = await impl.open();
    expect(store.nextBackendId()).toBe(102);
  });
});

describe('slot tables', () => {
  beforeEach(() => store.insertService(service(1, 'web')));

  it('round-trips owners (nulls included) and migrations in flight, and overwrites', () => {
    const snap: SlotTableSnapshot = {
      owners: [1, null, 2, 0xffff_ffff, 2],
      migrations: [
        { slot: 1, from: 3, to: null, startedAt: 1000, lastFromPinAt: 1500, phase: 'query' },
        { slot: 4, from: null, to: 2, startedAt: 1001, lastFromPinAt: 0, phase: 'pending' },
      ],
    };
    expect(store.loadSlotTable('web')).toBeUndefined();
    store.saveSlotTable('web', snap);
    expect(store.loadSlotTable('web')).toStrictEqual(snap);
    const next: SlotTableSnapshot = { owners: [2, 2, 2, 2, 2], migrations: [] };
    store.saveSlotTable('web', next);
    expect(store.loadSlotTable('web')).toStrictEqual(next);
  });

  it('refuses an owner that is not a backend id, and a slot table of an unknown service', () => {
    for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
      const e = storeError(() => store.saveSlotTable('web', { owners: [1, bad], migrations: [] }));
      expect(e.kind).toBe('invalid');
      expect(e.message).toMatch(/slot 1/);
    }
    expect(storeError(() => store.saveSlotTable('nope', { owners: [1], migrations: [] })).kind).toBe('not_found');
  });

  it('saves a 256-slot table fast (figure printed, not asserted)', () => {
    const owners = Array.from({ length: 256 }, (_, i) => (i % 5) + 1);
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      owners[i % 256] = (i % 7) + 1;
      store.saveSlotTable('web', {
        owners,
        migrations: [{ slot: i % 256, from: 1, to: 2, startedAt: i, lastFromPinAt: i, phase: 'query' }],
      });
    }
    const perSaveUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
    console.log(`saveSlotTable, 256 slots, ${impl.name === 'sqlite' ? 'file-backed WAL' : 'etcd (cache; shipped behind)'}: ${perSaveUs.toFixed(1)} µs per save`);
    const loaded = store.loadSlotTable('web')!;
    expect(loaded.owners).toEqual(owners);
    expect(loaded.migrations[0].slot).toBe((n - 1) % 256);
  });
});

describe('events', () => {
  const ev = (i: number): LbEvent => ({ type: 'slot_moved', service: 'web', slot: i, from: null, to: `10.0.0.${i % 250}` });

  it('appends with increasing ids and reads back since an id, paged, and latest', () => {
    const before = Date.now();
    const first = store.appendEvent({ type: 'service_added', service: 'web' });
    expect(first.at).toBeGreaterThanOrEqual(before);
    expect(first.event).toEqual({ type: 'service_added', service: 'web' });
    const stored = [first];
    for (let i = 0; i < 600; i++) stored.push(store.appendEvent(ev(i), 5000 + i));
    for (let i = 1; i < stored.length; i++) expect(stored[i].id).toBeGreaterThan(stored[i - 1].id);

    expect(store.eventsSince(0)).toHaveLength(500); // default limit
    expect(store.eventsSince(0, 1000)).toStrictEqual(stored);
    const page = store.eventsSince(stored[10].id, 3);
    expect(page).toStrictEqual(stored.slice(11, 14));
    expect(store.eventsSince(stored[stored.length - 1].id)).toEqual([]);
    expect(store.latestEvents(2)).toStrictEqual(stored.slice(-2)); // oldest first
    expect(store.lastEventId()).toBe(stored[stored.length - 1].id);
  });

  it('round-trips every event shape', () => {
    const all: LbEvent[] = [
      { type: 'service_added', service: 's' },
      { type: 'service_removed', service: 's' },
      { type: 'backend_added', service: 's', backend: '1.2.3.4:80' },
      { type: 'backend_state', service: 's', backend: 'b', from: 'active', to: 'draining', reason: 'operator' },
      { type: 'backend_state', service: 's', backend: 'b', from: 'draining', to: 'drained' },
      { type: 'backend_weight', service: 's', backend: 'b', from: 1, to: 5 },
      { type: 'backend_resolved', service: 's', backend: 'b', mac: '02:00:00:00:00:01', dpid: '0000000000000001', port: 3 },
      { type: 'migration_started', service: 's', slots: [1, 2, 3], reason: 'add' },
      { type: 'slot_moved', service: 's', slot: 1, from: 'a', to: null },
      { type: 'migration_done', service: 's' },
      { type: 'switch_up', dpid: '0000000000000001', version: 4 },
      { type: 'switch_down', dpid: '0000000000000001' },
      { type: 'error', message: 'boom', service: 's' },
      { type: 'error', message: 'boom' },
    ];
    for (const e of all) store.appendEvent(e, 1);
    expect(store.eventsSince(0).map((s) => s.event)).toStrictEqual(all);
  });

  it('prunes to at most maxEvents every pruneEvery appends, and ids never go back', async () => {
    await store.close();
    store = await impl.open({ maxEvents: 50, pruneEvery: 10 });
    let last = 0;
    for (let i = 0; i < 205; i++) last = store.appendEvent(ev(i), i).id;
    // The last prune ran at append 200; 5 more since.
    const kept = store.eventsSince(0, 1000);
    expect(kept.length).toBe(55);
    expect(kept[kept.length - 1].id).toBe(last);
    expect(kept[0].id).toBe(last - 54);
    expect(store.pruneEvents()).toBe(5);
    expect(store.eventsSince(0, 1000)).toHaveLength(50);

    // Reopening prunes at once with a smaller cap, and the next id continues past the last.
    await store.close();
    store = await impl.open({ maxEvents: 20 });
    expect(store.eventsSince(0, 1000)).toHaveLength(20);
    expect(store.appendEvent(ev(0)).id).toBe(last + 1);
  });
});

describe('reopening', () => {
  it('keeps everything: services (renamed), backends, slot tables, profiles, counters, events, ids', async () => {
    store.insertService(service(1, 'web'));
    store.insertService(service(2, 'gone'));
    store.insertBackend(backend(1, 'web', { port: 8080, locations: { '0000000000000001': 3 } }));
    store.insertBackend(backend(2, 'web', { ip: '192.168.7.7', state: 'draining', drainStartedAt: 5 }));
    store.insertBackend(backend(3, 'gone'));
    store.saveSlotTable('web', { owners: [1, 2, null], migrations: [{ slot: 2, from: 1, to: null, startedAt: 1, lastFromPinAt: 2, phase: 'query' }] });
    store.saveSlotTable('gone', { owners: [3], migrations: [] });
    store.updateService(service(1, 'www', { port: 8081 }));
    store.deleteService('gone');
    store.setSwitchProfile('00000000000000aa', 'ovs');
    store.setSwitchProfile('00000000000000bb', 'openflow13');
    store.setSwitchProfile('00000000000000bb', null);
    store.saveCounters(
      [{ backendId: 1, packets: 10, bytes: 1000, opened: 2, basePackets: 1, baseBytes: 100, baseOpened: 0 }],
      [{ serviceId: 1, packetIns: 7, pinsInstalled: 3, pinsRemoved: 1 }],
    );
    const ev = store.appendEvent({ type: 'service_added', service: 'www' }, 42);
    const serviceId = store.nextServiceId();
    const before = {
      services: store.listServices(), backends: store.listBackends(), slots: store.loadSlotTable('www'),
      profiles: store.listSwitchProfiles(), bc: store.loadBackendCounters(), sc: store.loadServiceCounters(),
      events: store.eventsSince(0),
    };
    await store.flush();
    await store.close();
    store = await impl.open();
    expect({
      services: store.listServices(), backends: store.listBackends(), slots: store.loadSlotTable('www'),
      profiles: store.listSwitchProfiles(), bc: store.loadBackendCounters(), sc: store.loadServiceCounters(),
      events: store.eventsSince(0),
    }).toStrictEqual(before);
    expect(store.getService('www')?.port).toBe(8081);
    expect(store.loadSlotTable('gone')).toBeUndefined();
    expect(store.nextServiceId()).toBe(serviceId + 1);
    expect(store.appendEvent({ type: 'service_removed', service: 'www' }).id).toBe(ev.id + 1);
  });

  it('keeps nothing of a transaction that threw', async () => {
    store.insertService(service(1, 'web'));
    expect(() => store.transaction(() => {
      store.insertBackend(backend(1, 'web'));
      store.appendEvent({ type: 'backend_added', service: 'web', backend: 'x' });
      throw new Error('no');
    })).toThrow('no');
    await store.close();
    store = await impl.open();
    expect(store.listBackends()).toEqual([]);
    expect(store.eventsSince(0)).toEqual([]);
    expect(store.listServices()).toHaveLength(1);
  });
});

describe('transactions and lifecycle', () => {
  it('commits all writes of a transaction together, or none when it throws', () => {
    expect(() =>
      store.transaction(() => {
        store.insertService(service(1, 'web'));
        store.insertBackend(backend(1, 'web'));
        store.appendEvent({ type: 'service_added', service: 'web' });
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    expect(store.listServices()).toEqual([]);
    expect(store.listBackends()).toEqual([]);
    expect(store.eventsSince(0)).toEqual([]);

    const id = store.transaction(() => {
      store.insertService(service(1, 'web'));
      // A nested transaction that fails rolls back only its own part.
      expect(() => store.transaction(() => {
        store.insertBackend(backend(1, 'web'));
        throw new Error('inner');
      })).toThrow('inner');
      return store.appendEvent({ type: 'service_added', service: 'web' }).id;
    });
    expect(store.listServices()).toHaveLength(1);
    expect(store.listBackends()).toEqual([]);
    expect(store.eventsSince(0).map((e) => e.id)).toEqual([id]);
  });

  it('refuses an async transaction body and rolls it back', () => {
    expect(() => store.transaction(async () => store.insertService(service(1, 'web')))).toThrow(/synchronous/);
    expect(store.listServices()).toEqual([]);
  });

  it.runIf(impl.name === 'sqlite')('works in memory', () => {
    const mem = Store.open(':memory:');
    mem.insertService(service(1, 'web'));
    expect(mem.getService('web')?.id).toBe(1);
    mem.close();
    expect(mem.isOpen).toBe(false);
    mem.close(); // idempotent
  });

  it.runIf(impl.name === 'sqlite')('explains a file that cannot be opened or is not a database', () => {
    const missingDir = storeError(() => Store.open(join(tmp.dir, 'no', 'such', 'dir', 'x.db')));
    expect(missingDir.kind).toBe('sqlite');
    expect(missingDir.message).toMatch(/x\.db: cannot open it: .*directory does not exist/);
    const junk = tmp.file('junk.db');
    writeFileSync(junk, 'this is not an SQLite file, just some text that is long enough to have a header'.repeat(20));
    const notDb = storeError(() => Store.open(junk));
    expect(notDb.kind).toBe('not_holdfast');
    expect(notDb.message).toMatch(/junk\.db is not a Holdfast database \(not an SQLite file/);
  });
});
});
