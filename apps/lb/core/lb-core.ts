// The load balancer's decisions, with no I/O: services and backends, the pipeline wanted on every
// switch, query/reply pins, ARP, health, drains and migrations, statistics and the pin audit.
// Like Faucet's Valve: every public method takes an event and the time and returns what to do
// (effects.ts: messages per switch, store changes, events); the shell (../app.ts) carries that
// out and feeds back replies. The one exception is the query/reply hot path (queryPacket), which
// answers into a reused object so that a packet-in costs no allocation.

import { match as matchOn } from 'ts-pattern';
import type { OfMessageInput } from '../../../controller/app.js';
import { SWITCH_PROFILES, type SwitchProfile } from '../../../controller/capabilities.js';
import type { DesiredState } from '../../../controller/reconciler.js';
import { groupDelete, output, packetOut } from '../../../openflow/builders.js';
import { buildArpReply, buildArpRequest } from '../../../openflow/packet/build.js';
import { extractFlowKeyInto } from '../../../openflow/packet/flowkey.js';
import { parsePacket } from '../../../openflow/packet/parse.js';
import type { FlowKey } from '../../../openflow/packet/types.js';
import { numberToIpv4 } from '../../../openflow/packet/addr.js';
import {
  OFPG, OFPP, OFPTT_ALL, type MessageOf, type MultipartReplyBody, type WireVersion,
} from '../../../openflow/types.js';
import {
  COOKIE_KIND_PIN, SERVICE_COOKIE_SPACE, serviceRulesMatch, groupIdFor, parseCookie, parseMarkerMac, PIN_COOKIE_MASK_FOR_SERVICE,
  pinCookieMatch, replyCookieMaskForService, replyCookieMatch, serviceVmac,
} from '../cookies.js';
import type { BackendView, ProfileSetting, ServiceInput, ServiceSettings, ServiceView, StatusView } from '../control.js';
import { LbError } from '../errors.js';
import { targetCounts } from '../allocation.js';
import { validateHealth, type HealthStatus } from '../health.js';
import { DEFAULT_MONITOR_MAC, type MonitorAddress } from '../probe-packets.js';
import { FlowTable } from '../flow-table.js';
import {
  backendKey, canServe, type Backend, type BackendSpec, type BackendState, type LbEvent, type Service, type SlotTableSnapshot,
} from '../model.js';
import { forwardActions, monitorFlows, pinFlowMod, repointPinsFlowMod, type PinOptions } from '../pipeline.js';
import {
  buildPacketOutTemplate, buildPinTemplate, fillPacketOut, fillPin, templateFits, type PacketOutTemplate, type PinTemplate,
} from '../pin-template.js';
import { ServiceState, type TargetEntry } from '../service-state.js';
import { SlotTable, type SlotChange } from '../slot-table.js';
import { judgeArpAnswer } from '../arp-guard.js';
import { checkIpv4, normalizeMac, parseBackendKey, validateBackendSpec, validateServiceInput } from '../validation.js';
import { checkMode, HealthMonitor, type HttpOutcome } from './health-monitor.js';
import { Effects, type BackendCountersRow, type RequestPurpose, type ServiceCountersRow, type SwitchInfo } from './effects.js';
import { drainStep } from './drain.js';
import { SwitchEventWindow } from './switch-events.js';
import { servesSwitch, switchPipeline } from './switch-pipeline.js';
import {
  bucketsOfGroupStats, clientOf, deleteByCookie, flowDump, pinsOfDump, staleServicesOfFlows, staleServicesOfGroups,
} from './switch-replies.js';
import { backendView, keyOf, serviceView, servicesStatus } from './views.js';

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

/** What the store held at start. */
export interface SavedState {
  services: { service: Service; slotTable?: SlotTableSnapshot; backends: Backend[] }[];
  switchProfiles: { dpid: string; profile: string }[];
  backendCounters: BackendCountersRow[];
  serviceCounters: ServiceCountersRow[];
}

/** The answer to one query-slot packet. Reused for every packet: read it before the next call. */
export interface QueryAnswer {
  /** 'not_query': no query-slot packet (hand it to packetIn); 'drop': no backend takes it;
   * 'prebuilt': send the filled templates (fillPin if `install`, then fillOut); 'messages': send `messages` (one batch). */
  kind: 'not_query' | 'drop' | 'prebuilt' | 'messages';
  install: boolean;
  pinLength: number;
  outLength: number;
  readonly fillPin: (buf: Buffer, at: number, xid: number) => void;
  readonly fillOut: (buf: Buffer, at: number, xid: number) => void;
  messages: readonly OfMessageInput[];
}

/** Each service is its own reconciler owner (its cookies, its group): a service whose flows or
 * group a switch refuses fails alone, and never holds back another service's changes. */
export const ownerOf = (serviceId: number): string => `lb/${serviceId}`;
export const MONITOR_OWNER = 'lb/monitor';
/** Every backend's connections are counted once in this many rounds of counting. */
const ALL_COUNT_EVERY = 5;
const PIN_KIND_MASK = 0xffn << 56n;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const EMPTY = Buffer.alloc(0);
const NO_MESSAGES: readonly OfMessageInput[] = [];

export class LbCore {
  private readonly services = new Map<string, ServiceState>();
  /** Hot path: service by id. */
  private readonly byId = new Map<number, ServiceState>();
  /** Switches up, by dpid hex (in the order they came). */
  private readonly switches = new Map<string, SwitchInfo>();
  private readonly fk: FlowKey = { srcIp: 0, dstIp: 0, proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0 };
  private readonly lastBucketStats = new Map<string, { packetCount: bigint; byteCount: bigint }[]>();
  /** Profiles operators forced, by dpid (others are detected). */
  private readonly forcedProfiles = new Map<string, SwitchProfile>();
  /** Set once the controller is stopping: query slots are rendered parked (openflow13). */
  private parked = false;
  /** Connection counts asked for and not answered yet (a new round waits for none). */
  private countsOutstanding = 0;
  private countRounds = 0;
  /** Pins added while a flow dump of a switch is running (merged into the dump's result). */
  private readonly auditing = new Map<string, Map<number, FlowTable>>();
  private slotsMoved = 0;
  readonly health: HealthMonitor;
  /** Per service: the slow-start fractions its slot table was last balanced with. */
  private readonly slowStartKey = new Map<number, string>();
  /** Switch connects and disconnects logged at a bounded rate (switch-events.ts). */
  private readonly switchEvents = new SwitchEventWindow();
  /** Effects of the call being handled. */
  private fx = new Effects();

  constructor(private readonly cfg: CoreConfig, private readonly ids: IdSource, readonly startedAt: number) {
    let monitor: MonitorAddress | undefined;
    if (cfg.monitor) monitor = { ip: checkIpv4('monitor IP', cfg.monitor.ip), mac: normalizeMac('monitor MAC', cfg.monitor.mac ?? DEFAULT_MONITOR_MAC) };
    this.health = new HealthMonitor({
      switches: () => [...this.switches.values()],
      services: () => this.services.values(),
      serviceById: (id) => this.byId.get(id),
      servesSwitch: (s, dpid) => servesSwitch(s, dpid),
      arpFresh: (st, b) => {
        const loc = st.locations.get(b.id);
        return loc !== undefined && (loc.static || loc.misses <= this.cfg.healthMisses);
      },
      healthChanged: (st, b, to, reason, check) => this.healthChanged(st, b, to, reason, check),
      fx: () => this.fx,
      random: () => this.cfg.random(),
    }, monitor);
  }

  /** Starts collecting the effects of one call. */
  private begin(now?: number): Effects {
    this.fx = new Effects();
    if (now !== undefined) this.now = now;
    return this.fx;
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Restores services, backends and slot tables from what the store held. Migrations in flight
   * resume with a fresh window: packets lost while the controller was away get their chance again. */
  restore(saved: SavedState, now: number): Effects {
    const fx = this.begin(now);
    for (const p of saved.switchProfiles) {
      if ((SWITCH_PROFILES as readonly string[]).includes(p.profile)) this.forcedProfiles.set(p.dpid, p.profile as SwitchProfile);
    }
    // The health monitor's own rules (cookie service id 0, no group) are one more owner.
    const monitorSpace = serviceRulesMatch(0);
    fx.runtime.push({ kind: 'claim', owner: MONITOR_OWNER, space: { cookie: monitorSpace.cookie, cookieMask: monitorSpace.mask, groupIdMin: 0, groupIdMax: 0 } });
    for (const { service, slotTable: snap, backends } of saved.services) {
      if (snap) for (const m of snap.migrations) { m.startedAt = now; m.lastFromPinAt = now; }
      const st = new ServiceState(service, newTable(service, snap));
      for (const b of backends) {
        st.addBackend(b, now);
        if (b.resolvedMac && b.locations) {
          st.locations.set(b.id, { mac: b.resolvedMac, ports: new Map(Object.entries(b.locations)), static: false, lastSeen: now, misses: 0 });
        }
      }
      this.services.set(service.name, st);
      this.byId.set(service.id, st);
      this.claimService(service);
      // Slots whose owner can no longer serve (removed or down while we were away) move now.
      const change = st.rebalance(now);
      if (change.moved.length > 0 || change.started.length > 0) fx.store.push({ kind: 'save_slot_table', service: service.name, snapshot: st.table.snapshot() });
    }
    const owner = new Map<number, ServiceState>();
    for (const st of this.byId.values()) for (const id of st.backends.keys()) owner.set(id, st);
    for (const r of saved.backendCounters) {
      owner.get(r.backendId)?.ledger.restore(r.backendId, {
        totals: { packets: r.packets, bytes: r.bytes, opened: r.opened },
        base: { packets: r.basePackets, bytes: r.baseBytes, opened: r.baseOpened },
      });
    }
    for (const r of saved.serviceCounters) {
      const st = this.byId.get(r.serviceId);
      if (!st) continue;
      st.counters.packetIns = r.packetIns;
      st.counters.pinsInstalled = r.pinsInstalled;
      st.counters.pinsRemoved = r.pinsRemoved;
    }
    return fx;
  }

  /** Traffic and controller counters for the store, so they survive a restart. */
  saveCounters(now: number): Effects {
    const fx = this.begin(now);
    const backends: BackendCountersRow[] = [];
    const services: ServiceCountersRow[] = [];
    for (const st of this.services.values()) {
      services.push({ serviceId: st.service.id, ...st.counters });
      for (const id of st.backends.keys()) {
        const { totals, base } = st.ledger.snapshot(id);
        backends.push({
          backendId: id, packets: totals.packets, bytes: totals.bytes, opened: totals.opened,
          basePackets: base.packets, baseBytes: base.bytes, baseOpened: base.opened,
        });
      }
    }
    fx.store.push({ kind: 'save_counters', backends, services, at: now });
    return fx;
  }

  /**
   * Before the controller goes away: every query slot on a switch of the `openflow13` profile goes
   * back to forwarding (to its old owner while that one can serve), so no packet waits for a
   * controller that is gone. The shell waits for the switches to confirm these desired states.
   */
  park(): Effects {
    const fx = this.begin();
    this.parked = true;
    for (const sw of this.switches.values()) if (this.profileOf(sw.dpidHex) === 'openflow13') this.syncSwitch(sw);
    return fx;
  }

  // ------------------------------------------------------------------------------------------
  // Switch profiles

  /** The profile a switch is driven in: forced by an operator, else detected at its handshake. */
  profileOf(dpidHex: string, detected?: SwitchProfile): SwitchProfile {
    return this.forcedProfiles.get(dpidHex) ?? detected ?? this.switches.get(dpidHex)?.detectedProfile ?? 'openflow13';
  }

  profileForced(dpidHex: string): boolean {
    return this.forcedProfiles.has(dpidHex);
  }

  /** Every switch that carries the service remembers its connections (and one is connected), so
   * its slots can change owner at once. */
  private remembered(st: ServiceState): boolean {
    let any = false;
    for (const sw of this.switches.values()) {
      if (!servesSwitch(st.service, sw.dpidHex)) continue;
      if (this.profileOf(sw.dpidHex) !== 'ovs') return false;
      any = true;
    }
    return any;
  }

  setSwitchProfile(dpid: string, profile: ProfileSetting): { value: { dpid: string; profile: ProfileSetting }; effects: Effects } {
    const fx = this.begin();
    const id = dpid.trim().toLowerCase().replace(/^0x/, '');
    if (!/^[0-9a-f]{1,16}$/.test(id)) throw new LbError('invalid', `bad datapath id ${JSON.stringify(dpid)}: expected up to 16 hex digits`);
    if (profile !== 'auto' && !SWITCH_PROFILES.includes(profile)) {
      throw new LbError('invalid', `bad profile ${JSON.stringify(profile)}: expected ${[...SWITCH_PROFILES, 'auto'].join(', ')}`);
    }
    const hex = id.padStart(16, '0');
    const before = this.forcedProfiles.get(hex) ?? 'auto';
    if (before === profile) return { value: { dpid: hex, profile }, effects: fx };
    fx.store.push({ kind: 'set_switch_profile', dpid: hex, profile: profile === 'auto' ? null : profile });
    if (profile === 'auto') this.forcedProfiles.delete(hex);
    else this.forcedProfiles.set(hex, profile);
    this.emit({ type: 'switch_profile', dpid: hex, profile });
    const sw = this.switches.get(hex);
    if (sw) {
      for (const st of this.services.values()) st.invalidateTargets(); // pin templates carry the profile
      this.syncSwitch(sw);
    }
    return { value: { dpid: hex, profile }, effects: fx };
  }

  // ------------------------------------------------------------------------------------------
  // Events and persistence

  private emit(e: LbEvent): void {
    this.fx.events.push(e);
  }

  private storeBackend(b: Backend): void {
    this.fx.store.push({ kind: 'update_backend', backend: { ...b } });
  }

  private saveTable(st: ServiceState): void {
    this.fx.store.push({ kind: 'save_slot_table', service: st.service.name, snapshot: st.table.snapshot() });
  }

  private setState(st: ServiceState, b: Backend, to: BackendState, now: number, reason?: string): void {
    if (b.state === to) return;
    const from = b.state;
    b.state = to;
    b.stateSince = now;
    if (to === 'draining') b.drainStartedAt = b.stateSince;
    if (to !== 'removed') this.storeBackend(b);
    this.emit({ type: 'backend_state', service: st.service.name, backend: backendKey(b), from, to, ...(reason ? { reason } : {}) });
  }

  /** After a pool change: rebalance, apply bucket changes, persist, and bring the switches up to
   * date even when no bucket changed (a backend that became active needs its reverse and learn
   * rules; with `--tracking all` every bucket is a query bucket whatever the pool). */
  private reconcilePool(st: ServiceState, reason: string, now: number): void {
    const change = st.rebalance(now, this.remembered(st));
    this.applyChange(st, change, reason);
    if (change.buckets.length === 0) this.syncService(st);
  }

  private applyChange(st: ServiceState, change: SlotChange, reason: string): void {
    if (change.started.length > 0) {
      this.emit({ type: 'migration_started', service: st.service.name, slots: change.started, reason });
    }
    for (const m of change.moved) {
      this.slotsMoved++;
      this.emit({
        type: 'slot_moved', service: st.service.name, slot: m.slot,
        from: keyOf(st, m.from), to: keyOf(st, m.to),
      });
    }
    if (change.moved.length > 0 && st.table.migrations().length === 0) {
      this.emit({ type: 'migration_done', service: st.service.name });
    }
    if (change.buckets.length > 0 || change.moved.length > 0 || change.started.length > 0) this.saveTable(st);
    if (change.buckets.length > 0) this.syncService(st);
  }

  // ------------------------------------------------------------------------------------------
  // Desired state on switches

  private syncService(st: ServiceState): void {
    for (const sw of this.switches.values()) {
      if (servesSwitch(st.service, sw.dpidHex)) this.syncSwitch(sw);
    }
  }

  private syncAllInto(): void {
    for (const sw of this.switches.values()) this.syncSwitch(sw);
  }

  /** Brings every switch up to date (after a released service's flows are gone). */
  syncAll(): Effects {
    const fx = this.begin();
    this.syncAllInto();
    return fx;
  }

  /** The flows and groups of every service on one switch, for the reconciler. */
  private syncSwitch(sw: SwitchInfo): void {
    const pipeline = switchPipeline(this.services.values(), {
      dpidHex: sw.dpidHex, version: sw.version, profile: this.profileOf(sw.dpidHex), parked: this.parked, finIdleTimeout: this.cfg.finIdleTimeout,
    });
    for (const { st, desired } of pipeline) this.desire(st, sw.dpid, desired);
    const monitor = this.health.monitor;
    this.fx.switches.push({ kind: 'desired', dpid: sw.dpid, owner: MONITOR_OWNER, desired: { flows: monitor ? monitorFlows(monitor) : [], groups: [] }, serviceId: null });
  }

  private desire(st: ServiceState, dpid: bigint, desired: DesiredState): void {
    this.fx.switches.push({ kind: 'desired', dpid, owner: ownerOf(st.service.id), desired, serviceId: st.service.id });
  }

  /** What came of a service's desired state on one switch: a refusal marks the service failed on
   * that switch (status, live view, one event per change of its error). `error` undefined: taken. */
  pipelineResult(serviceId: number, dpidHex: string, error: string | undefined): Effects {
    const fx = this.begin();
    const st = this.byId.get(serviceId);
    if (!st) return fx;
    const name = st.service.name;
    if (error === undefined) {
      if (st.failedOn.delete(dpidHex)) this.emit({ type: 'error', service: name, message: `switch ${dpidHex} took service ${name}'s pipeline again` });
      return fx;
    }
    if (st.failedOn.get(dpidHex) === error) return fx;
    st.failedOn.set(dpidHex, error);
    fx.log('warn', { dpid: dpidHex, service: name, err: error }, 'a switch refused a service\'s pipeline');
    this.emit({ type: 'error', service: name, message: `switch ${dpidHex} refused service ${name}'s pipeline: ${error}` });
    return fx;
  }

  /** Claims a service's cookie space and group for the reconciler. */
  private claimService(service: Service): void {
    const space = serviceRulesMatch(service.id);
    this.fx.runtime.push({
      kind: 'claim', owner: ownerOf(service.id),
      space: { cookie: space.cookie, cookieMask: space.mask, groupIdMin: groupIdFor(service.id), groupIdMax: groupIdFor(service.id) },
    });
  }

  /** Deletes pins on every switch by cookie (exact backend, or a whole service). */
  private deletePins({ cookie, mask: cookieMask }: { cookie: bigint; mask: bigint }): void {
    for (const sw of this.switches.values()) this.fx.send(sw.dpid, deleteByCookie(cookie, cookieMask));
  }

  // ------------------------------------------------------------------------------------------
  // Switch events

  switchUp(sw: SwitchInfo, now: number): Effects {
    const fx = this.begin(now);
    this.switches.delete(sw.dpidHex);
    this.switches.set(sw.dpidHex, sw);
    fx.events.push(...this.switchEvents.admit({ type: 'switch_up', dpid: sw.dpidHex, version: sw.version }, now));
    const gt = sw.groupTypes;
    if (gt.length > 0 && !gt.includes('select')) {
      // Every service needs a select group: say so plainly rather than through each group_mod error.
      this.emit({ type: 'error', message: `switch ${sw.dpidHex} has no select groups (it offers ${gt.join(', ')}): no service can be installed on it` });
    }
    // Flows and groups of services removed while this controller was away: nobody else deletes them.
    fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'sweep_flows' }, body: flowDump(SERVICE_COOKIE_SPACE.cookie, SERVICE_COOKIE_SPACE.mask) });
    this.syncSwitch(sw);
    this.auditPinsOn(sw);
    this.probeInto(now, true);
    return fx;
  }

  /** The switch disconnected (the shell checked that no newer connection replaced it). */
  switchDown(dpidHex: string, now: number): Effects {
    const fx = this.begin(now);
    this.switches.delete(dpidHex);
    for (const st of this.services.values()) st.connections.delete(dpidHex);
    fx.events.push(...this.switchEvents.admit({ type: 'switch_down', dpid: dpidHex }, now));
    return fx;
  }

  /** The switch left for good: forget what was kept for it, so switches that come and go (or
   * forged datapath ids) cost nothing once gone. */
  switchGone(dpidHex: string): void {
    for (const st of this.services.values()) {
      st.forgetSwitch(dpidHex);
      this.lastBucketStats.delete(`${dpidHex}/${st.service.id}`);
    }
    this.lastErrorEvent.delete(dpidHex);
  }

  /** A packet-in that is not for a query slot (ARP, health monitor). */
  packetIn(dpidHex: string, data: Buffer, inPort: number | undefined, now: number): Effects {
    const fx = this.begin(now);
    const sw = this.switches.get(dpidHex);
    if (!sw || data.length < 14) return fx;
    if (this.health.packetIn(sw, data, inPort, now)) return fx;
    if (data.readUInt16BE(12) === 0x0806) this.arpPacket(sw, data, inPort, now);
    return fx;
  }

  /** A port went down or away: the backends behind it are down at once (health-monitor.ts). */
  portStatus(dpidHex: string, msg: MessageOf<'port_status'>, now: number): Effects {
    const fx = this.begin(now);
    const sw = this.switches.get(dpidHex);
    if (sw) this.health.portStatus(sw, msg, now);
    return fx;
  }

  /** An HTTP check the shell ran from this host ended. */
  httpCheckDone(token: number, outcome: HttpOutcome, now: number): Effects {
    const fx = this.begin(now);
    this.health.httpCheckDone(token, outcome, now);
    return fx;
  }

  /**
   * A backend's health changed (checks or port status). Down: its slots move at once, its pins and
   * learned entries are deleted (a backend being removed is deleted). Up: active again, its share
   * growing by slow start. Runs inside a call that already collects effects.
   */
  private healthChanged(st: ServiceState, b: Backend, to: HealthStatus, reason: string, check: string): void {
    const now = this.now;
    const key = backendKey(b);
    this.emit({ type: 'backend_health', service: st.service.name, backend: key, health: to, reason, check });
    if (to === 'down') {
      if (!canServe(b)) return;
      if (b.removeWhenDrained) {
        this.deleteBackend(st, b, `health checks failed: ${reason}`, now);
        return;
      }
      st.slowStart.delete(b.id);
      this.setState(st, b, 'down', now, `health checks failed: ${reason}`);
      this.dropPins(st, b);
      this.reconcilePool(st, `backend ${key} is down`, now);
      return;
    }
    if (b.state !== 'down') return;
    if (st.service.health.slowStartMs > 0 && [...st.backends.values()].some((x) => x.id !== b.id && x.state === 'active')) {
      st.slowStart.set(b.id, now);
    }
    this.setState(st, b, 'active', now, `health checks pass: ${reason}`);
    this.reconcilePool(st, `backend ${key} is up`, now);
    if (st.slowStart.has(b.id)) this.slowStartEvent(st, b, false);
  }

  /** The time of the call being handled (for callbacks from the health monitor). */
  private now = 0;

  /** Slow start: rebalances a service whenever a slow-starting backend's stepped share changed. */
  private slowStartStep(st: ServiceState, now: number): void {
    if (st.slowStart.size === 0 && !this.slowStartKey.has(st.service.id)) return;
    const fractions = st.slowStartFractions(now);
    const finished = [...st.slowStart.keys()].filter((id) => !fractions.has(id));
    for (const id of finished) st.slowStart.delete(id);
    const key = [...fractions].map(([id, f]) => `${id}:${f}`).join(',');
    if (key === (this.slowStartKey.get(st.service.id) ?? '') && finished.length === 0) return;
    if (key === '') this.slowStartKey.delete(st.service.id);
    else this.slowStartKey.set(st.service.id, key);
    this.reconcilePool(st, 'slow start', now);
    for (const id of finished) {
      const b = st.backends.get(id);
      if (b && b.state === 'active') this.slowStartEvent(st, b, true);
    }
  }

  private slowStartEvent(st: ServiceState, b: Backend, done: boolean): void {
    const full = targetCounts(st.backendInfos().map((x) => ({ id: x.id, weight: x.state === 'active' ? x.weight : 0 })), st.service.slots);
    const c = st.table.countsFor(b.id);
    this.emit({
      type: 'backend_slow_start', service: st.service.name, backend: backendKey(b), slots: c.owned - c.leaving + c.incoming,
      target: full.get(b.id) ?? 0, done,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Query/reply: the hot path

  /** The answer being built (one object for every packet; see QueryAnswer). */
  private readonly answer: QueryAnswer = {
    kind: 'not_query', install: false, pinLength: 0, outLength: 0, messages: NO_MESSAGES,
    fillPin: (buf, at, xid) => fillPin(this.hot.pin!, buf, at, xid, this.fk.srcIp, this.fk.srcPort),
    fillOut: (buf, at, xid) => fillPacketOut(this.hot.out!, buf, at, xid, this.hot.inPort, this.hot.data),
  };
  /** The packet being answered, for the fill functions (the hot path is synchronous). */
  private readonly hot: { pin?: PinTemplate; out?: PacketOutTemplate; inPort: number; data: Buffer; dpid: string; serviceId: number; backend: number } = {
    inPort: 0, data: EMPTY, dpid: '', serviceId: 0, backend: 0,
  };

  /**
   * A packet from a query slot becomes a pin plus a packet-out. The shell sends what the answer
   * says, then reports whether the switch took the pin (queryAnswered).
   */
  queryPacket(dpidHex: string, version: WireVersion, data: Buffer, inPort: number | undefined, now: number): QueryAnswer {
    const a = this.answer;
    a.kind = 'not_query';
    a.install = false;
    const mark = data.length >= 14 ? parseMarkerMac(data, 0) : null;
    if (!mark) return a;
    a.kind = 'drop';
    const st = this.byId.get(mark.serviceId);
    const fk = this.fk;
    if (!st || mark.slot >= st.service.slots || !extractFlowKeyInto(data, fk)) return a;
    const isNew = (fk.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN && fk.proto === 6;
    const d = st.decide(dpidHex, mark.slot, fk.srcIp, fk.srcPort, isNew, now);
    if (!d) return a;
    const e = d.entry;
    a.install = d.install;
    const h = this.hot;
    h.dpid = dpidHex;
    h.serviceId = mark.serviceId;
    h.backend = d.backend;
    if (templateFits(e.target, inPort)) {
      // Pre-encoded pin and packet-out: copy and patch, no per-packet objects.
      if (e.version !== version || !e.pin || !e.out) this.buildTemplates(dpidHex, version, st, e);
      h.pin = e.pin!;
      h.out = e.out!;
      h.inPort = inPort!;
      h.data = data;
      a.kind = 'prebuilt';
      a.pinLength = e.pin!.bytes.length;
      a.outLength = e.out!.bytes.length + data.length;
      return a;
    }
    const out = packetOut({ inPort: inPort ?? OFPP.CONTROLLER, actions: forwardActions(st.service, e.target, inPort), data });
    a.kind = 'messages';
    if (!d.install) a.messages = [out];
    else {
      const client = { srcIp: numberToIpv4(fk.srcIp), srcPort: fk.srcPort };
      a.messages = [pinFlowMod(st.service, client, e.target, this.pinOptions(dpidHex)), out];
    }
    return a;
  }

  /** The shell sent the answer to the last queryPacket: `sent` false when the switch's queue was full. */
  queryAnswered(sent: boolean): void {
    const a = this.answer;
    const h = this.hot;
    h.data = EMPTY;
    a.messages = NO_MESSAGES;
    if (!a.install) return;
    const fk = this.fk;
    // Backpressure: forget the pin so the next packet of the flow tries again.
    if (!sent) this.byId.get(h.serviceId)?.pinGone(h.dpid, fk.srcIp, fk.srcPort, h.backend);
    else this.auditing.get(h.dpid)?.get(h.serviceId)?.set(fk.srcIp, fk.srcPort, h.backend);
  }

  private buildTemplates(dpidHex: string, version: WireVersion, st: ServiceState, e: TargetEntry): void {
    e.pin = buildPinTemplate(st.service, e.target, version, this.pinOptions(dpidHex));
    e.out = buildPacketOutTemplate(st.service, e.target, version);
    e.version = version;
  }

  private pinOptions(dpidHex: string): PinOptions {
    return this.profileOf(dpidHex) === 'ovs' ? { finTimeout: this.cfg.finIdleTimeout } : {};
  }

  /** A switch rejected a fire-and-forget message (a pin, a pin delete or repoint): say so, at most
   * once a second per switch so a burst does not flood the event log. */
  private readonly lastErrorEvent = new Map<string, number>();
  switchError(dpidHex: string, what: string, now: number): Effects {
    const fx = this.begin(now);
    if (now - (this.lastErrorEvent.get(dpidHex) ?? 0) < 1_000) return fx;
    this.lastErrorEvent.set(dpidHex, now);
    this.emit({ type: 'error', message: `switch ${dpidHex} rejected a message: ${what}` });
    return fx;
  }

  /** A pin (or learned entry) expired or was deleted: its traffic is counted, its pin forgotten. */
  flowRemoved(dpidHex: string, msg: MessageOf<'flow_removed'>): void {
    const c = parseCookie(msg.cookie);
    if (c.kind !== 'pin') return;
    const st = this.byId.get(c.serviceId);
    if (st?.backends.has(c.backendId)) st.ledger.flowEnded(dpidHex, c.backendId, msg.packetCount, msg.byteCount);
    const client = clientOf(msg.match);
    if (!st || !client) return;
    st.pinGone(dpidHex, client.srcIp, client.srcPort, c.backendId);
  }

  // ------------------------------------------------------------------------------------------
  // ARP: answer for VIPs, resolve backends (and notice when they stop answering)

  private arpPacket(sw: SwitchInfo, data: Buffer, inPort: number | undefined, now: number): void {
    const p = parsePacket(data);
    if (!p.ok || p.packet.l3.kind !== 'arp') return;
    const arp = p.packet.l3;
    if (arp.op === 1) {
      const st = [...this.services.values()].filter((s) => s.service.vip === arp.tpa).sort((a, b) => a.service.id - b.service.id)[0];
      if (!st || inPort === undefined) return;
      this.fx.send(sw.dpid, packetOut({
        inPort, actions: [output(OFPP.IN_PORT)],
        data: buildArpReply({ senderMac: st.service.vmac, senderIp: st.service.vip, targetMac: arp.sha, targetIp: arp.spa }),
      }));
      return;
    }
    if (arp.op !== 2 || inPort === undefined) return;
    for (const st of this.services.values()) {
      for (const b of st.backends.values()) {
        if (b.ip !== arp.spa) continue;
        if (b.mac !== undefined && b.switchPort !== undefined) {
          this.staticAnswered(st, b, arp.sha, now);
          continue;
        }
        const loc = st.locations.get(b.id);
        const verdict = judgeArpAnswer({
          now, askedAt: this.arpAskedAt.get(b.ip), mac: arp.sha, port: inPort, lastMoveAt: this.lastMoveAt.get(b.id),
          known: loc && { mac: loc.mac, port: loc.ports.get(sw.dpidHex), misses: loc.misses },
        });
        if (verdict.kind === 'accept') {
          if (verdict.moves && loc) this.lastMoveAt.set(b.id, now);
          this.resolved(st, b, arp.sha, sw, inPort, now);
        } else if (verdict.kind === 'conflict') {
          this.arpConflict(st, b, `switch ${sw.dpidHex}: ${verdict.why}`, now);
        }
      }
    }
  }

  /** An ARP answer that would have moved a backend was ignored: say so, once a minute a backend. */
  private arpConflict(st: ServiceState, b: Backend, why: string, now: number): void {
    const last = this.arpConflictReported.get(b.id);
    this.fx.log('debug', { service: st.service.name, backend: backendKey(b), why }, 'ARP answer ignored');
    if (last !== undefined && now - last < 60_000) return;
    this.arpConflictReported.set(b.id, now);
    this.emit({ type: 'error', service: st.service.name, message: `backend ${backendKey(b)}: ignored an ARP answer that would move it (${why}); further ones for a minute are not reported` });
  }

  /** A backend given with --mac/--switch-port answered ARP: alive (where ARP is its check). */
  private staticAnswered(st: ServiceState, b: Backend, mac: string, now: number): void {
    const loc = st.locations.get(b.id);
    if (!loc || loc.mac !== mac) return;
    loc.misses = 0;
    loc.lastSeen = now;
    if (b.state === 'down' && this.arpDecides(st)) {
      this.setState(st, b, 'active', now, 'answers ARP again');
      this.reconcilePool(st, `backend ${backendKey(b)} is active`, now);
    }
  }

  /** ARP answers decide whether backends are up: tcp/udp checks without a monitor address (or no check). */
  private arpDecides(st: ServiceState): boolean {
    const mode = checkMode(st.service.health, this.health.monitor);
    return mode === 'arp' || mode === 'none';
  }

  private resolved(st: ServiceState, b: Backend, mac: string, sw: SwitchInfo, port: number, now: number): void {
    const dpid = sw.dpidHex;
    let loc = st.locations.get(b.id);
    const moved = !loc || loc.mac !== mac || loc.ports.get(dpid) !== port;
    const wasKnownHere = loc?.ports.has(dpid) ?? false;
    if (!loc) st.locations.set(b.id, (loc = { mac, ports: new Map(), static: false, lastSeen: now, misses: 0 }));
    if (loc.mac !== mac) loc.ports.clear();
    loc.mac = mac;
    loc.ports.set(dpid, port);
    loc.lastSeen = now;
    loc.misses = 0;
    if (moved) {
      st.invalidateTargets();
      b.resolvedMac = mac;
      b.locations = Object.fromEntries(loc.ports);
      this.storeBackend(b);
      this.emit({ type: 'backend_resolved', service: st.service.name, backend: backendKey(b), mac, dpid, port });
      // The backend moved: its pins on this switch follow it, so its connections carry on.
      const t = st.target(b.id, dpid);
      if (wasKnownHere && t) this.fx.send(sw.dpid, repointPinsFlowMod(st.service, t, this.pinOptions(dpid)));
    }
    if (b.state === 'resolving' || (b.state === 'down' && this.arpDecides(st))) {
      this.setState(st, b, 'active', now, b.state === 'down' ? 'answers ARP again' : 'resolved by ARP');
      this.reconcilePool(st, `backend ${backendKey(b)} is active`, now);
    } else if (moved) {
      this.syncService(st);
    }
  }

  /** When live backends were last ARP-probed (health interval). */
  private lastHealthProbe = 0;
  /** Backend IP → when it was last asked for (answers are accepted just after). */
  private readonly arpAskedAt = new Map<string, number>();
  /** Backend id → when its location last moved; when an ignored move was last reported. */
  private readonly lastMoveAt = new Map<number, number>();
  private readonly arpConflictReported = new Map<number, number>();

  /** ARP probes (the resolve timer): unresolved backends every time, the rest every health interval. */
  probe(now: number): Effects {
    const fx = this.begin(now);
    this.probeInto(now, false);
    return fx;
  }

  private probeInto(now: number, force: boolean): void {
    const health = force || now - this.lastHealthProbe >= this.cfg.healthIntervalMs;
    if (health) this.lastHealthProbe = now;
    for (const st of this.services.values()) {
      for (const b of st.backends.values()) {
        if (b.state === 'removed' || b.state === 'drained') continue;
        const loc = st.locations.get(b.id);
        // A backend given with --mac/--switch-port needs no resolving: ARP only where it is its
        // check (no monitor address), or feeds a udp check's "silence" rule.
        if (loc?.static && !(this.arpDecides(st) || st.service.health.type === 'udp')) continue;
        const unresolved = b.state === 'resolving' || b.state === 'down' || !loc;
        if (!unresolved && !health) continue;
        const targets = [...this.switches.values()].filter((sw) => servesSwitch(st.service, sw.dpidHex));
        // A probe that went to no switch is no unanswered probe.
        if (loc && health && !force && targets.length > 0) {
          loc.misses++;
          // Where probes decide (a monitor address, or http), misses only feed udp's "silence" rule.
          if (loc.misses > this.cfg.healthMisses && canServe(b) && checkMode(st.service.health, this.health.monitor) === 'arp') {
            this.setState(st, b, 'down', now, `no ARP answer to ${this.cfg.healthMisses} probes`);
            this.dropPins(st, b);
            this.reconcilePool(st, `backend ${backendKey(b)} is down`, now);
          }
        }
        const data = buildArpRequest({ senderMac: st.service.vmac, senderIp: '0.0.0.0', targetIp: b.ip });
        if (targets.length > 0) this.arpAskedAt.set(b.ip, now);
        for (const sw of targets) {
          this.fx.send(sw.dpid, packetOut({ actions: [output(OFPP.ALL)], data }));
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // The tick: migrations, slow start, drains, health checks

  tick(now: number): Effects {
    const fx = this.begin(now);
    fx.events.push(...this.switchEvents.flush(now));
    this.health.tick(now);
    for (const st of this.services.values()) {
      this.slowStartStep(st, now);
      const change = st.table.tick(now, this.remembered(st));
      this.applyChange(st, change, 'migration step');
      let dpids: string[] | undefined;
      for (const b of [...st.backends.values()]) {
        if (b.state !== 'draining') continue;
        dpids ??= [...this.switches.values()].filter((sw) => servesSwitch(st.service, sw.dpidHex)).map((sw) => sw.dpidHex);
        const step = drainStep(st, b, dpids, now, this.startedAt);
        if (step === 'done') this.finishDrain(st, b, 'its last connection is gone', now);
        else if (step === 'deadline') {
          this.dropPins(st, b);
          this.finishDrain(st, b, 'drain deadline passed', now);
        }
      }
    }
    return fx;
  }

  private finishDrain(st: ServiceState, b: Backend, reason: string, now: number): void {
    this.setState(st, b, 'drained', now, reason);
    if (b.removeWhenDrained) this.deleteBackend(st, b, 'graceful remove completed', now);
  }

  private dropPins(st: ServiceState, b: Backend): void {
    this.deletePins(pinCookieMatch(st.service.id, b.id));
    this.deletePins(replyCookieMatch(st.service.id, b.id)); // the learned reply entries (ovs, nat)
    st.dropPinsOf(b.id);
  }

  private deleteBackend(st: ServiceState, b: Backend, reason: string, now: number): void {
    this.lastMoveAt.delete(b.id);
    this.arpConflictReported.delete(b.id);
    this.setState(st, b, 'removed', now, reason);
    this.dropPins(st, b);
    st.deleteBackend(b);
    this.health.forget(b.id);
    this.fx.store.push({ kind: 'delete_backend', id: b.id });
    this.reconcilePool(st, `backend ${backendKey(b)} removed`, now);
  }

  // ------------------------------------------------------------------------------------------
  // Statistics, connection counts and pin audits: requests out, replies in

  /** Group statistics of every service on every switch: per-slot activity and traffic per owner. */
  collectStats(): Effects {
    const fx = this.begin();
    for (const sw of this.switches.values()) {
      for (const st of this.services.values()) {
        if (!servesSwitch(st.service, sw.dpidHex)) continue;
        fx.switches.push({
          kind: 'request', dpid: sw.dpid, timeoutMs: 5_000, purpose: { kind: 'group_stats', serviceId: st.service.id },
          body: { kind: 'group', groupId: groupIdFor(st.service.id) },
        });
      }
    }
    return fx;
  }

  /**
   * Asks every switch how many exact connection entries (pins and learned entries share the
   * backend's cookie) it holds per backend, with their packet and byte totals: one aggregate
   * request per backend. Drains complete on these counts; the traffic of pinned flows is their
   * deltas. A round starts only when the last one is answered.
   */
  countConnections(now: number): Effects {
    const fx = this.begin(now);
    if (this.countsOutstanding > 0) return fx;
    // Each aggregate request walks the switch's whole flow table: draining backends (whose drain
    // ends on the count) are counted every round, the others every ALL_COUNT_EVERY rounds.
    const everyone = this.countRounds++ % ALL_COUNT_EVERY === 0;
    for (const sw of this.switches.values()) {
      for (const st of this.services.values()) {
        if (!servesSwitch(st.service, sw.dpidHex)) continue;
        for (const b of st.backends.values()) {
          if (!(everyone || b.state === 'draining' || !st.connections.get(sw.dpidHex)?.has(b.id))) continue;
          const { cookie, mask } = pinCookieMatch(st.service.id, b.id);
          const ticket = st.ledger.countStarted(sw.dpidHex, b.id);
          this.countsOutstanding++;
          fx.switches.push({
            kind: 'request', dpid: sw.dpid, timeoutMs: 5_000, purpose: { kind: 'count', serviceId: st.service.id, backend: b.id, ticket, at: now },
            body: { kind: 'aggregate', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: mask, match: [] } },
          });
        }
      }
    }
    return fx;
  }

  /** Pin audits of every switch. */
  auditPins(): Effects {
    const fx = this.begin();
    for (const sw of this.switches.values()) this.auditPinsOn(sw);
    return fx;
  }

  /** Asks for the pins of one switch (cookies say service and backend); replaces the registry at the reply. */
  private auditPinsOn(sw: SwitchInfo): void {
    if (this.auditing.has(sw.dpidHex)) return;
    const added = new Map<number, FlowTable>();
    for (const id of this.byId.keys()) added.set(id, new FlowTable(16));
    this.auditing.set(sw.dpidHex, added);
    this.fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'audit' }, body: flowDump(COOKIE_KIND_PIN << 56n, PIN_KIND_MASK) });
  }

  /** The reply to a request the core asked for. */
  reply(dpidHex: string, purpose: RequestPurpose, parts: readonly MultipartReplyBody[], now: number): Effects {
    const fx = this.begin(now);
    matchOn(purpose)
      .with({ kind: 'count' }, (p) => {
        this.countsOutstanding--;
        this.countDone(dpidHex, p.serviceId, p.backend, p.ticket, p.at, parts);
      })
      .with({ kind: 'audit' }, () => this.auditDone(dpidHex, parts, now))
      .with({ kind: 'group_stats' }, (p) => this.groupStats(dpidHex, p.serviceId, parts))
      .with({ kind: 'sweep_flows' }, () => this.sweepFlows(dpidHex, parts))
      .with({ kind: 'sweep_groups' }, (p) => this.sweepGroups(dpidHex, p.stale, parts))
      .exhaustive();
    return fx;
  }

  /** A request the core asked for failed (timeout, error, disconnect). */
  requestFailed(dpidHex: string, purpose: RequestPurpose, message: string): Effects {
    const fx = this.begin();
    matchOn(purpose)
      .with({ kind: 'count' }, () => { this.countsOutstanding--; })
      .with({ kind: 'audit' }, () => {
        this.auditing.delete(dpidHex);
        fx.log('info', { dpid: dpidHex, err: message }, 'pin audit failed');
      })
      .with({ kind: 'group_stats' }, () => undefined)
      .with({ kind: 'sweep_flows' }, { kind: 'sweep_groups' }, () => fx.log('info', { dpid: dpidHex, err: message }, 'sweeping stale service flows failed'))
      .exhaustive();
    return fx;
  }

  private countDone(dpidHex: string, serviceId: number, backend: number, ticket: number, at: number, parts: readonly MultipartReplyBody[]): void {
    const agg = parts.find((p) => p.kind === 'aggregate');
    const st = this.byId.get(serviceId);
    if (!agg || agg.kind !== 'aggregate' || !st || !st.backends.has(backend)) return;
    let m = st.connections.get(dpidHex);
    if (!m) st.connections.set(dpidHex, (m = new Map()));
    st.ledger.countDone(dpidHex, backend, ticket, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount });
    m.set(backend, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount, at });
  }

  private auditDone(dpidHex: string, parts: readonly MultipartReplyBody[], now: number): void {
    const added = this.auditing.get(dpidHex);
    this.auditing.delete(dpidHex);
    const dumped = pinsOfDump(parts);
    for (const [id, st] of this.byId) {
      st.replacePins(dpidHex, dumped.get(id) ?? new FlowTable(), added?.get(id) ?? new FlowTable(16), now);
    }
  }

  /** Per-slot activity (least-active slots move first) and bucket traffic per owner, from the
   * packet counts since the last statistics of the same group. */
  private groupStats(dpidHex: string, serviceId: number, parts: readonly MultipartReplyBody[]): void {
    const st = this.byId.get(serviceId);
    if (!st) return;
    const secs = this.cfg.statsIntervalMs / 1000;
    for (const cur of bucketsOfGroupStats(parts)) {
      const key = `${dpidHex}/${serviceId}`;
      const prev = this.lastBucketStats.get(key);
      this.lastBucketStats.set(key, cur);
      if (!prev || prev.length !== cur.length) continue;
      for (let i = 0; i < cur.length && i < st.activity.length; i++) {
        const dp = Number(cur[i].packetCount - prev[i].packetCount);
        if (dp < 0) continue;
        st.activity[i] = st.activity[i] * 0.5 + (dp / secs) * 0.5;
        const bucket = st.table.bucket(i);
        if (bucket.kind === 'forward' && dp > 0) {
          st.ledger.bucketTraffic(bucket.backend, dp, Number(cur[i].byteCount - prev[i].byteCount));
        }
      }
    }
  }

  /** Services removed while this controller was away: their flows (then their groups) are deleted. */
  private sweepFlows(dpidHex: string, parts: readonly MultipartReplyBody[]): void {
    const sw = this.switches.get(dpidHex);
    if (!sw) return;
    const stale = staleServicesOfFlows(parts, (id) => this.byId.has(id));
    this.fx.switches.push({ kind: 'request', dpid: sw.dpid, timeoutMs: 30_000, purpose: { kind: 'sweep_groups', stale: [...stale] }, body: { kind: 'group_desc' } });
  }

  private sweepGroups(dpidHex: string, staleFlows: readonly number[], parts: readonly MultipartReplyBody[]): void {
    const sw = this.switches.get(dpidHex);
    if (!sw) return;
    const stale = new Set(staleFlows.filter((id) => !this.byId.has(id)));
    for (const id of staleServicesOfGroups(parts, (x) => this.byId.has(x))) stale.add(id);
    for (const id of stale) {
      const space = serviceRulesMatch(id);
      this.fx.send(sw.dpid, deleteByCookie(space.cookie, space.mask));
      this.fx.send(sw.dpid, groupDelete(groupIdFor(id), 'select'));
    }
    if (stale.size > 0) this.fx.log('info', { dpid: dpidHex, services: [...stale] }, 'deleted the flows of services that no longer exist');
  }

  // ------------------------------------------------------------------------------------------
  // Operator controls. Each validates first and throws LbError before changing anything; the
  // shell runs it and its effects in one store transaction.

  private svc(name: string): ServiceState {
    const st = this.services.get(name);
    if (!st) throw new LbError('not_found', `no service named ${JSON.stringify(name)}`);
    return st;
  }

  private backendOf(st: ServiceState, key: string): Backend {
    const k = parseBackendKey(key);
    const b = st.byKey.get(backendKey(k));
    if (!b) throw new LbError('not_found', `service ${st.service.name} has no backend ${key}`);
    return b;
  }

  listServices(): ServiceView[] {
    return [...this.services.values()].sort((a, b) => a.service.id - b.service.id).map((st) => serviceView(st, this.health));
  }

  getService(name: string): ServiceView {
    return serviceView(this.svc(name), this.health);
  }

  addService(input: ServiceInput, now: number): Result<ServiceView> {
    const fx = this.begin(now);
    const spec = validateServiceInput(input);
    if (this.services.has(spec.name)) throw new LbError('conflict', `service ${spec.name} already exists`);
    for (const st of this.services.values()) {
      const s = st.service;
      if (s.vip === spec.vip && s.proto === spec.proto && s.port === spec.port) {
        throw new LbError('conflict', `${spec.vip}:${spec.port}/${spec.proto} is already service ${s.name}`);
      }
    }
    const id = this.ids.nextServiceId();
    const service: Service = { ...spec, id, vmac: serviceVmac(id), createdAt: now };
    const st = new ServiceState(service, newTable(service));
    fx.store.push({ kind: 'insert_service', service });
    this.saveTable(st);
    this.services.set(service.name, st);
    this.byId.set(id, st);
    this.claimService(service);
    this.emit({ type: 'service_added', service: service.name });
    this.syncService(st);
    return { value: serviceView(st, this.health), effects: fx };
  }

  updateService(name: string, settings: ServiceSettings, now: number): Result<ServiceView> {
    const fx = this.begin(now);
    const st = this.svc(name);
    if (typeof settings !== 'object' || settings === null) throw new LbError('invalid', 'the settings must be an object');
    const s = st.service;
    // A health change is relative to the service's current check (only the fields given change).
    const { health: healthInput, ...rest } = settings;
    const health = healthInput === undefined ? s.health : validateHealth(healthInput, s.proto, s.health);
    const spec = validateServiceInput({ ...s, ...rest, health });
    const next: Service = { ...s, ...spec, id: s.id, vmac: s.vmac, createdAt: s.createdAt };
    if (JSON.stringify(next) === JSON.stringify(s)) return { value: serviceView(st, this.health), effects: fx };
    fx.store.push({ kind: 'update_service', service: next });
    st.service = next;
    if (JSON.stringify(next.health) !== JSON.stringify(s.health)) {
      this.health.reset(st);
      if (next.health.slowStartMs === 0) st.slowStart.clear();
      this.emit({ type: 'service_health', service: name, health: next.health });
    }
    // Windows, query-slot limit and tracking live in the slot table: rebuild it from its snapshot.
    st.table = newTable(next, st.table.snapshot());
    st.invalidateTargets(); // pin templates carry the idle timeouts
    this.reconcilePool(st, 'service settings changed', now);
    this.syncAllInto(); // a switch left out by `switches` loses the service's flows
    return { value: serviceView(st, this.health), effects: fx };
  }

  /** The service goes; its flows and group go with its reconciler owner (the shell releases it and
   * then syncs every switch, so services sharing its VIP take over the ARP rule). */
  removeService(name: string): Effects {
    const fx = this.begin();
    const st = this.svc(name);
    fx.store.push({ kind: 'delete_service', name });
    this.services.delete(name);
    this.byId.delete(st.service.id);
    this.deletePins(PIN_COOKIE_MASK_FOR_SERVICE(st.service.id));
    this.deletePins(replyCookieMaskForService(st.service.id));
    fx.runtime.push({ kind: 'release', owner: ownerOf(st.service.id) });
    this.emit({ type: 'service_removed', service: name });
    return fx;
  }

  listBackends(service: string): BackendView[] {
    const st = this.svc(service);
    return [...st.backends.values()].map((b) => backendView(st, b, this.health));
  }

  addBackend(service: string, spec: BackendSpec, now: number): Result<BackendView> {
    const fx = this.begin(now);
    const st = this.svc(service);
    const v = validateBackendSpec(spec, st.service.mode);
    const key = backendKey(v);
    if (st.byKey.has(key)) throw new LbError('conflict', `service ${service} already has backend ${key}`);
    if (v.ip === st.service.vip) throw new LbError('invalid', `backend ${key} is the service's own VIP`);
    const b: Backend = {
      ...v, id: this.ids.nextBackendId(), service, state: v.mac ? 'active' : 'resolving', stateSince: now,
      removeWhenDrained: false,
    };
    fx.store.push({ kind: 'insert_backend', backend: { ...b } });
    st.addBackend(b, now);
    this.emit({ type: 'backend_added', service, backend: key });
    if (b.state === 'active') this.reconcilePool(st, `backend ${key} added`, now);
    else this.probeInto(now, true);
    return { value: backendView(st, b, this.health), effects: fx };
  }

  drainBackend(service: string, key: string, now: number): Result<BackendView> {
    const fx = this.begin(now);
    const st = this.svc(service);
    const b = this.backendOf(st, key);
    matchOn(b.state)
      .with('active', () => {
        this.setState(st, b, 'draining', now, 'drain requested');
        this.reconcilePool(st, `drain of ${key}`, now);
      })
      .with('resolving', 'down', () => this.setState(st, b, 'drained', now, 'drain requested (backend had no flows)'))
      .with('draining', 'drained', () => undefined)
      .with('removed', () => {
        throw new LbError('conflict', `backend ${key} is being removed`);
      })
      .exhaustive();
    return { value: backendView(st, b, this.health), effects: fx };
  }

  enableBackend(service: string, key: string, now: number): Result<BackendView> {
    const fx = this.begin(now);
    const st = this.svc(service);
    const b = this.backendOf(st, key);
    if (b.removeWhenDrained) throw new LbError('conflict', `backend ${key} is being removed`);
    if (b.state === 'draining' || b.state === 'drained') {
      const known = st.locations.has(b.id);
      this.setState(st, b, known ? 'active' : 'resolving', now, 'enabled');
      if (known) this.reconcilePool(st, `${key} enabled`, now);
      else this.probeInto(now, true);
    }
    return { value: backendView(st, b, this.health), effects: fx };
  }

  setWeight(service: string, key: string, weight: number, now: number): Result<BackendView> {
    const fx = this.begin(now);
    const st = this.svc(service);
    const b = this.backendOf(st, key);
    const v = validateBackendSpec({ ip: b.ip, weight }, 'nat').weight;
    if (v !== b.weight) {
      const from = b.weight;
      b.weight = v;
      this.storeBackend(b);
      this.emit({ type: 'backend_weight', service, backend: key, from, to: v });
      this.reconcilePool(st, `weight of ${key} ${from} → ${v}`, now);
    }
    return { value: backendView(st, b, this.health), effects: fx };
  }

  removeBackend(service: string, key: string, opts: { now?: boolean }, now: number): Result<BackendView> {
    const fx = this.begin(now);
    const st = this.svc(service);
    const b = this.backendOf(st, key);
    if (opts.now || b.state === 'drained' || b.state === 'resolving' || b.state === 'down') {
      const view = backendView(st, b, this.health);
      this.deleteBackend(st, b, opts.now ? 'removed now' : 'removed', now);
      return { value: { ...view, state: 'removed' }, effects: fx };
    }
    b.removeWhenDrained = true;
    this.storeBackend(b);
    if (b.state === 'active') {
      this.setState(st, b, 'draining', now, 'remove requested');
      this.reconcilePool(st, `remove of ${key}`, now);
    }
    return { value: backendView(st, b, this.health), effects: fx };
  }

  // ------------------------------------------------------------------------------------------
  // Views

  /** Status without the switches' connection details (the shell adds those). */
  status(): Omit<StatusView, 'switches'> {
    return { startedAt: this.startedAt, ...servicesStatus(this.services.values(), this.slotsMoved), monitor: this.health.monitorView() };
  }

}

/** A control's answer and what it takes to carry it out. */
export interface Result<T> { value: T; effects: Effects }


function newTable(service: Service, snap?: SlotTableSnapshot): SlotTable {
  return new SlotTable({
    slots: service.slots, windows: service.migration, maxQuerySlots: service.maxQuerySlots, tracking: service.tracking,
  }, snap);
}
