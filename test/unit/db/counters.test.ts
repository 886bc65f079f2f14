import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../../db/store.js';
import { backend, service, tempDir } from './fixtures.js';

let tmp: ReturnType<typeof tempDir>;
let store: Store;

beforeEach(() => {
  tmp = tempDir();
  store = Store.open(tmp.file());
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

describe('counters kept across restarts (schema 4)', () => {
  it('round-trips backend and service counters, replaces them on save, and drops them with their owner', () => {
    store.insertService(service(1, 'web'));
    store.insertBackend(backend(7, 'web'));
    const row = { backendId: 7, packets: 10, bytes: 2 ** 40, opened: 3, basePackets: 4, baseBytes: 400, baseOpened: 2 };
    store.saveCounters([row], [{ serviceId: 1, packetIns: 5, pinsInstalled: 4, pinsRemoved: 1 }], 1000);
    store.saveCounters([{ ...row, packets: 11 }], [{ serviceId: 1, packetIns: 6, pinsInstalled: 4, pinsRemoved: 2 }], 2000);
    const file = tmp.file();
    store.close();
    store = Store.open(file);
    expect(store.loadBackendCounters()).toEqual([{ ...row, packets: 11 }]);
    expect(store.loadServiceCounters()).toEqual([{ serviceId: 1, packetIns: 6, pinsInstalled: 4, pinsRemoved: 2 }]);
    store.deleteBackend(7);
    expect(store.loadBackendCounters()).toEqual([]);
    store.deleteService('web');
    expect(store.loadServiceCounters()).toEqual([]);
  });
});
