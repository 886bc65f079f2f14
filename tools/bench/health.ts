// Health check cost: 1,000 backends checked every second by TCP probes through an emulated switch
// (lb-emulator.ts in a child process answers each SYN from the monitor MAC with a SYN-ACK
// packet-in, as a listening backend would). Measures the controller's CPU (this process) and the
// switch's message rates (packet-outs to it, packet-ins from it) over a steady window.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LoadBalancer } from '../../apps/lb/app.js';
import { Controller } from '../../controller/index.js';
import { Store } from '../../db/store.js';
import { sleep, until } from './lb-common.js';
import { EmulatorProc } from './lb-queryreply.js';
import type { EmulatorConfig, SwitchCounters } from './lb-emulator.js';

export interface HealthBenchOptions { backends: number; intervalMs: number; seconds: number }

export interface HealthBenchResult {
  node: string;
  backends: number;
  intervalMs: number;
  seconds: number;
  /** Controller CPU over the window, as a share of one core. */
  controllerCpu: number;
  /** The same with no health checks (type none), for the baseline. */
  baselineCpu: number;
  /** Per second at the switch. */
  packetOutsPerSec: number;
  packetInsPerSec: number;
  probesPerSec: number;
  /** Backends whose last check was good at the end. */
  healthy: number;
  rttP50Ms: number;
}

export async function runHealthBench(o: HealthBenchOptions): Promise<HealthBenchResult> {
  const store = Store.open(':memory:');
  const controller = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0, logLevel: 'warn' });
  await controller.start();
  const monitor = { ip: '10.96.255.254', mac: '02:48:46:ff:ff:fe' };
  const lb = new LoadBalancer({ controller, store, pinAuditIntervalMs: 3_600_000, monitor });
  lb.start();
  const script = fileURLToPath(new URL('./lb-emulator.js', import.meta.url));
  let emu: EmulatorProc | undefined;
  try {
    const svc = lb.addService({
      name: 'bench', vip: '10.97.0.1', port: 80, slots: 256,
      health: { type: 'none', intervalMs: o.intervalMs, timeoutMs: Math.floor(o.intervalMs / 2) },
    });
    for (let i = 0; i < o.backends; i++) {
      const n = i + 1;
      lb.addBackend('bench', {
        ip: `10.96.${(n >> 8) & 0xff}.${n & 0xff}`, port: 8080, weight: 1,
        mac: `02:00:00:97:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`, switchPort: 1 + (i % 4),
      });
    }
    const cfg: EmulatorConfig = {
      host: '127.0.0.1', port: controller.addresses()[0]!.port, dpid: '000000000000be01', serviceId: svc.id, slots: svc.slots,
      vip: svc.vip, vport: svc.port, index: 0, livePins: 0, answerProbesFrom: monitor.mac,
    };
    emu = new EmulatorProc(fork(script, [JSON.stringify(cfg)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await emu.next('pipeline', 15_000);
    await until('switch', () => controller.switches().length === 1);
    await sleep(2_000);

    const window = async (): Promise<{ cpu: number; d: SwitchCounters; wall: number }> => {
      emu!.send({ cmd: 'counters' });
      const a = (await emu!.next('counters', 5_000)).counters;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(o.seconds * 1000);
      const c = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      emu!.send({ cmd: 'counters' });
      const b = (await emu!.next('counters', 5_000)).counters;
      const d = { packetOuts: b.packetOuts - a.packetOuts, probeSyns: b.probeSyns - a.probeSyns, probeRsts: b.probeRsts - a.probeRsts, packetIns: b.packetIns - a.packetIns, otherMessages: b.otherMessages - a.otherMessages };
      return { cpu: (c.user + c.system) / 1000 / wall, d, wall };
    };
    const base = await window();
    lb.updateService('bench', { health: { type: 'tcp' } });
    await sleep(Math.max(2_000, 2 * o.intervalMs)); // every backend checked at least once
    const run = await window();
    const views = lb.listBackends('bench');
    const rtts = views.map((v) => v.health.rttMs).filter((x): x is number => x !== null).sort((x, y) => x - y);
    const perSec = (n: number) => Math.round((n / run.wall) * 1000);
    return {
      node: process.version, backends: o.backends, intervalMs: o.intervalMs, seconds: o.seconds,
      controllerCpu: run.cpu, baselineCpu: base.cpu,
      packetOutsPerSec: perSec(run.d.packetOuts), packetInsPerSec: perSec(run.d.packetIns), probesPerSec: perSec(run.d.probeSyns),
      healthy: views.filter((v) => v.health.lastOk === true && v.state === 'active').length,
      rttP50Ms: rtts.length ? rtts[Math.floor(rtts.length / 2)]! : NaN,
    };
  } finally {
    emu?.send({ cmd: 'exit' });
    lb.stop();
    await controller.stop();
    store.close();
  }
}

export function formatHealthBench(r: HealthBenchResult): string {
  return [
    `health checks: ${r.backends} backends, tcp probes every ${r.intervalMs} ms through an emulated switch (${r.seconds} s window, node ${r.node})`,
    `  controller CPU        ${(r.controllerCpu * 100).toFixed(1)}% of one core (baseline without checks ${(r.baselineCpu * 100).toFixed(1)}%)`,
    `  switch packet-outs    ${r.packetOutsPerSec}/s (probes ${r.probesPerSec}/s: SYN + RST each)`,
    `  switch packet-ins     ${r.packetInsPerSec}/s (SYN-ACKs)`,
    `  healthy backends      ${r.healthy}/${r.backends}, probe round trip p50 ${r.rttP50Ms} ms`,
  ].join('\n');
}
