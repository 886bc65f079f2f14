// GET /metrics: the load balancer, its switches and the controller process in the Prometheus text
// format, through prom-client. Every value is read from the live state at scrape time (collect
// callbacks), so nothing here keeps a second copy of a counter that could drift; the one thing
// only this module sees is how long slot migrations take (from the event stream).
// Every metric is documented in docs/metrics.md: keep the two in step.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LbControl } from '../../apps/lb/control.js';
import type { BackendState, StoredEvent } from '../../apps/lb/model.js';
import type { SwitchHandle } from '../app.js';
import type { ConnectionStats } from '../connection.js';

/** What /metrics needs of the OpenFlow runtime (the Controller has it). */
export interface SwitchSource {
  switches(): SwitchHandle[];
  connectionStats(dpid: bigint): ConnectionStats | undefined;
  /** Switches that left and are kept for a grace period (reported as not connected). */
  departedSwitches(): bigint[];
}

const BACKEND_STATES: readonly BackendState[] = ['resolving', 'active', 'draining', 'drained', 'down', 'removed'];
/** A flow-count answer slower than this is left out of the scrape rather than holding it up. */
const FLOW_COUNT_TIMEOUT_MS = 2_000;
/** Migrations take from 0 (slots that move at once) to the max window (30 s by default) and more
 * when queued behind the query-slot limit. */
const MIGRATION_BUCKETS = [0.01, 0.1, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];

export interface PrometheusMetrics {
  readonly contentType: string;
  render(): Promise<string>;
  close(): void;
}

const hex = (dpid: bigint): string => dpid.toString(16).padStart(16, '0');

export function createPrometheusMetrics(control: LbControl, switches?: SwitchSource): PrometheusMetrics {
  const registry = new Registry();
  const stopProcess = addProcessMetrics(registry);

  // One reading of the load balancer per scrape, shared by every collect callback of that scrape.
  let cache: { at: number; services: ReturnType<LbControl['listServices']>; status: ReturnType<LbControl['status']> } | undefined;
  const read = () => {
    const now = Date.now();
    if (!cache || now - cache.at > 100) cache = { at: now, services: control.listServices(), status: control.status() };
    return cache;
  };

  const bl = ['service', 'backend'] as const;
  const backendGauge = (name: string, help: string, value: (b: ReturnType<LbControl['listBackends']>[number]) => number): void => {
    new Gauge({
      name, help, labelNames: bl, registers: [registry],
      collect() {
        this.reset();
        for (const s of read().services) for (const b of s.backends) this.set({ service: s.name, backend: b.key }, value(b));
      },
    });
  };
  const backendCounter = (name: string, help: string, value: (b: ReturnType<LbControl['listBackends']>[number]) => number): void => {
    new Counter({
      name, help, labelNames: bl, registers: [registry],
      collect() {
        this.reset();
        for (const s of read().services) for (const b of s.backends) this.inc({ service: s.name, backend: b.key }, value(b));
      },
    });
  };

  new Gauge({
    name: 'holdfast_backend_state', help: 'Backend state: 1 for the state the backend is in, 0 for the others.',
    labelNames: [...bl, 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const s of read().services) {
        for (const b of s.backends) for (const st of BACKEND_STATES) this.set({ service: s.name, backend: b.key, state: st }, b.state === st ? 1 : 0);
      }
    },
  });
  backendGauge('holdfast_backend_healthy', 'Whether the backend answers its health checks (ARP through the switches): 1 when active or draining.',
    (b) => (b.state === 'active' || b.state === 'draining' ? 1 : 0));
  backendGauge('holdfast_backend_weight', 'Configured weight (share of slots); 0 takes no new flows.', (b) => b.weight);
  backendGauge('holdfast_backend_slots', 'Slots (hash buckets) the backend owns now.', (b) => b.slots);
  backendGauge('holdfast_backend_slots_incoming', 'Slots migrating to the backend.', (b) => b.slotsIncoming);
  backendGauge('holdfast_backend_connections', 'Live connections: exact entries the switches hold for the backend at the last count (once a second).', (b) => b.connections);
  backendGauge('holdfast_backend_pins', 'Pins the controller installed for the backend and knows of.', (b) => b.pins);
  backendCounter('holdfast_backend_connections_opened_total', 'Exact connection entries created for the backend: ended (flow-removed) plus live at the last count.', (b) => b.connectionsOpened);
  backendCounter('holdfast_backend_packets_total', 'Packets forwarded to the backend: its forward buckets plus its connection entries, ended or live.', (b) => b.traffic.packets);
  backendCounter('holdfast_backend_bytes_total', 'Bytes (Ethernet frames as the switch counts them) forwarded to the backend: forward buckets plus connection entries, ended or live.', (b) => b.traffic.bytes);

  const sl = ['service'] as const;
  new Gauge({
    name: 'holdfast_service_info', help: 'A virtual service (always 1); its address and settings as labels.',
    labelNames: ['service', 'vip', 'port', 'proto', 'mode', 'tracking'], registers: [registry],
    collect() {
      this.reset();
      for (const s of read().services) this.set({ service: s.name, vip: s.vip, port: String(s.port), proto: s.proto, mode: s.mode, tracking: s.tracking }, 1);
    },
  });
  const serviceGauge = (name: string, help: string, value: (s: ReturnType<LbControl['listServices']>[number]) => number): void => {
    new Gauge({
      name, help, labelNames: sl, registers: [registry],
      collect() {
        this.reset();
        for (const s of read().services) this.set({ service: s.name }, value(s));
      },
    });
  };
  const serviceCounter = (name: string, help: string, value: (s: ReturnType<LbControl['listServices']>[number]) => number): void => {
    new Counter({
      name, help, labelNames: sl, registers: [registry],
      collect() {
        this.reset();
        for (const s of read().services) this.inc({ service: s.name }, value(s));
      },
    });
  };
  serviceGauge('holdfast_service_slots', 'Slots (buckets of the select group) of the service.', (s) => s.slots);
  serviceGauge('holdfast_service_query_slots', 'Slots whose bucket sends packets to the controller now.', (s) => s.querySlots.length);
  serviceGauge('holdfast_service_migrations', 'Slots of the service changing owner now (query or waiting for a query slot).', (s) => s.migrations.length);
  serviceCounter('holdfast_service_packet_ins_total', 'Packet-ins from the service\'s query slots.', (s) => s.counters.packetIns);
  serviceCounter('holdfast_service_pins_installed_total', 'Pins installed for the service.', (s) => s.counters.pinsInstalled);
  serviceCounter('holdfast_service_pins_removed_total', 'Pins of the service that ended (flow-removed, deleted, or gone from a dump).', (s) => s.counters.pinsRemoved);

  const controllerCounter = (name: string, help: string, value: (c: ReturnType<LbControl['status']>['counters']) => number): void => {
    new Counter({
      name, help, registers: [registry],
      collect() {
        this.reset();
        this.inc(value(read().status.counters));
      },
    });
  };
  controllerCounter('holdfast_packet_ins_total', 'Packet-ins handled by the load balancer (all services); rate() gives packet-ins per second.', (c) => c.packetIns);
  controllerCounter('holdfast_pins_installed_total', 'Pins installed (all services).', (c) => c.pinsInstalled);
  controllerCounter('holdfast_pins_removed_total', 'Pins removed (all services).', (c) => c.pinsRemoved);
  controllerCounter('holdfast_slots_moved_total', 'Slots that changed owner since the controller started.', (c) => c.slotsMoved);
  new Gauge({
    name: 'holdfast_migrations_in_progress', help: 'Slots changing owner now (all services).', registers: [registry],
    collect() {
      this.set(read().status.counters.migrationsActive);
    },
  });
  new Gauge({
    name: 'holdfast_controller_start_time_seconds', help: 'When the controller started (Unix time).', registers: [registry],
    collect() {
      this.set(read().status.startedAt / 1000);
    },
  });

  // Migration durations: from the migration_started event that put a slot in motion to its
  // slot_moved. A slot that moves at once (ovs profile, backend down, remove --now) takes 0 s.
  const migrationDuration = new Histogram({
    name: 'holdfast_migration_duration_seconds', help: 'How long a slot took to change owner, from the start of its migration to the move.',
    buckets: MIGRATION_BUCKETS, registers: [registry],
  });
  const started = new Map<string, number>();
  const unsubscribe = control.subscribe((e: StoredEvent) => {
    const ev = e.event;
    if (ev.type === 'migration_started') for (const slot of ev.slots) started.set(`${ev.service}/${slot}`, e.at);
    else if (ev.type === 'slot_moved') {
      const k = `${ev.service}/${ev.slot}`;
      const t0 = started.get(k);
      started.delete(k);
      migrationDuration.observe(t0 === undefined ? 0 : Math.max(0, e.at - t0) / 1000);
    } else if (ev.type === 'service_removed') {
      for (const k of [...started.keys()]) if (k.startsWith(`${ev.service}/`)) started.delete(k);
    }
  });

  if (switches) addSwitchMetrics(registry, switches, () => read());

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => {
      unsubscribe();
      stopProcess();
    },
  };
}

function addSwitchMetrics(
  registry: Registry, src: SwitchSource,
  read: () => { services: ReturnType<LbControl['listServices']>; status: ReturnType<LbControl['status']> },
): void {
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
    name: 'holdfast_switch_info', help: 'A connected switch (always 1): its profile, OpenFlow role (equal: the controller sends no role request) and wire version.',
    labelNames: ['dpid', 'profile', 'role', 'version'], registers: [registry],
    collect() {
      this.reset();
      for (const s of read().status.switches) this.set({ dpid: s.dpid, profile: s.profile, role: 'equal', version: String(s.version) }, 1);
    },
  });
  new Gauge({
    name: 'holdfast_switch_query_slots', help: 'Query slots (buckets sending packets to the controller) installed on the switch, all services.',
    labelNames: dl, registers: [registry],
    collect() {
      this.reset();
      const { services } = read();
      for (const sw of src.switches()) {
        let n = 0;
        for (const s of services) if (s.switches.length === 0 || s.switches.includes(sw.dpidHex)) n += s.querySlots.length;
        this.set({ dpid: sw.dpidHex }, n);
      }
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
