// The state the core's decision modules share: one plain object, created once per controller and
// passed as the first argument of every decision (state, event, now) -> Effects. Each module owns
// the fields its comment names; the fields are here so that no module imports another's state.

import type { SwitchProfile } from '../../../controller/capabilities.js';
import type { FlowTable } from '../flow-table.js';
import type { HealthStatus } from '../health.js';
import type { Backend, BackendState, LbEvent, Service, SlotTableSnapshot } from '../model.js';
import { DEFAULT_MONITOR_MAC, type MonitorAddress } from '../probe-packets.js';
import type { ServiceState } from '../service-state.js';
import { SlotTable } from '../slot-table.js';
import { checkIpv4, normalizeMac } from '../validation.js';
import { backendKey } from '../model.js';
import { Effects, type SwitchInfo } from './effects.js';
import { HealthMonitor } from './health-monitor.js';
import { servesSwitch } from './switch-pipeline.js';
import { SwitchEventWindow } from './switch-events.js';

export interface CoreConfig {
  /** ARP probes: every health interval live backends are re-checked. */
  healthIntervalMs: number;
  /** Consecutive unanswered ARP probes before a backend is `down`. */
  healthMisses: number;
  /** Group statistics period (slot activity is packets per second over it). */
  statsIntervalMs: number;
  /** Idle timeout a TCP pin drops to once its connection sends FIN or RST (`ovs` profile only). */
  finIdleTimeout: number;
  /** Where tcp/udp/http health probes come from. */
  monitor?: { ip: string; mac?: string };
  /** [0, 1) for probe sequence numbers (Math.random in the shell, fixed in tests). */
  random: () => number;
}

/** Ids come from the store (they are never reused, even after a delete). */
export interface IdSource {
  nextServiceId(): number;
  nextBackendId(): number;
}

/** What a backend's health change sets off (pool.ts decides; given here so state.ts imports no decision module). */
export type HealthChanged = (s: CoreState, st: ServiceState, b: Backend, to: HealthStatus, reason: string, check: string) => void;

export interface CoreState {
  readonly cfg: CoreConfig;
  readonly ids: IdSource;
  readonly startedAt: number;
  /** Services by name, and by id (the hot path's lookup). */
  readonly services: Map<string, ServiceState>;
  readonly byId: Map<number, ServiceState>;
  /** Switches up, by dpid hex (in the order they came). */
  readonly switches: Map<string, SwitchInfo>;
  readonly health: HealthMonitor;
  /** Effects of the call being handled (begin() starts a fresh one). */
  fx: Effects;
  /** The time of the call being handled (for callbacks from the health monitor). */
  now: number;

  // profiles.ts, controls.ts
  /** Profiles operators forced, by dpid (others are detected). */
  readonly forcedProfiles: Map<string, SwitchProfile>;
  // sync.ts
  /** Set once the controller is stopping: query slots are rendered parked (openflow13). */
  parked: boolean;
  // pool.ts
  slotsMoved: number;
  /** Per service: the slow-start fractions its slot table was last balanced with. */
  readonly slowStartKey: Map<number, string>;
  // stats.ts
  readonly lastBucketStats: Map<string, { packetCount: bigint; byteCount: bigint }[]>;
  /** Connection counts asked for and not answered yet (a new round waits for none). */
  countsOutstanding: number;
  countRounds: number;
  /** Pins added while a flow dump of a switch is running (merged into the dump's result). */
  readonly auditing: Map<string, Map<number, FlowTable>>;
  // switches.ts
  /** Switch connects and disconnects logged at a bounded rate (switch-events.ts). */
  readonly switchEvents: SwitchEventWindow;
  /** When a rejected message was last reported, by dpid (at most once a second). */
  readonly lastErrorEvent: Map<string, number>;
  // arp.ts
  /** When live backends were last ARP-probed (health interval). */
  lastHealthProbe: number;
  /** Backend IP → when it was last asked for (answers are accepted just after). */
  readonly arpAskedAt: Map<string, number>;
  /** Backend id → when its location last moved; when an ignored move was last reported. */
  readonly lastMoveAt: Map<number, number>;
  readonly arpConflictReported: Map<number, number>;
}

export function createState(cfg: CoreConfig, ids: IdSource, startedAt: number, healthChanged: HealthChanged): CoreState {
  let monitor: MonitorAddress | undefined;
  if (cfg.monitor) monitor = { ip: checkIpv4('monitor IP', cfg.monitor.ip), mac: normalizeMac('monitor MAC', cfg.monitor.mac ?? DEFAULT_MONITOR_MAC) };
  const services = new Map<string, ServiceState>();
  const byId = new Map<number, ServiceState>();
  const switches = new Map<string, SwitchInfo>();
  // The health monitor calls back into the state it is part of: `s` is set before any call.
  let s: CoreState | undefined;
  const self = (): CoreState => s!;
  const health = new HealthMonitor({
    switches: () => [...switches.values()],
    services: () => services.values(),
    serviceById: (id) => byId.get(id),
    servesSwitch: (svc, dpid) => servesSwitch(svc, dpid),
    arpFresh: (st, b) => {
      const loc = st.locations.get(b.id);
      return loc !== undefined && (loc.static || loc.misses <= cfg.healthMisses);
    },
    healthChanged: (st, b, to, reason, check) => healthChanged(self(), st, b, to, reason, check),
    fx: () => self().fx,
    random: () => cfg.random(),
  }, monitor);
  s = {
    cfg, ids, startedAt, services, byId, switches, health, fx: new Effects(), now: 0,
    forcedProfiles: new Map(), parked: false, slotsMoved: 0, slowStartKey: new Map(),
    lastBucketStats: new Map(), countsOutstanding: 0, countRounds: 0, auditing: new Map(),
    switchEvents: new SwitchEventWindow(), lastErrorEvent: new Map(),
    lastHealthProbe: 0, arpAskedAt: new Map(), lastMoveAt: new Map(), arpConflictReported: new Map(),
  };
  return s;
}

/** Starts collecting the effects of one call. */
export function begin(s: CoreState, now?: number): Effects {
  s.fx = new Effects();
  if (now !== undefined) s.now = now;
  return s.fx;
}

export function emit(s: CoreState, e: LbEvent): void {
  s.fx.events.push(e);
}

export function storeBackend(s: CoreState, b: Backend): void {
  s.fx.store.push({ kind: 'update_backend', backend: { ...b } });
}

export function saveTable(s: CoreState, st: ServiceState): void {
  s.fx.store.push({ kind: 'save_slot_table', service: st.service.name, snapshot: st.table.snapshot() });
}

export function setState(s: CoreState, st: ServiceState, b: Backend, to: BackendState, now: number, reason?: string): void {
  if (b.state === to) return;
  const from = b.state;
  b.state = to;
  b.stateSince = now;
  if (to === 'draining') b.drainStartedAt = b.stateSince;
  if (to !== 'removed') storeBackend(s, b);
  emit(s, { type: 'backend_state', service: st.service.name, backend: backendKey(b), from, to, ...(reason ? { reason } : {}) });
}

export function newTable(service: Service, snap?: SlotTableSnapshot): SlotTable {
  return new SlotTable({
    slots: service.slots, windows: service.migration, maxQuerySlots: service.maxQuerySlots, tracking: service.tracking,
  }, snap);
}
