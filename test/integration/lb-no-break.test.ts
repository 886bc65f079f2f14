// The product's promise, end to end on a real Open vSwitch: no established connection that sends
// packets during a migration is broken by add, drain, remove or weight change — in nat and in dsr
// mode, and across a controller restart in the middle of a migration. Clients in their own
// namespaces hold long-lived TCP connections (each checks every reply comes from the backend it
// started with), open new TCP connections steadily and run UDP flows, while the pool changes.
import { afterEach, describe, expect, it } from 'vitest';
import { LbRig, sleep, until } from '../helpers/lb-harness.js';
import { startClientProc, startServerProc } from '../../tools/traffic/procs.js';
import type { FinalReport } from '../../tools/traffic/stats.js';
import type { ForwardingMode } from '../../apps/lb/model.js';

const VIP = '10.0.0.100';
const BACKENDS = ['b1', 'b2', 'b3', 'b4'];

async function setUp(rig: LbRig, mode: ForwardingMode): Promise<void> {
  await rig.start();
  const lb = rig.lb;
  const windows = { minMs: 1_000, quietMs: 500, maxMs: 5_000 };
  lb.addService({ name: 'tcp', vip: VIP, port: 80, mode, slots: 64, migration: windows, maxQuerySlots: 16 });
  lb.addService({ name: 'udp', vip: VIP, port: 53, proto: 'udp', mode, slots: 64, migration: windows, maxQuerySlots: 16 });
  for (const b of BACKENDS) {
    if (mode === 'dsr') {
      // dsr: the backend owns the VIP on loopback without answering ARP for it (docs/operations.md).
      for (const cmd of [
        ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo'],
        ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1'],
        ['sysctl', '-qw', 'net.ipv4.conf.all.arp_announce=2'],
      ]) {
        const r = await rig.lab.exec(b, cmd);
        expect(r.code, r.stderr).toBe(0);
      }
    }
    await startServerProc((cmd) => rig.spawn(b, cmd), {
      name: b, tcp: mode === 'nat' ? 8080 : 80, udp: mode === 'nat' ? 5353 : 53, ...(mode === 'dsr' ? { bind: VIP } : {}),
    });
  }
  const add = (b: string) => {
    const ip = rig.ip(b);
    lb.addBackend('tcp', mode === 'nat' ? { ip, port: 8080, weight: 1 } : { ip, weight: 1 });
    lb.addBackend('udp', mode === 'nat' ? { ip, port: 5353, weight: 1 } : { ip, weight: 1 });
  };
  for (const b of ['b1', 'b2', 'b3']) add(b);
  await until('backends active', () => ['tcp', 'udp'].every((s) => lb.listBackends(s).every((b) => b.state === 'active')));
  await until('initial slots assigned', () => ['tcp', 'udp'].every((s) => lb.getService(s).migrations.length === 0), 20_000);
}

function startClients(rig: LbRig, durationMs: number): Promise<FinalReport>[] {
  return ['c1', 'c2'].map((c) => startClientProc((cmd) => rig.spawn(c, cmd), {
    target: `${VIP}:80`, udpTarget: `${VIP}:53`, long: 100, intervalMs: 100, newRate: 15, udpFlows: 10,
    durationMs, startStaggerMs: 1000, stallMs: 4000,
  }).final());
}

function expectNoBreak(reports: FinalReport[]): void {
  console.log(JSON.stringify(reports.map((r) => ({
    long: { ...r.long, failures: r.long.failures.length },
    newConns: { ...r.newConns, failures: undefined },
    udp: { ...r.udp, failures: r.udp.failures?.length },
  }))));
  for (const r of reports) {
    expect(r.long.failures, JSON.stringify(r.long.failures.slice(0, 5))).toEqual([]);
    expect(r.long.opened).toBe(100);
    expect(r.newConns.failed).toBe(0);
    expect(r.newConns.ok).toBeGreaterThan(100);
    expect(r.udp.failures, JSON.stringify({ ...r.udp, failures: r.udp.failures.slice(0, 5) })).toEqual([]);
    expect(r.udp.stickinessViolations).toBe(0);
    expect(r.long.stickinessViolations).toBe(0);
  }
}

/** Add b4, drain b1, remove b2, re-weight b3 — each while the previous migration may still run. */
async function poolChanges(rig: LbRig, mode: ForwardingMode, midRestart = false): Promise<void> {
  const lb = rig.lb;
  const key = (b: string, svc: 'tcp' | 'udp') => (mode === 'nat' ? `${rig.ip(b)}:${svc === 'tcp' ? 8080 : 5353}` : rig.ip(b));
  await sleep(3_000);
  for (const svc of ['tcp', 'udp'] as const) {
    const ip = rig.ip('b4');
    lb.addBackend(svc, mode === 'nat' ? { ip, port: svc === 'tcp' ? 8080 : 5353, weight: 1 } : { ip, weight: 1 });
  }
  if (midRestart) {
    await until('query slots in flight', () => rig.lb.getService('tcp').querySlots.length > 0, 5_000);
    await sleep(300);
    await rig.restartController();
  }
  await sleep(4_000);
  for (const svc of ['tcp', 'udp'] as const) rig.lb.drainBackend(svc, key('b1', svc));
  await sleep(4_000);
  for (const svc of ['tcp', 'udp'] as const) rig.lb.removeBackend(svc, key('b2', svc));
  await sleep(4_000);
  for (const svc of ['tcp', 'udp'] as const) rig.lb.setWeight(svc, key('b3', svc), 3);
}

describe.each(['nat', 'dsr'] as const)('no broken connections (%s)', (mode) => {
  let rig: LbRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('survives add, drain, remove and re-weight under load', async () => {
    rig = new LbRig({ clients: ['c1', 'c2'], backends: BACKENDS });
    await setUp(rig, mode);
    const clients = startClients(rig, 24_000);
    await poolChanges(rig, mode);
    const reports = await Promise.all(clients);
    expectNoBreak(reports);
    // New connections reached the added backend; the drained one got none of the late ones.
    const byBackend = reports.map((r) => r.newConns.byBackend);
    expect(byBackend.some((b) => (b.b4 ?? 0) > 0)).toBe(true);
    const tcp = rig.lb.getService('tcp');
    expect(tcp.slotOwners.every((o) => o !== null && !o.startsWith(rig!.ip('b1')) && !o.startsWith(rig!.ip('b2')))).toBe(true);
  }, 120_000);
});

describe('no broken connections across a controller restart mid-migration', () => {
  let rig: LbRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('keeps every connection while the controller restarts during a migration', async () => {
    rig = new LbRig({ clients: ['c1', 'c2'], backends: BACKENDS });
    await setUp(rig, 'nat');
    const clients = startClients(rig, 26_000);
    await poolChanges(rig, 'nat', true);
    const reports = await Promise.all(clients);
    expectNoBreak(reports);
  }, 150_000);
});
