// The store survives a process that dies without closing it: a child process writes through the
// real Store (bundled from db/store.ts so plain `node` can run it), then exits hard or is killed;
// the parent reopens the file and finds every committed write, and nothing of an open transaction.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../db/store.js';
import { backend, service, tempDir } from '../unit/db/fixtures.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let tmp: ReturnType<typeof tempDir>;
let bundle: string;

beforeAll(async () => {
  tmp = tempDir('holdfast-db-restart-');
  bundle = tmp.file('store.mjs');
  const betterSqlite3 = createRequire(`${repo}package.json`).resolve('better-sqlite3');
  await build({
    input: `${repo}db/store.ts`,
    platform: 'node',
    logLevel: 'warn',
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    external: ['better-sqlite3'],
    output: { file: bundle, format: 'esm', paths: { 'better-sqlite3': betterSqlite3 } },
  });
});
afterAll(() => tmp?.cleanup());

/** Runs `body` in a fresh node process with `Store` imported; returns its exit status and output. */
function child(body: string) {
  const script = `import { Store } from ${JSON.stringify(bundle)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('store across a process restart', () => {
  it('keeps everything committed before process.exit without close', () => {
    const file = tmp.file('exit.db');
    const svc = service(1, 'web');
    const be = backend(1, 'web', { port: 8080, mac: '02:00:00:00:00:0a' });
    const r = child(`
      const s = Store.open(${JSON.stringify(file)});
      s.insertService(${JSON.stringify(svc)});
      const bid = s.nextBackendId();
      s.insertBackend({ ...${JSON.stringify(be)}, id: bid });
      s.saveSlotTable('web', { owners: Array.from({ length: 256 }, () => bid), migrations: [
        { slot: 3, from: bid, to: null, startedAt: 10, lastFromPinAt: 11, phase: 'query' } ] });
      for (let i = 0; i < 1500; i++) s.appendEvent({ type: 'slot_moved', service: 'web', slot: i % 256, from: null, to: 'x' }, i);
      s.nextBackendId(); s.nextBackendId();
      console.log('wrote');
      process.exit(0);
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('wrote');
    expect(r.status).toBe(0);
    expect(existsSync(`${file}-wal`)).toBe(true); // never closed: no final checkpoint ran

    const store = Store.open(file);
    try {
      expect(store.getService('web')).toStrictEqual(svc);
      expect(store.listBackends('web')).toStrictEqual([be]);
      const slots = store.loadSlotTable('web')!;
      expect(slots.owners).toHaveLength(256);
      expect(slots.owners.every((o) => o === 1)).toBe(true);
      expect(slots.migrations).toEqual([{ slot: 3, from: 1, to: null, startedAt: 10, lastFromPinAt: 11, phase: 'query' }]);
      const events = store.eventsSince(0, 2000);
      expect(events).toHaveLength(1500);
      expect(events[1499].at).toBe(1499);
      expect(store.nextBackendId()).toBe(4); // 1 used, 2 and 3 reserved before the exit
    } finally {
      store.close();
    }
  });

  it('keeps committed writes and none of an open transaction when the process is SIGKILLed', () => {
    const file = tmp.file('kill.db');
    const r = child(`
      const s = Store.open(${JSON.stringify(file)});
      s.insertService(${JSON.stringify(service(1, 'web'))});
      s.appendEvent({ type: 'service_added', service: 'web' }, 1);
      s.transaction(() => {
        s.insertService(${JSON.stringify(service(2, 'half'))});
        s.appendEvent({ type: 'service_added', service: 'half' }, 2);
        process.kill(process.pid, 'SIGKILL');
      });
    `);
    expect(r.signal).toBe('SIGKILL');
    // Nothing closed the database: the committed writes are only in the write-ahead log.
    expect(existsSync(`${file}-wal`)).toBe(true);

    const store = Store.open(file);
    try {
      expect(store.listServices().map((s) => s.name)).toEqual(['web']);
      expect(store.eventsSince(0).map((e) => e.event)).toEqual([{ type: 'service_added', service: 'web' }]);
      // The store is fully usable after the crash.
      store.insertService(service(2, 'half'));
      expect(store.nextServiceId()).toBe(3);
    } finally {
      store.close();
    }
  });
});
