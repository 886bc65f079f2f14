// A follower's API: it answers /api/cluster itself and forwards the rest to the leader, relaying
// the leader's answer; it shares the management server's HTTP plumbing (bind rule, body limit).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFollowerServer, type ClusterInfo, type FollowerServer } from '../../../controller/management/follower.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A leader that echoes what it was sent. */
async function leader(): Promise<string> {
  const s: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = JSON.stringify({ method: req.method, url: req.url, bytes: Buffer.concat(chunks).length });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function follower(api: string): Promise<string> {
  const member = { name: 'm1', api, openflow: 'tcp:127.0.0.1:6653' };
  const info: ClusterInfo = { self: member, leader: member, isLeader: false, generationId: '1', members: [member], switches: [] };
  const f: FollowerServer = await startFollowerServer({ host: '127.0.0.1', port: 0, cluster: async () => info });
  closers.push(() => f.close());
  return `http://127.0.0.1:${f.address.port}`;
}

describe('the follower API', () => {
  it('answers /api/cluster itself and relays the leader\'s answer to the rest', async () => {
    const base = await follower(await leader());
    expect(await (await fetch(`${base}/api/cluster`)).json()).toMatchObject({ isLeader: false, leader: { name: 'm1' } });
    const r = await fetch(`${base}/api/services?x=1`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-holdfast-leader')).toBe('m1');
    expect(await r.json()).toEqual({ method: 'POST', url: '/api/services?x=1', bytes: 7 });
  });

  it('refuses a body over the limit as the request\'s fault (413), not the leader\'s (502)', async () => {
    const base = await follower(await leader());
    const r = await fetch(`${base}/api/services`, { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1, 0x20) });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: 'the request body is larger than 1048576 bytes' });
  });

  it('a leader that does not answer is a 502', async () => {
    const base = await follower('http://127.0.0.1:1');
    const r = await fetch(`${base}/api/services`);
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: string }).error).toMatch(/^forwarding to the leader failed/);
  });

  it('will not open an API to other hosts without a token', async () => {
    await expect(startFollowerServer({ host: '0.0.0.0', port: 0, cluster: async () => { throw new Error('unused'); } }))
      .rejects.toThrow(/reachable from other hosts: set a token/);
  });
});
