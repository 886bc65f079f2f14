// Every CLI verb against a real `holdfast start` (real controller process, real SQLite file).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait-for.js';
import type { BackendView, ServiceView, StatusView } from '../../apps/lb/control.js';
import type { StoredEvent } from '../../apps/lb/model.js';
import { CLI, removeDir, runCli, startHoldfastProcess, type CliResult, type HoldfastProcess } from '../helpers/holdfast-process.js';
import { freePort } from '../helpers/ports.js';

let hf: HoldfastProcess;

beforeAll(async () => { hf = await startHoldfastProcess(); }, 60_000);
afterAll(async () => {
  await hf?.stop();
  if (hf) removeDir(hf.dir);
});

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`${hf.api}/api${path}`);
  return (await r.json()) as T;
}

function ok(r: CliResult): string {
  expect(r.stderr, r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** A failure: exactly one "holdfast: ..." line on stderr, nothing on stdout, non-zero exit. */
function fails(r: CliResult, message: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^holdfast: /);
  expect(lines[0]).toMatch(message);
}

const MAC = ['--mac', '02:00:00:00:00:0b', '--switch-port', '1'];

describe('holdfast CLI against a running controller', () => {
  it('service add / list / show', async () => {
    expect(ok(await hf.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80', '--slots', '32']))).toMatch(/service web added: 10\.0\.0\.100:80\/tcp, nat, 32 slots/);
    const json = JSON.parse(ok(await hf.cli(['service', 'add', 'dns', '--vip', '10.0.0.53', '--port', '53', '--proto', 'udp', '--mode', 'dsr', '--slots', '16', '--switch', '0x1', '--json']))) as ServiceView;
    expect(json).toMatchObject({ name: 'dns', proto: 'udp', mode: 'dsr', slots: 16, switches: ['0000000000000001'] });

    const list = ok(await hf.cli(['service', 'list']));
    expect(list.split('\n')[0]).toMatch(/^NAME\s+VIP\s+PORT\s+PROTO\s+MODE\s+SLOTS/);
    expect(list).toMatch(/web\s+10\.0\.0\.100\s+80\s+tcp\s+nat\s+32/);
    expect(list).toMatch(/dns\s+10\.0\.0\.53\s+53\s+udp\s+dsr\s+16/);
    expect((JSON.parse(ok(await hf.cli(['service', 'list', '--json']))) as ServiceView[]).map((s) => s.name).sort()).toEqual(['dns', 'web']);

    expect(ok(await hf.cli(['service', 'show', 'web']))).toMatch(/service web\n\s+vip\s+10\.0\.0\.100:80\/tcp/);
    expect((JSON.parse(ok(await hf.cli(['service', 'show', 'web', '--json']))) as ServiceView).slotOwners).toHaveLength(32);
  });

  it('backend add / list / weight / enable', async () => {
    expect(ok(await hf.cli(['backend', 'add', 'web', '10.0.0.11:8080', ...MAC]))).toMatch(/backend 10\.0\.0\.11:8080 added to web: weight 1, active/);
    const b2 = JSON.parse(ok(await hf.cli(['backend', 'add', 'web', '10.0.0.12:8080', '--weight', '3', '--mac', '02:00:00:00:00:0c', '--switch-port', '2', '--json']))) as BackendView;
    expect(b2).toMatchObject({ key: '10.0.0.12:8080', weight: 3, state: 'active', mac: '02:00:00:00:00:0c', switchPort: 2 });
    // Without a MAC the controller resolves it by ARP (no switch here: it stays resolving).
    expect(ok(await hf.cli(['backend', 'add', 'web', '10.0.0.19:8080']))).toMatch(/resolving/);

    const list = ok(await hf.cli(['backend', 'list', 'web']));
    expect(list.split('\n')[0]).toMatch(/^BACKEND\s+STATE\s+SINCE\s+WEIGHT\s+SLOTS/);
    expect(list).toMatch(/10\.0\.0\.11:8080\s+active/);
    expect(list).toMatch(/10\.0\.0\.19:8080\s+resolving/);

    expect(ok(await hf.cli(['backend', 'weight', 'web', '10.0.0.11:8080', '2']))).toMatch(/weight 2/);
    const w = JSON.parse(ok(await hf.cli(['backend', 'weight', 'web', '10.0.0.11:8080', '1', '--json']))) as BackendView;
    expect(w.weight).toBe(1);
    expect((await api<BackendView[]>('/services/web/backends')).find((b) => b.key === '10.0.0.11:8080')!.weight).toBe(1);

    ok(await hf.cli(['backend', 'drain', 'web', '10.0.0.12:8080']));
    const en = JSON.parse(ok(await hf.cli(['backend', 'enable', 'web', '10.0.0.12:8080', '--json']))) as BackendView;
    expect(en.state).toBe('active');
    expect(ok(await hf.cli(['backend', 'enable', 'web', '10.0.0.12:8080']))).toMatch(/active/);
  });

  it('backend drain --wait follows the drain to the end', async () => {
    const r = await hf.cli(['backend', 'drain', 'web', '10.0.0.12:8080', '--wait', '--timeout', '60']);
    const out = ok(r);
    const lines = out.trim().split('\n');
    // Not a TTY: plain progress lines, no carriage returns.
    expect(out).not.toContain('\r');
    expect(lines[0]).toMatch(/^10\.0\.0\.12:8080\s+draining\s+·\s+slots \d+ left, \d+ moved\s+·\s+connections \d+ left/);
    expect(lines.at(-1)).toMatch(/backend 10\.0\.0\.12:8080 of web: drained \(\d+ slots moved\)/);
    const b = (await api<BackendView[]>('/services/web/backends')).find((x) => x.key === '10.0.0.12:8080')!;
    expect(b.state).toBe('drained');
    expect(b.slots).toBe(0);
  });

  it('backend remove --wait and --now', async () => {
    // With --json the progress goes to stderr, the result to stdout.
    const res = await hf.cli(['backend', 'remove', 'web', '10.0.0.12:8080', '--wait', '--json']);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/^10\.0\.0\.12:8080\s+(drained|removed)\s+·\s+slots 0 left/);
    expect((JSON.parse(res.stdout) as BackendView).state).toBe('removed');
    expect(ok(await hf.cli(['backend', 'remove', 'web', '10.0.0.19:8080', '--now']))).toMatch(/backend 10\.0\.0\.19:8080 removed from web/);
    expect((await api<BackendView[]>('/services/web/backends')).map((b) => b.key)).toEqual(['10.0.0.11:8080']);
  });

  it('status and events', async () => {
    const st = ok(await hf.cli(['status']));
    expect(st).toMatch(/^up \S+\s+·\s+0 switches\s+·\s+2 services/);
    expect(st).toMatch(/web\s+10\.0\.0\.100:80\s+tcp\s+nat\s+1\s+1/);
    const js = JSON.parse(ok(await hf.cli(['status', '--json']))) as StatusView;
    expect(js.services.map((s) => s.name).sort()).toEqual(['dns', 'web']);
    const ev = JSON.parse(ok(await hf.cli(['events', '--limit', '3', '--json']))) as StoredEvent[];
    expect(ev.map((e) => e.event.type)).toEqual(['service_added', 'service_added', 'backend_added']);
    expect(ok(await hf.cli(['events', '--limit', '1']))).toMatch(/#1\s+service web added/);
  });

  it('watch streams events until interrupted', async () => {
    const proc = spawn(process.execPath, [CLI, 'watch'], { env: { ...process.env, HOLDFAST_API: hf.api }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      // It shows recent history first, then live events.
      await until('watch to print an event', () => /#\d+/.test(out), 5000);
      ok(await hf.cli(['backend', 'add', 'web', '10.0.0.14:8080', '--mac', '02:00:00:00:00:0e', '--switch-port', '4']));
      await until('watch to show the added backend', () => /web: backend 10\.0\.0\.14:8080 added/.test(out), 5000);
    } catch (e) {
      throw new Error(`watch printed: ${JSON.stringify(out)} / ${JSON.stringify(err)}: ${String(e)}`);
    } finally {
      proc.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(err).toBe('');
  });

  it('service remove', async () => {
    expect(ok(await hf.cli(['service', 'remove', 'dns']))).toBe('service dns removed\n');
    expect((await api<ServiceView[]>('/services')).map((s) => s.name)).toEqual(['web']);
  });

  describe('bad input: one clear line, a non-zero exit, no change', () => {
    it('unknown service or backend', async () => {
      const before = shape(await api<ServiceView[]>('/services'));
      fails(await hf.cli(['service', 'show', 'nope']), /no service/i);
      fails(await hf.cli(['backend', 'add', 'nope', '10.0.0.1:80']), /no service/i);
      fails(await hf.cli(['backend', 'drain', 'web', '10.9.9.9:80']), /10\.9\.9\.9:80/);
      fails(await hf.cli(['service', 'remove', 'nope']), /no service/i);
      fails(await hf.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80']), /already exists|exists/i);
      fails(await hf.cli(['backend', 'add', 'web', '10.0.0.11:8080']), /already/i);
      expect(shape(await api<ServiceView[]>('/services'))).toEqual(before);
    });

    it('bad addresses and numbers', async () => {
      const before = await api<ServiceView[]>('/services');
      fails(await hf.cli(['backend', 'add', 'web', '10.0.0.300:80']), /bad backend "10\.0\.0\.300:80"/);
      fails(await hf.cli(['backend', 'add', 'web', '10.0.0.5:99999']), /bad backend port/);
      fails(await hf.cli(['service', 'add', 'x', '--vip', 'not-an-ip', '--port', '80']), /bad VIP "not-an-ip"/);
      fails(await hf.cli(['service', 'add', 'x', '--vip', '10.0.0.7', '--port', '0']), /bad port/);
      fails(await hf.cli(['service', 'add', 'x', '--vip', '10.0.0.7', '--port', '80', '--proto', 'sctp']), /sctp/);
      fails(await hf.cli(['service', 'add', 'x', '--vip', '10.0.0.7', '--port', '80', '--slots', '0']), /slot/i);
      fails(await hf.cli(['backend', 'weight', 'web', '10.0.0.11:8080', 'heavy']), /bad weight "heavy"/);
      fails(await hf.cli(['backend', 'add', 'web', '10.0.0.5:80', '--mac', 'zz']), /--mac and --switch-port go together/);
      fails(await hf.cli(['backend', 'add', 'web', '10.0.0.5:80', '--mac', 'zz', '--switch-port', '1']), /bad MAC "zz"/);
      fails(await hf.cli(['service', 'add', 'x', '--vip', '10.0.0.7', '--port', '80', '--switch', 'xyz']), /bad switch "xyz"/);
      expect((await api<ServiceView[]>('/services')).map((s) => [s.name, s.backends.length])).toEqual(before.map((s) => [s.name, s.backends.length]));
    });

    it('missing arguments and unknown commands', async () => {
      fails(await hf.cli(['backend', 'add', 'web']), /missing required argument 'backend'/);
      fails(await hf.cli(['service', 'add', 'x', '--port', '80']), /required option '--vip <ip>' not specified/);
      fails(await hf.cli(['backend', 'weight', 'web', '10.0.0.11:8080']), /missing required argument 'weight'/);
      fails(await hf.cli(['service', 'frobnicate']), /unknown command 'frobnicate'/);
      fails(await hf.cli(['status', '--bogus']), /unknown option '--bogus'/);
      expect((await api<ServiceView[]>('/services')).map((s) => s.name)).toEqual(['web']);
    });

    it('API down', async () => {
      // A port nothing listens on: the controller's OpenFlow port is TCP but not HTTP; use a closed one.
      const closed = await freePort();
      fails(await runCli(['service', 'list'], { HOLDFAST_API: `http://127.0.0.1:${closed}` }), new RegExp(`cannot reach the Holdfast API at http://127\\.0\\.0\\.1:${closed}: connection refused`));
      fails(await runCli(['watch', '--api', `127.0.0.1:${closed}`]), /connection refused/);
    });

    it('start refuses an open API on a non-loopback address and bad addresses', async () => {
      fails(await runCli(['start', '--api', '0.0.0.0:0', '--openflow', '127.0.0.1:0', '--db', `${hf.dir}/other.db`]), /set a token/);
      fails(await runCli(['start', '--openflow', 'nonsense', '--db', `${hf.dir}/other.db`]), /bad --openflow address "nonsense"/);
      fails(await runCli(['start', '--api', `127.0.0.1:${hf.apiPort}`, '--openflow', '127.0.0.1:0', '--db', `${hf.dir}/other.db`]), /address already in use/);
    });
  });
});

describe('holdfast CLI with an API token', () => {
  let secured: HoldfastProcess;
  beforeAll(async () => { secured = await startHoldfastProcess({ token: 'tok-123', apiHost: '0.0.0.0' }); }, 60_000);
  afterAll(async () => {
    await secured?.stop();
    if (secured) removeDir(secured.dir);
  });

  it('works with the token and refuses a wrong or missing one without changing anything', async () => {
    ok(await secured.cli(['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80']));
    fails(await secured.cli(['service', 'add', 'web2', '--vip', '10.0.0.101', '--port', '80'], { HOLDFAST_TOKEN: 'wrong' }), /^holdfast: the API refused the token$/);
    fails(await secured.cli(['service', 'remove', 'web', '--token', 'wrong']), /the API refused the token/);
    fails(await secured.cli(['watch'], { HOLDFAST_TOKEN: 'wrong' }), /the API refused the token/);
    fails(await secured.cli(['status'], { HOLDFAST_TOKEN: '' }), /needs a token/);
    const list = JSON.parse(ok(await secured.cli(['service', 'list', '--json']))) as ServiceView[];
    expect(list.map((s) => s.name)).toEqual(['web']);
    expect((await fetch(`${secured.api}/api/services`)).status).toBe(401);
  });
});

/** What operators changed (not what migrations are doing meanwhile). */
function shape(list: ServiceView[]): unknown {
  return list.map((s) => ({ name: s.name, vip: s.vip, port: s.port, slots: s.slots, backends: s.backends.map((b) => [b.key, b.weight, b.state]) }));
}

