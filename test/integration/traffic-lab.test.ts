// The traffic tools across a real Open vSwitch bridge, server and client in their own host
// namespaces: zero failures through plain L2 forwarding and through a static VIP rewrite (the
// shape of the load balancer's nat mode), and a VIP moved to another backend mid-run is caught.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lab, LabSpec } from '../../tools/lab/lab.js';
import { CLIENT_JS, SERVER_JS, startClientProc, startServerProc, type ServerProc } from '../../tools/traffic/procs.js';
import { LabPool } from '../helpers/lab.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const VIP = '10.0.0.100';
const VMAC = '02:00:00:00:00:64';
const PORT = 8080;

const spec: LabSpec = {
  name: 'traffic-lab-test',
  bridges: [{ name: 'br0', controller: null }],
  hosts: [
    { name: 'client', bridge: 'br0', ip: '10.0.0.1/24' },
    { name: 'b1', bridge: 'br0', ip: '10.0.0.2/24' },
    { name: 'b2', bridge: 'br0', ip: '10.0.0.3/24' },
  ],
};

beforeAll(() => {
  if (existsSync(SERVER_JS) && existsSync(CLIENT_JS)) return;
  try {
    execFileSync(resolve(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch { /* type errors elsewhere still emit JS */ }
}, 120_000);

const pool = new LabPool();
afterEach(() => pool.stopAll());

const of = (lab: Lab, ...args: string[]): Promise<string> => lab.ofctl(['-O', 'OpenFlow13', ...args]);

async function backends(lab: Lab): Promise<ServerProc[]> {
  return Promise.all(['b1', 'b2'].map((h) => startServerProc((cmd) => lab.spawn(h, cmd), { name: h, tcp: PORT, udp: PORT, bind: '0.0.0.0' })));
}

/** Sends VIP:PORT to one backend (rewriting MAC, IP) and rewrites every backend's replies back to the VIP. */
async function vipTo(lab: Lab, backend: string, cmd: 'add-flow' | 'mod-flows'): Promise<void> {
  const b = lab.host(backend);
  await of(lab, cmd, 'br0', `priority=100,ip,nw_dst=${VIP},actions=set_field:${b.mac}->eth_dst,set_field:${b.ip}->ip_dst,output:${b.ofport}`);
}

describe('traffic tools through Open vSwitch', () => {
  it('zero failures between two host namespaces through NORMAL forwarding', async () => {
    const lab = await pool.start(spec);
    await of(lab, 'add-flow', 'br0', 'actions=NORMAL');
    const [b1] = await backends(lab);
    const client = startClientProc((cmd) => lab.spawn('client', cmd), {
      target: `${lab.host('b1').ip}:${PORT}`, udpTarget: `${lab.host('b1').ip}:${PORT}`, long: 30, intervalMs: 100, newRate: 30, udpFlows: 5,
      durationMs: 3000, startStaggerMs: 500, reportMs: 1000, bindIp: lab.host('client').ip,
    });
    const r = await client.final();
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, totalFailures: 0 });
    expect(r.long).toMatchObject({ opened: 30, closedCleanly: 30, connsByBackend: { b1: 30 } });
    expect(r.long.replies).toBeGreaterThan(30 * 15);
    expect(r.newConns.ok).toBeGreaterThanOrEqual(60);
    expect(r.newConns.byBackend).toEqual({ b1: r.newConns.ok });
    expect(r.udp.replies).toBeGreaterThan(5 * 15);
    expect(r.udp.flowsByBackend).toEqual({ b1: 5 });
    const sf = await b1!.stop();
    expect(sf!.tcpLines).toBe(r.long.requests + r.newConns.started);
    expect(sf!.udpDatagrams).toBe(r.udp.sent);
  });

  it('through a VIP rewrite: zero failures while the VIP stays put; moving it mid-run breaks stickiness and the client says so', async () => {
    const lab = await pool.start(spec);
    const c = lab.host('client');
    await of(lab, 'add-flow', 'br0', 'priority=0,actions=NORMAL');
    for (const h of ['b1', 'b2']) {
      const b = lab.host(h);
      for (const proto of ['tcp', 'udp']) {
        await of(lab, 'add-flow', 'br0', `priority=100,${proto},in_port=${b.ofport},nw_src=${b.ip},${proto}_src=${PORT},actions=set_field:${VMAC}->eth_src,set_field:${VIP}->ip_src,output:${c.ofport}`);
      }
    }
    await vipTo(lab, 'b1', 'add-flow');
    // The client resolves the VIP to its virtual MAC (the controller's ARP answer, made static here).
    await lab.exec('client', ['ip', 'neigh', 'replace', VIP, 'lladdr', VMAC, 'dev', c.veth, 'nud', 'permanent']);
    await backends(lab);
    const target = `${VIP}:${PORT}`;

    const steady = startClientProc((cmd) => lab.spawn('client', cmd), { target, udpTarget: target, long: 10, intervalMs: 50, newRate: 20, udpFlows: 4, durationMs: 1500 });
    const s = await steady.final();
    expect(s.problems).toEqual([]);
    expect(s.long.repliesByBackend).toEqual({ b1: s.long.replies });
    expect(s.udp.repliesByBackend).toEqual({ b1: s.udp.replies });

    const moved = startClientProc((cmd) => lab.spawn('client', cmd), { target, udpTarget: target, long: 10, intervalMs: 50, newRate: 20, udpFlows: 4, durationMs: 3000, reportMs: 100, stallMs: 1000 });
    await moved.out.waitLine((l) => l.startsWith('{"type":"progress"') && (JSON.parse(l) as { long: { open: number } }).long.open === 10, 5000, 'all long connections open');
    await vipTo(lab, 'b2', 'mod-flows');
    const r = await moved.final();
    expect(r.ok).toBe(false);
    // b2 knows nothing of b1's connections: every one of them breaks (mostly resets; one caught
    // between request and reply may show as a stall instead); UDP flows now get answers from b2.
    expect(r.long.connsByBackend.b1).toBeGreaterThanOrEqual(10);
    expect(r.long.failureCount).toBeGreaterThanOrEqual(10);
    expect(r.long.failuresByKind['reset'] ?? 0).toBeGreaterThan(0);
    expect(r.udp.stickinessViolations).toBeGreaterThanOrEqual(4);
    expect(r.udp.failures.find((f) => f.kind === 'wrong-backend')).toMatchObject({ backend: 'b2', expected: 'b1' });
    // New connections after the move land on b2 and succeed.
    expect(r.newConns.byBackend.b2).toBeGreaterThan(0);
    expect(moved.out.stderr).toMatch(/FAILURE long#\d+ reset .*backend=b1 ECONNRESET/);
  });
});
