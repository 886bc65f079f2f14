// The traffic server and client as real processes on loopback: a clean run has zero failures and
// consistent counts on both sides; a killed server, a backend switch behind a proxy and an
// unreachable target all show up as failures.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_JS, SERVER_JS, startClientProc, startServerProc, type SpawnFn } from '../../tools/traffic/procs.js';
import { LineBuffer } from '../../tools/traffic/protocol.js';

const ROOT = resolve(import.meta.dirname, '../..');
const children = new Set<ChildProcess>();
const spawnLocal: SpawnFn = (cmd) => {
  const c = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  c.once('close', () => children.delete(c));
  return c;
};
const closers: Array<() => void> = [];

/** Builds dist/ when the traffic sources are newer than their JS (type errors elsewhere still emit). */
function ensureBuilt(): void {
  const src = join(ROOT, 'tools/traffic');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(SERVER_JS) && existsSync(CLIENT_JS) && statSync(SERVER_JS).mtimeMs >= newest && statSync(CLIENT_JS).mtimeMs >= newest) return;
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    const ours = out.split('\n').filter((l) => l.startsWith('tools/traffic/'));
    if (ours.length > 0) throw new Error(`tools/traffic does not compile:\n${ours.join('\n')}`);
  }
  if (!existsSync(SERVER_JS) || !existsSync(CLIENT_JS)) throw new Error(`build did not produce ${SERVER_JS} and ${CLIENT_JS}`);
}

beforeAll(ensureBuilt, 120_000);

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const close of closers.splice(0)) close();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function server(name: string): Promise<Awaited<ReturnType<typeof startServerProc>> & { tcp: string; udp: string }> {
  const s = await startServerProc(spawnLocal, { name, tcp: 0, udp: 0, bind: '127.0.0.1' });
  expect(s.tcpPort).toBeGreaterThan(0);
  expect(s.udpPort).toBeGreaterThan(0);
  return { ...s, tcp: `127.0.0.1:${s.tcpPort}`, udp: `127.0.0.1:${s.udpPort}` };
}

function listen(srv: Server): Promise<number> {
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
}

/**
 * A misbehaving "load balancer": relays each TCP line and each UDP datagram to backend A until
 * switchAfterMs, then to backend B, on the same client connection or flow.
 */
async function switchingProxy(a: { tcp: number; udp: number }, b: { tcp: number; udp: number }, switchAfterMs: number): Promise<{ tcp: string; udp: string }> {
  const t0 = Date.now();
  const useB = (): boolean => Date.now() - t0 >= switchAfterMs;
  const tcp = createServer((client: Socket) => {
    const ups = [connect(a.tcp, '127.0.0.1'), connect(b.tcp, '127.0.0.1')];
    const lines = new LineBuffer();
    for (const up of ups) {
      up.on('data', (d) => client.write(d));
      up.on('error', () => client.destroy());
    }
    client.on('data', (d) => {
      for (const l of lines.push(d)) ups[useB() ? 1 : 0]!.write(`${l}\n`);
    });
    client.on('end', () => { for (const up of ups) up.end(); client.end(); });
    client.on('error', () => { for (const up of ups) up.destroy(); });
  });
  const tcpPort = await listen(tcp);
  const udp: UdpSocket = createSocket('udp4');
  const flows = new Map<string, UdpSocket>();
  udp.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let up = flows.get(key);
    if (!up) {
      const s = createSocket('udp4');
      s.on('message', (reply) => udp.send(reply, from.port, from.address));
      flows.set(key, (up = s));
    }
    up.send(msg, useB() ? b.udp : a.udp, '127.0.0.1');
  });
  const udpPort = await new Promise<number>((r) => udp.bind(0, '127.0.0.1', () => r(udp.address().port)));
  closers.push(() => {
    tcp.close();
    udp.close();
    for (const s of flows.values()) s.close();
  });
  return { tcp: `127.0.0.1:${tcpPort}`, udp: `127.0.0.1:${udpPort}` };
}

describe('traffic server and client on loopback', () => {
  it('a clean run has zero failures, every workload succeeds, and both sides count the same requests', async () => {
    const b1 = await server('b1');
    const client = startClientProc(spawnLocal, { target: b1.tcp, udpTarget: b1.udp, long: 5, intervalMs: 50, newRate: 20, udpFlows: 3, durationMs: 2000, reportMs: 500, startStaggerMs: 200 });
    const r = await client.final();
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ type: 'final', ok: true, totalFailures: 0, stoppedBy: 'duration' });
    expect(r.long).toMatchObject({ configured: 5, opened: 5, reopened: 0, open: 0, closedCleanly: 5, stickinessViolations: 0, failureCount: 0, connsByBackend: { b1: 5 } });
    expect(r.long.replies).toBe(r.long.requests);
    expect(r.long.replies).toBeGreaterThan(5 * 10);
    expect(Object.keys(r.long.repliesByBackend)).toEqual(['b1']);
    expect(r.newConns).toMatchObject({ failed: 0, skipped: 0, inFlight: 0 });
    expect(r.newConns.ok).toBe(r.newConns.started);
    expect(r.newConns.ok).toBeGreaterThanOrEqual(30);
    expect(r.newConns.byBackend).toEqual({ b1: r.newConns.ok });
    expect(r.udp).toMatchObject({ flows: 3, failed: 0, timeouts: 0, flowsByBackend: { b1: 3 } });
    expect(r.udp.replies).toBe(r.udp.sent);
    expect(r.udp.sent).toBeGreaterThan(3 * 10);
    expect(r.durationMs).toBeGreaterThanOrEqual(2000);
    expect(await client.out.exited).toBe(0);
    expect(client.out.stderr).not.toContain('FAILURE');
    const progress = client.progress();
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)!.long.replies).toBeLessThanOrEqual(r.long.replies);
    expect(progress[0]!.totalFailures).toBe(0);
    const sf = await b1.stop();
    // The server saw exactly what the client says it sent, and every connection is closed.
    expect(sf).toMatchObject({ type: 'server-final', name: 'b1', tcpOpen: 0, tcpErrors: 0, udpDatagrams: r.udp.sent });
    expect(sf!.tcpLines).toBe(r.long.requests + r.newConns.started);
    expect(sf!.tcpConnections).toBe(r.long.opened + r.newConns.started);
  });

  it('a server killed mid-run shows up as failures: peer closes or resets, refused connections, not ok, exit 1', async () => {
    const b1 = await server('b1');
    const client = startClientProc(spawnLocal, { target: b1.tcp, udpTarget: b1.udp, long: 4, intervalMs: 50, newRate: 20, udpFlows: 2, durationMs: 2000, stallMs: 500 });
    await client.out.waitLine(() => false, 800).catch(() => undefined);
    await b1.kill();
    const r = await client.final();
    expect(r.ok).toBe(false);
    expect(r.totalFailures).toBeGreaterThan(0);
    expect(r.long.replies).toBeGreaterThan(0);
    const killed = (r.long.failuresByKind['peer-close'] ?? 0) + (r.long.failuresByKind['reset'] ?? 0) + (r.long.failuresByKind['stall'] ?? 0);
    expect(killed).toBeGreaterThanOrEqual(4);
    // Replacements of the dead connections are refused.
    expect(r.long.failuresByKind['connect']).toBeGreaterThan(0);
    expect(r.long.reopened).toBeGreaterThan(0);
    expect(r.newConns.failuresByKind['connect']).toBeGreaterThan(0);
    expect(r.newConns.ok + r.newConns.failed).toBe(r.newConns.started);
    expect(r.udp.timeouts).toBeGreaterThan(0);
    const f = r.long.failures.find((x) => x.kind === 'peer-close' || x.kind === 'reset')!;
    expect(f).toMatchObject({ workload: 'long', backend: 'b1' });
    expect(f.tMs).toBeGreaterThan(500);
    expect(r.problems.join('\n')).toMatch(/long: \d+ failures/);
    expect(await client.out.exited).toBe(1);
    expect(client.out.stderr).toMatch(/FAILURE long#\d (peer-close|reset)/);
    expect(client.out.stderr).toMatch(/NOT OK/);
  });

  it('a flow that moves to another backend is a stickiness violation, for TCP and UDP', async () => {
    const [b1, b2] = await Promise.all([server('b1'), server('b2')]);
    const proxy = await switchingProxy({ tcp: b1.tcpPort!, udp: b1.udpPort! }, { tcp: b2.tcpPort!, udp: b2.udpPort! }, 700);
    const client = startClientProc(spawnLocal, { target: proxy.tcp, udpTarget: proxy.udp, long: 3, intervalMs: 50, udpFlows: 2, durationMs: 1500 });
    const r = await client.final();
    expect(r.ok).toBe(false);
    expect(r.long.connsByBackend).toEqual({ b1: 3 });
    expect(r.long.stickinessViolations).toBeGreaterThanOrEqual(3);
    expect(r.long.failures.find((x) => x.kind === 'wrong-backend')).toMatchObject({ backend: 'b2', expected: 'b1' });
    expect(r.udp.flowsByBackend).toEqual({ b1: 2 });
    expect(r.udp.stickinessViolations).toBeGreaterThanOrEqual(2);
    expect(r.udp.failures.find((x) => x.kind === 'wrong-backend')).toMatchObject({ backend: 'b2', expected: 'b1' });
    expect(client.out.stderr).toMatch(/FAILURE (long|udp)#\d wrong-backend .*backend=b2 expected="b1"/);
  });

  it('SIGTERM ends the run early and gracefully: FIN on every long connection, exit 0', async () => {
    const b1 = await server('b1');
    const client = startClientProc(spawnLocal, { target: b1.tcp, long: 20, intervalMs: 20, newRate: 50, reportMs: 200 });
    await client.out.waitLine((l) => l.startsWith('{"type":"progress"') && (JSON.parse(l) as { long: { open: number } }).long.open === 20, 5000, 'all 20 open');
    const r = await client.stop();
    expect(r).toMatchObject({ ok: true, stoppedBy: 'SIGTERM', totalFailures: 0 });
    expect(r.long).toMatchObject({ opened: 20, closedCleanly: 20, open: 0 });
    expect(r.newConns.inFlight).toBe(0);
    expect(await client.out.exited).toBe(0);
    const sf = await b1.stop();
    expect(sf).toMatchObject({ tcpOpen: 0, tcpErrors: 0 });
  });

  it('nothing listening: every workload fails or is silent, and the report says so', async () => {
    // A port just released by us: nothing listens there.
    const probe = createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const client = startClientProc(spawnLocal, { target: `127.0.0.1:${port}`, udpTarget: `127.0.0.1:${port}`, long: 2, newRate: 10, udpFlows: 1, durationMs: 800, stallMs: 300 });
    const r = await client.final();
    expect(r.ok).toBe(false);
    expect(r.long.opened).toBe(0);
    expect(r.long.failuresByKind['connect']).toBeGreaterThanOrEqual(2);
    expect(r.newConns.ok).toBe(0);
    expect(r.udp.replies).toBe(0);
    expect(r.problems).toEqual(expect.arrayContaining(['udp: no replies to ' + r.udp.sent + ' datagrams', 'long: no replies on 2 configured connections']));
  });

  it('the server answers HTTP, survives client resets and oversized lines, and shuts down on SIGTERM', async () => {
    const b1 = await server('web1');
    const [host, port] = [b1.tcp.split(':')[0]!, Number(b1.tcp.split(':')[1])];
    const http = await new Promise<string>((res, rej) => {
      let got = '';
      const s = connect(port, host, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => res(got));
      s.on('error', rej);
    });
    expect(http).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(http.endsWith('\r\n\r\nhello from web1\n')).toBe(true);
    for (let i = 0; i < 20; i++) {
      const s = connect(port, host, () => {
        s.write('L0 1\nL0 2\n');
        s.resetAndDestroy();
      });
      s.on('error', () => undefined);
    }
    const big = connect(port, host, () => big.write('x'.repeat(64 * 1024)));
    big.on('error', () => undefined);
    await new Promise<void>((r) => big.on('close', () => r()));
    const client = startClientProc(spawnLocal, { target: b1.tcp, long: 2, newRate: 10, durationMs: 500 });
    expect((await client.final()).ok).toBe(true);
    const sf = await b1.stop();
    expect(b1.out.exitCode).toBe(0);
    expect(sf).toMatchObject({ name: 'web1', httpRequests: 1, tcpOversized: 1, tcpOpen: 0 });
  });

  it('bad arguments: one line on stderr, exit 2', async () => {
    for (const [js, args, msg] of [
      [CLIENT_JS, ['--target', 'nowhere', '--long', '1'], /^client: bad --target "nowhere": expected IP:PORT/],
      [CLIENT_JS, ['--long', '1'], /^client: --target IP:PORT is required/],
      [SERVER_JS, ['--tcp', '80'], /^server: --name is required/],
    ] as const) {
      const c = spawnLocal([process.execPath, js, ...args]);
      let err = '';
      c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => c.once('close', r));
      expect(code).toBe(2);
      expect(err).toMatch(msg);
      expect(err.trim().split('\n')).toHaveLength(1);
    }
  });
});
