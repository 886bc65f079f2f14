// The load balancer's part of GET /metrics: its backends, services and counters, and what it
// knows of each switch (profile, query slots), added to the management server's registry
// (controller/management/prometheus.ts has the process and the OpenFlow connections). Every value
// is read from the live state at scrape time (collect callbacks), so nothing here keeps a second
// copy of a counter that could drift; the one thing only this module sees is how long slot
// migrations take (from the event stream).
// Every metric is documented in docs/metrics.md: keep the two in step.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SwitchSource } from '../../../controller/management/prometheus.js';
import type { LbControl } from '../control.js';
import type { BackendState, StoredEvent } from '../model.js';

const BACKEND_STATES: readonly BackendState[] = ['resolving', 'active', 'draining', 'drained', 'down', 'removed'];
/** Migrations take from 0 (slots that move at once) to the max window (30 s by default) and more
 * when queued behind the query-slot limit. */
const MIGRATION_BUCKETS = [0.01, 0.1, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];

/** Adds the load balancer's collectors to `registry`; returns what stops them. */
export function addLbMetrics(registry: Registry, control: LbControl, switches?: SwitchSource): () => void {

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

  if (switches) addLbSwitchMetrics(registry, switches, () => read());

  return unsubscribe;
}

/** What the load balancer knows of each switch: its profile, and the query slots installed on it. */
function addLbSwitchMetrics(
  registry: Registry, src: SwitchSource,
  read: () => { services: ReturnType<LbControl['listServices']>; status: ReturnType<LbControl['status']> },
): void {
  const dl = ['dpid'] as const;
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
}
