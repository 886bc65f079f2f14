// The etcd store while etcd does not answer (its own etcd, stopped and started here): a change is
// refused before it is made (refuseWrite says why), changes already made wait in order, and once
// etcd is back they are in it and writes are accepted again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEtcdClient } from '../../controller/cluster.js';
import { EtcdStore } from '../../db/etcd-store.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { until } from '../helpers/wait-for.js';
import { service } from '../unit/db/fixtures.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  await etcd.stop();
});

describe('etcd store under an etcd outage', () => {
  it('refuses changes while etcd does not answer, ships what was made once it is back, then accepts again', async () => {
    const client = clusterEtcdClient([etcd.url]);
    try {
      const store = await EtcdStore.open(client, { prefix: '/outage/' });
      expect(await store.refuseWrite()).toBeUndefined();
      store.insertService(service(1, 'before'));
      await store.flush();

      await etcd.members[0]!.halt('SIGTERM');
      expect(await store.refuseWrite()).toMatch(/^etcd does not answer/);
      // A change made anyway (as one racing the outage would be): kept, and then refusals say so.
      store.insertService(service(2, 'during'));
      await until('the failing write to be noticed', async () => /^etcd has not taken our writes for [\d.]+ s/.test((await store.refuseWrite()) ?? ''), 5_000);
      let flushed = false;
      void store.flush().then(() => { flushed = true; });
      await new Promise((r) => setTimeout(r, 300));
      expect(flushed).toBe(false);

      await etcd.members[0]!.resume();
      await until('the queued change to reach etcd', () => flushed, 10_000);
      expect(await store.refuseWrite()).toBeUndefined();
      const again = await EtcdStore.open(client, { prefix: '/outage/' });
      expect(again.listServices().map((s) => s.name)).toEqual(['before', 'during']);
      await again.close();
      await store.close();
    } finally {
      client.close();
    }
  }, 30_000);
});
