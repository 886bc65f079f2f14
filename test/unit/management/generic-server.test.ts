// The management server knows no app: a made-up one plugs in its routes, files and live feed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LiveFeed } from '../../../controller/management/live.js';
import { startManagementServer, type ManagementApp, type ManagementServer } from '../../../controller/management/server.js';

const open: ManagementServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function files(): { ui: string; lib: string } {
  const ui = mkdtempSync(join(tmpdir(), 'hf-ui-'));
  const lib = mkdtempSync(join(tmpdir(), 'hf-lib-'));
  dirs.push(ui, lib);
  writeFileSync(join(ui, 'index.html'), '<p>hello</p>');
  writeFileSync(join(lib, 'shared.js'), 'export const x = 1;');
  writeFileSync(join(lib, 'secret.js'), 'not for browsers');
  return { ui, lib };
}

async function start(app: ManagementApp): Promise<string> {
  const s = await startManagementServer({ host: '127.0.0.1', port: 0, app });
  open.push(s);
  return `http://127.0.0.1:${s.address.port}`;
}

describe('the generic management server', () => {
  it('routes /api to the app, serves its mounts (only the listed names), and 404s the rest', async () => {
    const { ui, lib } = files();
    const seen: string[] = [];
    const base = await start({
      api: (req) => {
        seen.push(`${req.method} ${req.path} ${JSON.stringify(req.body)}`);
        return { status: 200, body: { echo: req.path } };
      },
      static: [{ prefix: '/', dir: ui }, { prefix: '/lib/', dir: lib, only: ['shared.js'] }],
    });
    const r = await fetch(`${base}/api/things/1`, { method: 'POST', body: JSON.stringify({ a: 1 }) });
    expect(await r.json()).toEqual({ echo: '/things/1' });
    expect(seen).toEqual(['POST /things/1 {"a":1}']);
    expect(await (await fetch(`${base}/`)).text()).toBe('<p>hello</p>');
    const js = await fetch(`${base}/lib/shared.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(await js.text()).toBe('export const x = 1;');
    expect((await fetch(`${base}/lib/secret.js`)).status).toBe(404);
    expect((await fetch(`${base}/lib/..%2Fsecret.js`)).status).toBe(404);
    expect((await fetch(`${base}/api/cluster`)).status).toBe(404);
  });

  it('sends each WebSocket client the app\'s snapshot, then what the app broadcasts', async () => {
    let feed: LiveFeed | undefined;
    const base = await start({
      api: () => ({ status: 404, body: { error: 'none' } }),
      live: { start: (f) => { feed = f; }, stop: () => { feed = undefined; }, snapshot: () => ({ type: 'hello' }) },
    });
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`);
    const got: unknown[] = [];
    await new Promise<void>((resolve) => ws.on('message', (d) => {
      got.push(JSON.parse(String(d)));
      if (got.length === 1) feed!.broadcast({ type: 'news' });
      if (got.length === 2) resolve();
    }));
    expect(got).toEqual([{ type: 'hello' }, { type: 'news' }]);
    expect(feed!.clientCount).toBe(1);
    ws.close();
  });

  it('has no live feed when the app brings none', async () => {
    const base = await start({ api: () => ({ status: 200, body: {} }) });
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
  });
});
