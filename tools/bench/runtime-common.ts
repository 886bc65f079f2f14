// Shared setup for the runtime benchmarks: a controller on loopback and a one-bridge lab pointed at it.
import { Controller, type SwitchHandle } from '../../controller/index.js';
import { startLab, type Lab } from '../lab/lab.js';

export interface RuntimeBenchEnv {
  ctl: Controller;
  lab: Lab;
  sw: SwitchHandle;
  stop(): Promise<void>;
}

export async function startRuntimeBenchEnv(protocols: string[] = ['OpenFlow13']): Promise<RuntimeBenchEnv> {
  const ctl = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], auditIntervalMs: 0, requestTimeoutMs: 60_000 });
  await ctl.start();
  let lab: Lab | undefined;
  try {
    lab = await startLab({
      name: 'runtime-bench',
      bridges: [{ name: 'brb', protocols, datapathId: '00000000000000be', controller: { host: '127.0.0.1', port: ctl.addresses()[0].port } }],
      hosts: [],
    });
    const start = Date.now();
    let sw: SwitchHandle | undefined;
    while (!(sw = ctl.switch(0xben))) {
      if (Date.now() - start > 15_000) throw new Error('bridge did not connect');
      await new Promise((r) => setTimeout(r, 20));
    }
    const l = lab;
    return { ctl, lab: l, sw, stop: async () => { await l.stop(); await ctl.stop(); } };
  } catch (err) {
    await lab?.stop();
    await ctl.stop();
    throw err;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

