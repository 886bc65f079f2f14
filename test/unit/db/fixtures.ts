// Test fixtures for the store: full services and backends with every field set to a non-default.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_DEFAULTS, type Backend, type Service } from '../../../apps/lb/model.js';

export function service(id: number, name: string, over: Partial<Service> = {}): Service {
  return {
    ...SERVICE_DEFAULTS,
    id,
    name,
    vip: `10.0.0.${id % 250}`,
    port: 80,
    switches: ['0000000000000001', '00000000000000ab'],
    pinIdleTimeout: { tcp: 120, udp: 15 },
    migration: { minMs: 1_500, quietMs: 700, maxMs: 9_000 },
    drainDeadlineMs: 60_000,
    tracking: 'all',
    maxQuerySlots: 16,
    slots: 64,
    mode: 'dsr',
    vmac: '02:00:00:00:00:01',
    createdAt: 1_700_000_000_123,
    ...over,
  };
}

export function backend(id: number, svc: string, over: Partial<Backend> = {}): Backend {
  return {
    id,
    service: svc,
    ip: `192.168.1.${id % 250}`,
    weight: 3,
    state: 'active',
    stateSince: 1_700_000_001_000,
    removeWhenDrained: false,
    ...over,
  };
}

/** A fresh temp dir and a function removing it. */
export function tempDir(prefix = 'holdfast-db-'): { dir: string; file: (name?: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name = 'holdfast.db') => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
