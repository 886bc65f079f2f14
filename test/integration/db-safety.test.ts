// State file safety through the real `holdfast start`: a 0-byte, truncated or garbage --db file
// is refused with one line naming the file and a non-zero exit, and is left as it was; --init-db
// makes a 0-byte file a database; `holdfast db backup` copies the file of a running controller
// into a file that opens as a Holdfast database with the same services.
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceView } from '../../apps/lb/control.js';
import { Store } from '../../db/store.js';
import { ensureBuilt, removeDir, runCli, startHoldfastProcess, type CliResult, type HoldfastProcess } from '../helpers/holdfast-process.js';

let dir: string;
const running: HoldfastProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'holdfast-dbsafety-'));
});
afterAll(async () => {
  for (const p of running) await p.stop();
  removeDir(dir);
});

function start(db: string, ...more: string[]): Promise<CliResult> {
  return runCli(['start', '--db', db, '--api', '127.0.0.1:0', '--openflow', '127.0.0.1:0', ...more], {}, 15_000);
}

/** One "holdfast: ..." line naming the file, non-zero exit, nothing listening (nothing on stdout). */
function refused(r: CliResult, file: string, why: RegExp): void {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^holdfast: /);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(why);
}

/** A real state file with services in it, made by a real controller that then stopped. */
async function realStateFile(name: string): Promise<string> {
  const d = mkdtempSync(join(dir, `${name}-`));
  const hf = await startHoldfastProcess({ dir: d });
  for (let i = 1; i <= 30; i++) {
    const r = await hf.cli(['service', 'add', `svc${i}`, '--vip', `10.1.0.${i}`, '--port', '80', '--slots', '64']);
    expect(r.code, r.stderr).toBe(0);
  }
  await hf.stop();
  return hf.db;
}

describe('holdfast start refuses a state file that is not a Holdfast database', () => {
  it('a 0-byte file: refused (and left empty); with --init-db it starts on it', async () => {
    const file = join(dir, 'empty.db');
    writeFileSync(file, '');
    refused(await start(file), file, /is empty \(0 bytes\), not a Holdfast database: start with --init-db/);
    expect(statSync(file).size).toBe(0);

    const d = mkdtempSync(join(dir, 'init-'));
    writeFileSync(join(d, 'h.db'), '');
    const hf = await startHoldfastProcess({ dir: d, extraArgs: ['--init-db'] });
    running.push(hf);
    expect((await hf.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80'])).code).toBe(0);
    await hf.stop();
    const s = Store.open(hf.db);
    expect(s.listServices().map((x) => x.name)).toEqual(['web']);
    s.close();
  });

  it('a truncated file: refused, even with --init-db', async () => {
    const good = await realStateFile('trunc');
    const file = join(dir, 'truncated.db');
    copyFileSync(good, file);
    truncateSync(file, Math.floor(statSync(file).size / 2 / 4096) * 4096);
    const before = readFileSync(file);
    refused(await start(file), file, /is truncated .*restore it from a backup/);
    refused(await start(file, '--init-db'), file, /is truncated/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a garbage file: refused, even with --init-db', async () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919 + 11) & 0xff)));
    refused(await start(file), file, /is not a Holdfast database \(not an SQLite file/);
    refused(await start(file, '--init-db'), file, /not a Holdfast database/);
  });
});

describe('holdfast db backup', () => {
  it('backs up the file of a running controller; the copy opens with the same services', async () => {
    const hf = await startHoldfastProcess();
    running.push(hf);
    for (let i = 1; i <= 20; i++) {
      const r = await hf.cli(['service', 'add', `svc${i}`, '--vip', `10.2.0.${i}`, '--port', String(8000 + i), '--slots', '32']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await hf.cli(['backend', 'add', 'svc1', '10.9.0.1:80', '--mac', '02:00:00:00:00:0b', '--switch-port', '1'])).code).toBe(0);
    // Changes keep coming while the backup runs: the copy is one consistent snapshot anyway.
    const busy = (async () => {
      for (let i = 2; i <= 10; i++) await hf.cli(['backend', 'add', `svc${i}`, `10.9.0.${i}:80`, '--mac', '02:00:00:00:00:0b', '--switch-port', '1']);
    })();
    const backup = join(hf.dir, 'backup.db');
    const r = await runCli(['db', 'backup', backup, '--db', hf.db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^backup of ${hf.db} written to ${backup}: 20 services, \\d+ backends, \\d+ events`));
    await busy;

    const s = Store.open(backup);
    const live = await (await fetch(`${hf.api}/api/services`)).json() as ServiceView[];
    expect(s.listServices().map((x) => `${x.name} ${x.vip}:${x.port}`)).toEqual(live.map((x) => `${x.name} ${x.vip}:${x.port}`));
    expect(s.listBackends('svc1').map((b) => b.ip)).toEqual(['10.9.0.1']);
    s.close();

    // A second backup to the same name is refused; --force replaces it.
    const again = await runCli(['db', 'backup', backup, '--db', hf.db]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^holdfast: the backup file .*backup\.db already exists: choose another name, or pass --force/);
    expect((await runCli(['db', 'backup', backup, '--db', hf.db, '--force'])).code).toBe(0);
    const check = await runCli(['db', 'check', '--db', backup]);
    expect(check.stdout).toMatch(/a Holdfast database, 20 services, 10 backends/);
  }, 90_000); // about 35 CLI processes, each a Node start: 13 s alone, over 30 s beside the rest of the suite

  it('refuses to back up a file that is not a Holdfast database', async () => {
    const file = join(dir, 'empty-src.db');
    writeFileSync(file, '');
    const r = await runCli(['db', 'backup', join(dir, 'out.db'), '--db', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^holdfast: the state file ${file} is empty`));
  });
});
