// GET /metrics plumbing: one prom-client registry per management server, holding what every
// controller has (the process, and each switch's OpenFlow connection), into which the app adds its
// own collectors (apps/lb/web/prometheus.ts). Every value is read from live state at scrape time.
// Every metric is documented in docs/metrics.md: keep the two in step.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { SwitchHandle } from '../app.js';
import type { ConnectionStats } from '../connection.js';

/** What /metrics needs of the OpenFlow runtime (the Controller has it). */
export interface SwitchSource {
  switches(): SwitchHandle[];
  connectionStats(dpid: bigint): ConnectionStats | undefined;
  /** Switches that left and are kept for a grace period (reported as not connected). */
  departedSwitches(): bigint[];
}

/** A flow-count answer slower than this is left out of the scrape rather than holding it up. */
const FLOW_COUNT_TIMEOUT_MS = 2_000;

export interface PrometheusMetrics {
  /** Apps register their collectors here. */
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  close(): void;
}

const hex = (dpid: bigint): string => dpid.toString(16).padStart(16, '0');

export function createPrometheusMetrics(switches?: SwitchSource): PrometheusMetrics {
  const registry = new Registry();
  const stopProcess = addProcessMetrics(registry);
  if (switches) addSwitchMetrics(registry, switches);
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => stopProcess(),
  };
}

function addSwitchMetrics(registry: Registry, src: SwitchSource): void {
  const dl = ['dpid'] as const;
  new Gauge({
    name: 'holdfast_switch_connected', help: 'Whether the switch is connected (1); 0 for one that left within the last minute.',
    labelNames: dl, registers: [registry],
    collect() {
      this.reset();
      for (const sw of src.switches()) this.set({ dpid: sw.dpidHex }, 1);
      for (const d of src.departedSwitches()) if (!src.switches().some((s) => s.dpid === d)) this.set({ dpid: hex(d) }, 0);
    },
  });
  new Gauge({
    name: 'holdfast_switch_flows', help: 'Flow entries in the switch\'s tables (table statistics, asked at scrape time).',
    labelNames: dl, registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(src.switches().map(async (sw) => {
        const n = await flowCount(sw);
        if (n !== undefined) this.set({ dpid: sw.dpidHex }, n);
      }));
    },
  });
  const statCounter = (name: string, help: string, value: (c: ConnectionStats) => number): void => {
    new Counter({
      name, help, labelNames: dl, registers: [registry],
      collect() {
        this.reset();
        for (const sw of src.switches()) {
          const c = src.connectionStats(sw.dpid);
          if (c) this.inc({ dpid: sw.dpidHex }, value(c));
        }
      },
    });
  };
  statCounter('holdfast_switch_packet_ins_total', 'Packet-ins received from the switch on its current connection.', (c) => c.packetIns);
  statCounter('holdfast_switch_flow_removed_total', 'Flow-removed messages received from the switch on its current connection.', (c) => c.flowRemoved);
  statCounter('holdfast_switch_flow_mods_total', 'Flow-mods sent to the switch on its current connection (pins, pipeline, deletes; bundled ones included).', (c) => c.flowMods);
  statCounter('holdfast_switch_errors_total', 'OpenFlow error messages received from the switch on its current connection.', (c) => c.errors);
  statCounter('holdfast_switch_messages_received_total', 'OpenFlow messages received from the switch on its current connection.', (c) => c.rxMessages);
  statCounter('holdfast_switch_messages_sent_total', 'OpenFlow messages sent to the switch on its current connection.', (c) => c.txMessages);
  new Gauge({
    name: 'holdfast_switch_echo_rtt_seconds', help: 'Round-trip time of the last echo request answered by the switch (keepalive, every 5 s).',
    labelNames: dl, registers: [registry],
    collect() {
      this.reset();
      for (const sw of src.switches()) {
        const rtt = src.connectionStats(sw.dpid)?.lastEchoRttMs;
        if (rtt !== null && rtt !== undefined) this.set({ dpid: sw.dpidHex }, rtt / 1000);
      }
    },
  });
}

async function flowCount(sw: SwitchHandle): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const parts = await Promise.race([
      sw.multipart({ kind: 'table' }, FLOW_COUNT_TIMEOUT_MS),
      new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), FLOW_COUNT_TIMEOUT_MS); }),
    ]);
    if (!parts) return undefined;
    let n = 0;
    for (const p of parts) if (p.kind === 'table') for (const t of p.tables) n += t.activeCount;
    return n;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Event-loop lag and memory. Not prom-client's collectDefaultMetrics: a few of its gauges end in
 * `_total` (nodejs_active_handles_total...), which `promtool check metrics` rejects, and most of
 * the rest are of no use to an operator of this controller.
 */
function addProcessMetrics(registry: Registry): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ns = 1e-9;
  new Gauge({
    name: 'holdfast_event_loop_lag_seconds', help: 'Event-loop delay since the previous scrape: mean, 99th percentile and max.',
    labelNames: ['stat'], registers: [registry],
    collect() {
      this.reset();
      if (delay.count > 0) {
        this.set({ stat: 'mean' }, delay.mean * ns);
        this.set({ stat: 'p99' }, delay.percentile(99) * ns);
        this.set({ stat: 'max' }, delay.max * ns);
      }
      delay.reset();
    },
  });
  const mem = (name: string, help: string, value: (m: NodeJS.MemoryUsage) => number): void => {
    new Gauge({
      name, help, registers: [registry],
      collect() {
        this.set(value(process.memoryUsage()));
      },
    });
  };
  mem('process_resident_memory_bytes', 'Resident memory of the controller process.', (m) => m.rss);
  mem('nodejs_heap_size_used_bytes', 'V8 heap in use.', (m) => m.heapUsed);
  mem('nodejs_heap_size_total_bytes', 'V8 heap reserved.', (m) => m.heapTotal);
  mem('nodejs_external_memory_bytes', 'Memory of objects outside the V8 heap (buffers).', (m) => m.external);
  new Gauge({
    name: 'process_start_time_seconds', help: 'When the controller process started (Unix time).', registers: [registry],
    collect() {
      this.set(Math.round(Date.now() / 1000 - process.uptime()));
    },
  });
  return () => delay.disable();
}
