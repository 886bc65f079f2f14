// The live view in headless Chromium against a real `holdfast start` (alone, and as a one-member
// cluster with a real etcd).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterInfo } from '../../controller/management/follower.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { FakeSwitch } from '../../tools/fake-switch/index.js';
import { ROOT, removeDir, startHoldfastProcess, type HoldfastProcess } from '../helpers/holdfast-process.js';
import { freePort } from '../helpers/ports.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let hf: HoldfastProcess;
let profile: string;
let ctx: BrowserContext;
let page: Page;

beforeAll(async () => {
  hf = await startHoldfastProcess();
  for (const args of [
    ['service', 'add', 'web', '--vip', '10.0.0.100', '--port', '80', '--slots', '64'],
    ['service', 'add', 'dns', '--vip', '10.0.0.53', '--port', '53', '--proto', 'udp', '--mode', 'dsr', '--slots', '32'],
    ['backend', 'add', 'web', '10.0.0.11:8080', '--mac', '02:00:00:00:00:0b', '--switch-port', '1'],
    ['backend', 'add', 'web', '10.0.0.12:8080', '--mac', '02:00:00:00:00:0c', '--switch-port', '2', '--weight', '2'],
    ['backend', 'add', 'dns', '10.0.0.21', '--mac', '02:00:00:00:00:15', '--switch-port', '4'],
  ]) {
    const r = await hf.cli(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
  profile = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1600, height: 1000 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await hf?.stop();
  if (profile) removeDir(profile);
  if (hf) removeDir(hf.dir);
});

describe('live view', () => {
  it('shows the services and their backends', async () => {
    await page.goto(hf.api);
    const web = page.locator('[data-service="web"]');
    await web.waitFor({ timeout: 5000 });
    await expect(page.locator('#conn').getAttribute('data-state')).resolves.toBe('live');
    expect(await web.locator('tr[data-backend]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-backend')))).toEqual(['10.0.0.11:8080', '10.0.0.12:8080']);
    expect(await web.locator('tr[data-backend="10.0.0.12:8080"] .state').textContent()).toBe('active');
    expect(await page.locator('[data-service="dns"] tr[data-backend="10.0.0.21"]').count()).toBe(1);
    // The ring has one segment per slot (64 slots <= 128 are drawn one by one).
    expect(await web.locator('.ring svg path:not(.migrating) title').count()).toBeGreaterThanOrEqual(64);
    expect(await page.locator('#events li').count()).toBeGreaterThan(0);
    // Started without --etcd: the cluster panel says this controller runs alone.
    await page.locator('#cluster [data-cluster="single"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#cluster').textContent()).toContain('single controller');
  });

  it('draws each backend\'s connections and traffic over time, one line per backend in its colour', async () => {
    const web = page.locator('[data-service="web"]');
    for (const chart of ['connections', 'traffic']) {
      const lines = web.locator(`[data-chart="${chart}"] path.line[data-backend]`);
      await lines.nth(1).waitFor({ state: 'attached', timeout: 5000 });
      expect(await lines.evaluateAll((ps) => ps.map((p) => p.getAttribute('data-backend')))).toEqual(['10.0.0.11:8080', '10.0.0.12:8080']);
      // Ring colours: the two backends' lines differ.
      const strokes = await lines.evaluateAll((ps) => ps.map((p) => p.getAttribute('stroke')));
      expect(new Set(strokes).size).toBe(2);
    }
  });

  it('shows a backend added through the CLI within 2 seconds', async () => {
    const row = page.locator('[data-service="web"] tr[data-backend="10.0.0.13:8080"]');
    expect(await row.count()).toBe(0);
    const r = await hf.cli(['backend', 'add', 'web', '10.0.0.13:8080', '--mac', '02:00:00:00:00:0d', '--switch-port', '3']);
    expect(r.code).toBe(0);
    const t0 = Date.now();
    await row.waitFor({ timeout: 2000 });
    expect(Date.now() - t0).toBeLessThan(2000);
    // The event log shows it too, in the very words of `holdfast events` (one event-text module).
    const added = page.locator('#events li').filter({ has: page.locator('.ev-text', { hasText: /^web: backend 10\.0\.0\.13:8080 added$/ }) }).first();
    await added.waitFor({ timeout: 2000 });
    const id = await added.getAttribute('data-event');
    const shown = await added.locator('.ev-text').textContent();
    const events = await hf.cli(['events', '--after', String(Number(id) - 1), '--limit', '1']);
    expect(events.code).toBe(0);
    const cliLine = events.stdout.split('\n').find((l) => l.includes(`  #${id}  `));
    expect(cliLine, `event #${id} in the CLI's list`).toBeDefined();
    expect(shown).toBe(cliLine!.split(`  #${id}  `)[1]);
    expect(shown).toBe('web: backend 10.0.0.13:8080 added');
    // Keep a picture while the new backend's slots are still migrating.
    await page.waitForTimeout(600);
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-artifacts/live-view.png'), fullPage: true });
  });

  it('says when it is disconnected and reconnects when the controller comes back', async () => {
    const { apiPort, dir } = hf;
    await hf.stop();
    await page.locator('#banner:not([hidden])').waitFor({ timeout: 5000 });
    expect(await page.locator('#banner').textContent()).toMatch(/Disconnected/);
    expect(await page.evaluate(() => document.body.classList.contains('offline'))).toBe(true);
    await page.screenshot({ path: join(ROOT, 'test-artifacts/live-view-disconnected.png') });

    hf = await startHoldfastProcess({ apiPort, dir });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => document.body.classList.contains('offline'))).toBe(false);
    // State came back from the SQLite file.
    expect(await page.locator('[data-service="web"] tr[data-backend]').count()).toBe(3);
  });
});

describe('live view of a cluster', () => {
  let etcd: TestEtcd | undefined;
  let member: HoldfastProcess | undefined;
  let sw: FakeSwitch | undefined;
  let clusterPage: Page | undefined;

  afterAll(async () => {
    await clusterPage?.close();
    sw?.close();
    await member?.stop();
    if (member) removeDir(member.dir);
    await etcd?.stop();
  });

  it('shows the members, the leader, the generation and each switch\'s role, as `holdfast status` does', async () => {
    etcd = await startEtcd();
    // A fixed API port: a member listens first as a follower, then as the leader, on the same port.
    member = await startHoldfastProcess({ apiPort: await freePort(), extraArgs: ['--etcd', etcd.url, '--lease-ttl', '1'] });
    let info: ClusterInfo | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !info?.isLeader; await new Promise((r) => setTimeout(r, 100))) {
      info = await fetch(`${member.api}/api/cluster`).then((r) => r.json() as Promise<ClusterInfo>, () => undefined);
    }
    expect(info?.isLeader).toBe(true);
    // A switch that answers the leader's role request the way Open vSwitch does.
    sw = await FakeSwitch.connect(member.openflowPort, { dpid: 0xabcn });
    sw.intercept = (m) => {
      if (m.type !== 'role_request') return false;
      sw!.send({ type: 'role_reply', version: sw!.version, xid: m.xid, role: m.role, generationId: m.generationId });
      return true;
    };
    await sw.waitFor((m) => m.type === 'role_request' && m.role === 'master');

    clusterPage = await ctx.newPage();
    await clusterPage.goto(member.api);
    const panel = clusterPage.locator('#cluster');
    await panel.locator('[data-switch-role="0000000000000abc"]').waitFor({ timeout: 5000 });
    const cluster = await fetch(`${member.api}/api/cluster`).then((r) => r.json() as Promise<ClusterInfo>);
    expect(cluster.members).toHaveLength(1);
    expect(await panel.locator('[data-cluster="on"]').textContent()).toBe(`1 member · leader ${cluster.leader!.name} · generation ${cluster.generationId}`);
    const row = panel.locator(`tr[data-member="${cluster.self.name}"]`);
    expect(await row.locator('td').allTextContents()).toEqual([cluster.self.name, cluster.self.api, 'leader (this one)']);
    expect(await panel.locator('[data-switch-role="0000000000000abc"] td').allTextContents()).toEqual(['0000000000000abc', 'master', cluster.generationId]);
    // The same facts as the CLI's `holdfast status`.
    const status = await member.cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`cluster: 1 member, leader ${cluster.leader!.name}, generation ${cluster.generationId}`);
    expect(status.stdout).toMatch(new RegExp(`0000000000000abc\\s+master\\s+${cluster.generationId}`));
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await clusterPage.screenshot({ path: join(ROOT, 'test-artifacts/live-view-cluster.png'), fullPage: true });
  }, 60_000);
});
