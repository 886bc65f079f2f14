import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ManagementServer } from '../../../controller/management/server.js';
import { startLbManagementServer } from '../../../apps/lb/web/server.js';
import type { WsServerMessage } from '../../../apps/lb/web/protocol.js';
import { testLb, testLbWithSwitch, type TestLb, type TestLbWithSwitch } from '../../helpers/test-lb.js';

const open: { server?: ManagementServer; t: TestLb }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.server?.close();
    await o.t.close();
  }
});

/** A management server on the real load balancer (no switch unless one is given). */
async function start(opts: { host?: string; token?: string; lb?: TestLb } = {}) {
  const t = opts.lb ?? testLb();
  const entry: (typeof open)[number] = { t };
  open.push(entry);
  const server = await startLbManagementServer({ host: opts.host ?? '127.0.0.1', port: 0, token: opts.token, control: t.lb, metricsIntervalMs: 100 });
  entry.server = server;
  const base = `http://127.0.0.1:${server.address.port}`;
  return { lb: t.lb, server, base };
}

/** A real load balancer closed after the test, for servers that never start. */
function lbOnly() {
  const t = testLb();
  open.push({ t });
  return t.lb;
}

/** A static backend (MAC and switch port given): active at once, no ARP needed. */
const B1 = { ip: '10.0.0.1', port: 8080, mac: '02:00:00:00:00:01', switchPort: 1 };

/**
 * The fake switch answers the load balancer's connection counts (aggregate requests for a
 * backend's pin cookie) with what `live` holds: how many connection entries it has, with their
 * packets and bytes, the way a switch reports its learned or pinned entries. These counts are
 * where the real load balancer takes the traffic of exact connection entries from.
 */
function answerCounts(t: TestLbWithSwitch, live: { flows: number; packets: bigint; bytes: bigint }): void {
  t.sw.intercept = (m) => {
    if (m.type !== 'multipart_request' || m.body.kind !== 'aggregate') return false;
    t.sw.send({
      type: 'multipart_reply', version: t.sw.version, xid: m.xid, flags: 0,
      body: { kind: 'aggregate', flowCount: live.flows, packetCount: live.packets, byteCount: live.bytes },
    });
    return true;
  };
}

/** Collects a WebSocket's messages; `next(pred)` waits for the first match. */
function collect(ws: WebSocket) {
  const seen: WsServerMessage[] = [];
  const waiters: { pred: (m: WsServerMessage) => boolean; resolve: (m: WsServerMessage) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as WsServerMessage;
    seen.push(m);
    for (const w of waiters.splice(0)) (w.pred(m) ? w.resolve(m) : waiters.push(w));
  });
  return {
    seen,
    next(pred: (m: WsServerMessage) => boolean, timeoutMs = 3000): Promise<WsServerMessage> {
      const hit = seen.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for a WebSocket message: ${String(pred)}`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
      });
    },
  };
}

function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { resolve(101); ws.close(); });
    ws.on('error', (err) => { if (!String(err.message).includes('Unexpected server response')) reject(err); });
  });
}

describe('management server', () => {
  it('serves the JSON API', async () => {
    const { base, lb } = await start();
    let r = await fetch(`${base}/api/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16 }) });
    expect(r.status).toBe(201);
    r = await fetch(`${base}/api/services/web/backends`, { method: 'POST', body: JSON.stringify({ ...B1, weight: 2 }) });
    expect(r.status).toBe(201);
    expect(lb.getService('web').backends[0]).toMatchObject({ key: '10.0.0.1:8080', weight: 2, slots: 16 });
    r = await fetch(`${base}/api/status`);
    expect(await r.json()).toMatchObject({ services: [{ name: 'web', backends: 1 }] });
  });

  it('answers bad requests with one JSON error line', async () => {
    const { base, lb } = await start();
    let r = await fetch(`${base}/api/services`, { method: 'POST', body: '{nope' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'the request body is not valid JSON' });
    r = await fetch(`${base}/api/bogus`);
    expect(r.status).toBe(404);
    r = await fetch(`${base}/api/services/missing/backends`, { method: 'POST', body: JSON.stringify({ ip: '10.0.0.1' }) });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'no service named "missing"' });
    expect(lb.listServices()).toEqual([]);
  });

  it('refuses cross-site browser requests', async () => {
    const { base, lb } = await start();
    const r = await fetch(`${base}/api/services`, { method: 'POST', headers: { origin: 'http://evil.example' }, body: JSON.stringify({ name: 'web', vip: '10.0.0.100', port: 80 }) });
    expect(r.status).toBe(403);
    expect(lb.listServices()).toEqual([]);
  });

  it('serves the live view', async () => {
    const { base } = await start();
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(await r.text()).toMatch(/Holdfast/);
    expect((await fetch(`${base}/app.js`)).status).toBe(200);
    expect((await fetch(`${base}/..%2Fserver.ts`)).status).toBe(404);
  });

  it('streams a snapshot, events, state and metrics over the WebSocket', async () => {
    // A switch that counts connections, so traffic reaches the load balancer the real way.
    const t = await testLbWithSwitch({ connCountIntervalMs: 50 });
    const live = { flows: 0, packets: 0n, bytes: 0n };
    answerCounts(t, live);
    const { base, lb } = await start({ lb: t });
    lb.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8 });
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`);
    const feed = collect(ws);
    const snap = await feed.next((m) => m.type === 'snapshot');
    expect(snap.type === 'snapshot' && snap.services.map((s) => s.name)).toEqual(['web']);
    expect(snap.type === 'snapshot' && snap.recentEvents.map((e) => e.event.type)).toEqual(['switch_up', 'service_added']);

    lb.addBackend('web', { ...B1, weight: 1 });
    const ev = await feed.next((m) => m.type === 'event');
    expect(ev.type === 'event' && ev.event.event).toEqual({ type: 'backend_added', service: 'web', backend: '10.0.0.1:8080' });
    const st = await feed.next((m) => m.type === 'state' && m.services[0]!.backends.length === 1);
    expect(st.type === 'state' && st.services[0]!.slotOwners.every((o) => o === '10.0.0.1:8080')).toBe(true);

    // A metrics reading that knows the backend (with no traffic yet) first: a backend new in a
    // reading has no rate.
    await feed.next((x) => x.type === 'metrics' && x.sample.backends.length === 1 && x.sample.backends[0]!.packets === 0);
    // The switch now holds one connection entry for the backend, 50 packets and 5000 bytes so far.
    Object.assign(live, { flows: 1, packets: 50n, bytes: 5000n });
    const m = await feed.next((x) => x.type === 'metrics' && x.sample.backends.some((b) => b.packetsPerSec > 0));
    expect(m.type === 'metrics' && m.sample.backends[0]!.packets).toBe(50);
    ws.close();

    // A reconnecting client gets a fresh snapshot with the current state.
    const ws2 = new WebSocket(`${base.replace('http', 'ws')}/api/ws`);
    const snap2 = await collect(ws2).next((x) => x.type === 'snapshot');
    expect(snap2.type === 'snapshot' && snap2.services[0]!.backends.length).toBe(1);
    expect(snap2.type === 'snapshot' && snap2.metricsHistory.length).toBeGreaterThan(0);
    ws2.close();
  });
});

describe('management auth', () => {
  it('refuses a non-loopback bind without a token', async () => {
    await expect(startLbManagementServer({ host: '0.0.0.0', port: 0, control: lbOnly() })).rejects.toThrow(/set a token/);
    await expect(startLbManagementServer({ host: '::', port: 0, control: lbOnly() })).rejects.toThrow(/set a token/);
  });

  it('with a token, refuses HTTP and WebSocket requests without it', async () => {
    const { base, server, lb } = await start({ host: '0.0.0.0', token: 's3cret' });
    const ws = `ws://127.0.0.1:${server.address.port}/api/ws`;
    let r = await fetch(`${base}/api/status`);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: 'a token is required (Authorization: Bearer <token>)' });
    r = await fetch(`${base}/api/services`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: JSON.stringify({ name: 'web', vip: '10.0.0.100', port: 80 }) });
    expect(r.status).toBe(401);
    expect(lb.listServices()).toEqual([]);
    r = await fetch(`${base}/api/status`, { headers: { authorization: 'Bearer s3cret' } });
    expect(r.status).toBe(200);

    expect(await wsStatus(ws)).toBe(401);
    expect(await wsStatus(`${ws}?token=wrong`)).toBe(401);
    expect(await wsStatus(ws, { authorization: 'Bearer wrong' })).toBe(401);
    expect(await wsStatus(`${ws}?token=s3cret`)).toBe(101);
    expect(await wsStatus(ws, { authorization: 'Bearer s3cret' })).toBe(101);

    // The page itself loads without a token (it asks for one).
    expect((await fetch(`${base}/`)).status).toBe(200);
  });
});

/** Sends raw request bytes (headers no HTTP client would write) and returns the status line. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    sock.on('data', (d: Buffer) => { got += d.toString(); });
    sock.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
    sock.on('error', reject);
    setTimeout(() => { sock.destroy(); resolve(got.split('\r\n')[0] ?? ''); }, 2000);
  });
}

describe('malformed requests are the client\'s error (4xx), never a 500', () => {
  it('a Host header that is no host, a bad request target, on the API, the page and the WebSocket', async () => {
    const { server } = await start();
    const port = server.address.port;
    const req = (head: string) => rawRequest(port, `${head}\r\nConnection: close\r\n\r\n`);
    expect(await req('GET /api/status HTTP/1.1\r\nHost: a b')).toBe('HTTP/1.1 400 Bad Request');
    expect(await req('POST /api/services HTTP/1.1\r\nHost: a b\r\nContent-Length: 0')).toBe('HTTP/1.1 400 Bad Request');
    expect(await req('GET /api/ws HTTP/1.1\r\nHost: a b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13')).toBe('HTTP/1.1 400 Bad Request');
    expect(await req('GET http://[zz/api/status HTTP/1.1\r\nHost: 127.0.0.1')).toMatch(/^HTTP\/1.1 400 /);
    expect(await req('GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://a b')).toBe('HTTP/1.1 403 Forbidden');
    // And a well-formed request still works.
    expect(await req(`GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${port}`)).toBe('HTTP/1.1 200 OK');
  });
});
