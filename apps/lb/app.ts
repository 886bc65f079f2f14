// The load balancer app: services and backends (LbControl), the pipeline on every switch (through
// the reconciler), query/reply flow setup (the one hot path that goes straight to the switch),
// ARP for VIPs and backends, migrations driven by a timer, and state kept in the store.

import { match as matchOn } from 'ts-pattern';
import type { App, OfMessageInput, SwitchHandle } from '../../controller/app.js';
import type { Controller } from '../../controller/index.js';
import { SWITCH_PROFILES, type SwitchProfile } from '../../controller/capabilities.js';
import { flowKey as desiredFlowKey } from '../../controller/desired.js';
import type { DesiredState } from '../../controller/reconciler.js';
import type { Logger } from '../../controller/log.js';
import type { LbStore } from './store.js';
import { buildArpReply, buildArpRequest } from '../../openflow/packet/build.js';
import { extractFlowKeyInto } from '../../openflow/packet/flowkey.js';
import { parsePacket } from '../../openflow/packet/parse.js';
import type { FlowKey } from '../../openflow/packet/types.js';
import { numberToIpv4, parseIpv4 } from '../../openflow/packet/addr.js';
import {
  OFPG, OFPP, OFPTT_ALL, OFP_NO_BUFFER, type Match, type MessageOf,
} from '../../openflow/types.js';
import {
  COOKIE_KIND_PIN, SERVICE_COOKIE_SPACE, SERVICE_ID_MAX, serviceRulesMatch, groupIdFor, parseCookie, parseMarkerMac, PIN_COOKIE_MASK_FOR_SERVICE,
  pinCookieMatch, replyCookieMaskForService, replyCookieMatch, serviceVmac,
} from './cookies.js';
import {
  LbError, type BackendView, type LbControl, type ProfileSetting, type ServiceInput, type ServiceSettings, type ServiceView,
  type StatusView,
} from './control.js';
import { targetCounts } from './allocation.js';
import { validateHealth, type HealthStatus } from './health.js';
import { checkMode, HealthMonitor } from './health-monitor.js';
import { DEFAULT_MONITOR_MAC, type MonitorAddress } from './probe-packets.js';
import { inPortOf, matchValue } from '../../openflow/oxm.js';
import { FlowTable } from './flow-table.js';
import {
  backendKey, canServe, type Backend, type BackendSpec, type BackendState, type LbEvent, type Service,
  type StoredEvent,
} from './model.js';
import { forwardActions, monitorFlows, type BackendTarget, pinFlowMod, repointPinsFlowMod, serviceFlows, serviceGroup, type PinOptions } from './pipeline.js';
import {
  buildPacketOutTemplate, buildPinTemplate, fillPacketOut, fillPin, templateFits, type PacketOutTemplate, type PinTemplate,
} from './pin-template.js';
import { ServiceState, type TargetEntry } from './service-state.js';
import { restoreCounters, saveCounters } from './counter-store.js';
import type { BackendTotals } from './traffic-ledger.js';
import { parkedBucket, SlotTable, type SlotChange } from './slot-table.js';
import { judgeArpAnswer } from './arp-guard.js';
import { checkIpv4, normalizeMac, parseBackendKey, validateBackendSpec, validateServiceInput } from './validation.js';

export interface LoadBalancerOptions {
  controller: Controller;
  store: LbStore;
  log?: Logger;
  clock?: () => number;
  /** Migration timer resolution. */
  tickMs?: number;
  /** ARP probes: how often unresolved backends are probed, and live ones re-checked. */
  resolveIntervalMs?: number;
  healthIntervalMs?: number;
  /** Consecutive unanswered health probes before a backend is `down`. */
  healthMisses?: number;
  /** Group statistics (least-active slots, traffic) and pin audits (flow dumps). */
  statsIntervalMs?: number;
  pinAuditIntervalMs?: number;
  /** Idle timeout a TCP pin drops to once its connection sends FIN or RST (`ovs` profile only). */
  finIdleTimeout?: number;
  /** How often each switch is asked how many connections it holds per backend (aggregate stats). */
  connCountIntervalMs?: number;
  /** How long a stopping controller waits for its switches to confirm parked query slots. */
  parkTimeoutMs?: number;
  /** How often traffic and controller counters are written to the store (and at stop). */
  counterSaveIntervalMs?: number;
  /** Where tcp/udp/http health probes come from (an unused address in the backends' subnet).
   * Without it, tcp/udp checks fall back to ARP liveness and http checks run from this host. */
  monitor?: { ip: string; mac?: string };
}

/** Each service is its own reconciler owner (its cookies, its group): a service whose flows or
 * group a switch refuses fails alone, and never holds back another service's changes. */
const ownerOf = (serviceId: number): string => `lb/${serviceId}`;
const MONITOR_OWNER = 'lb/monitor';
/** Connection counts asked for this soon after a backend's last slot left may still miss an entry
 * the switch was learning from a packet that took the old bucket. */
const CONN_COUNT_MARGIN_MS = 300;
/** How long a started controller waits for its switches (Open vSwitch's default reconnect backoff
 * is up to 8 s) before it takes "no switch" to mean no connection anywhere. */
const SWITCH_RETURN_GRACE_MS = 15_000;
/** Switch connect/disconnect events: at most this many per window (see switchEvent). */
const SWITCH_EVENT_WINDOW_MS = 10_000;
const SWITCH_EVENTS_PER_WINDOW = 20;
/** Every backend's connections are counted once in this many rounds of connCountIntervalMs. */
const ALL_COUNT_EVERY = 5;
const PIN_KIND_MASK = 0xffn << 56n;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const EMPTY = Buffer.alloc(0);

export class LoadBalancer implements LbControl, App {
  readonly name = 'lb';
  private readonly services = new Map<string, ServiceState>();
  /** Hot path: service by id. */
  private readonly byId = new Map<number, ServiceState>();
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly clock: () => number;
  private readonly startedAt: number;
  private readonly fk: FlowKey = { srcIp: 0, dstIp: 0, proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0 };
  private readonly lastBucketStats = new Map<string, { packetCount: bigint; byteCount: bigint }[]>();
  /** Profiles operators forced, by dpid (others are detected). */
  private readonly forcedProfiles = new Map<string, SwitchProfile>();
  /** Set once the controller is stopping: query slots are rendered parked (openflow13). */
  private parked = false;
  private counting = false;
  private countRounds = 0;
  /** Pins added while a flow dump of a switch is running (merged into the dump's result). */
  private readonly auditing = new Map<string, Map<number, FlowTable>>();
  private slotsMoved = 0;
  private readonly opts: Required<Omit<LoadBalancerOptions, 'log' | 'clock' | 'controller' | 'store' | 'monitor'>>;
  /** Health checks (apps/lb/health-monitor.ts). */
  readonly health: HealthMonitor;
  /** Per service: the slow-start fractions its slot table was last balanced with. */
  private readonly slowStartKey = new Map<number, string>();

  constructor(private readonly o: LoadBalancerOptions) {
    this.clock = o.clock ?? Date.now;
    this.startedAt = this.clock();
    this.opts = {
      tickMs: o.tickMs ?? 50,
      resolveIntervalMs: o.resolveIntervalMs ?? 500,
      healthIntervalMs: o.healthIntervalMs ?? 5_000,
      healthMisses: o.healthMisses ?? 4,
      statsIntervalMs: o.statsIntervalMs ?? 2_000,
      pinAuditIntervalMs: o.pinAuditIntervalMs ?? 10_000,
      finIdleTimeout: o.finIdleTimeout ?? 2,
      connCountIntervalMs: o.connCountIntervalMs ?? 1_000,
      parkTimeoutMs: o.parkTimeoutMs ?? 3_000,
      counterSaveIntervalMs: o.counterSaveIntervalMs ?? 10_000,
    };
    let monitor: MonitorAddress | undefined;
    if (o.monitor) monitor = { ip: checkIpv4('monitor IP', o.monitor.ip), mac: normalizeMac('monitor MAC', o.monitor.mac ?? DEFAULT_MONITOR_MAC) };
    this.health = new HealthMonitor({
      clock: () => this.clock(),
      switches: () => this.o.controller.switches(),
      services: () => this.services.values(),
      serviceById: (id) => this.byId.get(id),
      servesSwitch: (s, dpid) => this.servesSwitch(s, dpid),
      arpFresh: (st, b) => {
        const loc = st.locations.get(b.id);
        return loc !== undefined && (loc.static || loc.misses <= this.opts.healthMisses);
      },
      healthChanged: (st, b, to, reason, check) => this.healthChanged(st, b, to, reason, check),
      ...(o.log ? { log: o.log } : {}),
    }, monitor);
    for (const p of o.store.listSwitchProfiles()) {
      if ((SWITCH_PROFILES as readonly string[]).includes(p.profile)) this.forcedProfiles.set(p.dpid, p.profile as SwitchProfile);
    }
    // The health monitor's own rules (cookie service id 0, no group) are one more owner.
    const monitorSpace = serviceRulesMatch(0);
    o.controller.reconciler.claim(MONITOR_OWNER, { cookie: monitorSpace.cookie, cookieMask: monitorSpace.mask, groupIdMin: 0, groupIdMax: 0 });
    this.load();
  }

  private get log(): Logger | undefined {
    return this.o.log;
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Restores services, backends and slot tables from the store. Migrations in flight resume
   * with a fresh window: packets lost while the controller was away get their chance again. */
  private load(): void {
    const now = this.clock();
    for (const service of this.o.store.listServices()) {
      const snap = this.o.store.loadSlotTable(service.name);
      if (snap) for (const m of snap.migrations) { m.startedAt = now; m.lastFromPinAt = now; }
      const st = new ServiceState(service, this.newTable(service, snap));
      for (const b of this.o.store.listBackends(service.name)) {
        st.addBackend(b);
        if (b.resolvedMac && b.locations) {
          st.locations.set(b.id, { mac: b.resolvedMac, ports: new Map(Object.entries(b.locations)), static: false, lastSeen: now, misses: 0 });
        }
      }
      this.services.set(service.name, st);
      this.byId.set(service.id, st);
      this.claimService(service);
      // Slots whose owner can no longer serve (removed or down while we were away) move now.
      const change = st.rebalance(now);
      if (change.moved.length > 0 || change.started.length > 0) this.o.store.saveSlotTable(service.name, st.table.snapshot());
    }
    restoreCounters(this.o.store, this.byId);
  }

  private newTable(service: Service, snap?: ReturnType<SlotTable['snapshot']>): SlotTable {
    return new SlotTable({
      slots: service.slots, windows: service.migration, maxQuerySlots: service.maxQuerySlots, tracking: service.tracking,
    }, snap);
  }

  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(() => {
        try {
          fn();
        } catch (err) {
          this.log?.error({ err: (err as Error).message }, 'load balancer timer failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.tickMs, () => this.tick());
    every(this.opts.resolveIntervalMs, () => this.probe());
    every(this.opts.statsIntervalMs, () => void this.collectStats());
    every(this.opts.pinAuditIntervalMs, () => void this.auditPins());
    every(this.opts.connCountIntervalMs, () => void this.countConnections());
    every(this.opts.counterSaveIntervalMs, () => this.saveCounters());
    this.o.controller.use(this);
  }

  stop(): void {
    if (this.timers.length > 0) this.saveCounters();
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Traffic and controller counters into the store, so they survive a restart (counter-store.ts). */
  private saveCounters(): void {
    saveCounters(this.o.store, this.services.values(), this.clock());
  }

  /**
   * Before the controller goes away: every query slot on a switch of the `openflow13` profile goes
   * back to forwarding (to its old owner while that one can serve), confirmed by the switch, so no
   * packet waits for a controller that is gone. A started controller resumes from the store. In the
   * `ovs` profile nothing in the data path depends on the controller: nothing to do.
   */
  async park(): Promise<void> {
    this.stop();
    this.parked = true;
    const waits: Promise<void>[] = [];
    for (const sw of this.o.controller.switches()) {
      if (this.profileOf(sw) === 'openflow13') waits.push(this.syncSwitch(sw.dpid, sw.dpidHex));
    }
    if (waits.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(waits),
      new Promise<void>((r) => { timer = setTimeout(r, this.opts.parkTimeoutMs); }),
    ]);
    clearTimeout(timer);
  }

  // ------------------------------------------------------------------------------------------
  // Switch profiles

  /** The profile a switch is driven in: forced by an operator, else detected at its handshake. */
  profileOf(sw: SwitchHandle): SwitchProfile {
    return this.forcedProfiles.get(sw.dpidHex) ?? sw.capabilities.profile;
  }

  /** Every switch that carries the service remembers its connections (and one is connected), so
   * its slots can change owner at once. */
  private remembered(st: ServiceState): boolean {
    let any = false;
    for (const sw of this.o.controller.switches()) {
      if (!this.servesSwitch(st.service, sw.dpidHex)) continue;
      if (this.profileOf(sw) !== 'ovs') return false;
      any = true;
    }
    return any;
  }

  setSwitchProfile(dpid: string, profile: ProfileSetting): { dpid: string; profile: ProfileSetting } {
    return this.o.store.transaction(() => {
      const id = dpid.trim().toLowerCase().replace(/^0x/, '');
      if (!/^[0-9a-f]{1,16}$/.test(id)) throw new LbError('invalid', `bad datapath id ${JSON.stringify(dpid)}: expected up to 16 hex digits`);
      if (profile !== 'auto' && !SWITCH_PROFILES.includes(profile)) {
        throw new LbError('invalid', `bad profile ${JSON.stringify(profile)}: expected ${[...SWITCH_PROFILES, 'auto'].join(', ')}`);
      }
      const hex = id.padStart(16, '0');
      const before = this.forcedProfiles.get(hex) ?? 'auto';
      if (before === profile) return { dpid: hex, profile };
      this.o.store.setSwitchProfile(hex, profile === 'auto' ? null : profile);
      if (profile === 'auto') this.forcedProfiles.delete(hex);
      else this.forcedProfiles.set(hex, profile);
      this.emit({ type: 'switch_profile', dpid: hex, profile });
      const sw = this.o.controller.switches().find((s) => s.dpidHex === hex);
      if (sw) {
        for (const st of this.services.values()) st.invalidateTargets(); // pin templates carry the profile
        this.syncSwitch(sw.dpid, sw.dpidHex);
      }
      return { dpid: hex, profile };
    });
  }

  // ------------------------------------------------------------------------------------------
  // Events and persistence

  private emit(e: LbEvent): void {
    const stored = this.o.store.appendEvent(e, this.clock());
    for (const l of this.listeners) {
      try {
        l(stored);
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'event listener failed');
      }
    }
  }

  private setState(st: ServiceState, b: Backend, to: BackendState, reason?: string): void {
    if (b.state === to) return;
    const from = b.state;
    b.state = to;
    b.stateSince = this.clock();
    if (to === 'draining') b.drainStartedAt = b.stateSince;
    if (to !== 'removed') this.o.store.updateBackend(b);
    this.emit({ type: 'backend_state', service: st.service.name, backend: backendKey(b), from, to, ...(reason ? { reason } : {}) });
  }

  /** After a pool change: rebalance, apply bucket changes, persist, and bring the switches up to
   * date even when no bucket changed (a backend that became active needs its reverse and learn
   * rules; with `--tracking all` every bucket is a query bucket whatever the pool). */
  private reconcilePool(st: ServiceState, reason: string): void {
    const change = st.rebalance(this.clock(), this.remembered(st));
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
        from: this.keyOf(st, m.from), to: this.keyOf(st, m.to),
      });
    }
    if (change.moved.length > 0 && st.table.migrations().length === 0) {
      this.emit({ type: 'migration_done', service: st.service.name });
    }
    if (change.buckets.length > 0 || change.moved.length > 0 || change.started.length > 0) {
      this.o.store.saveSlotTable(st.service.name, st.table.snapshot());
    }
    if (change.buckets.length > 0) this.syncService(st);
  }

  private keyOf(st: ServiceState, id: number | null): string | null {
    if (id === null) return null;
    const b = st.backends.get(id);
    return b ? backendKey(b) : `#${id}`;
  }

  // ------------------------------------------------------------------------------------------
  // Desired state on switches

  private servesSwitch(s: Service, dpid: string): boolean {
    return s.switches.length === 0 || s.switches.includes(dpid);
  }

  private syncService(st: ServiceState): void {
    for (const sw of this.o.controller.switches()) {
      if (this.servesSwitch(st.service, sw.dpidHex)) this.syncSwitch(sw.dpid, sw.dpidHex);
    }
  }

  private syncAll(): void {
    for (const sw of this.o.controller.switches()) this.syncSwitch(sw.dpid, sw.dpidHex);
  }

  /** The flows and groups of every service on one switch, handed to the reconciler. Settles when
   * the switch has them (or failed to take them). */
  private syncSwitch(dpid: bigint, dpidHex: string): Promise<void> {
    const sw = this.o.controller.switch(dpid);
    if (!sw) return Promise.resolve();
    const profile = this.profileOf(sw);
    const park = this.parked && profile === 'openflow13';
    const seen = new Set<string>();
    const jobs: Promise<void>[] = [];
    // nat backend ip:port in more than one service here: their connections learn reply entries.
    const natUses = new Map<string, number>();
    for (const st of this.services.values()) {
      if (st.service.mode !== 'nat' || !this.servesSwitch(st.service, dpidHex)) continue;
      for (const t of st.reverseTargets(dpidHex)) natUses.set(`${t.ip}:${t.l4port}`, (natUses.get(`${t.ip}:${t.l4port}`) ?? 0) + 1);
    }
    const sharedBackend = (t: BackendTarget): boolean => (natUses.get(`${t.ip}:${t.l4port}`) ?? 0) > 1;
    for (const st of [...this.services.values()].sort((a, b) => a.service.id - b.service.id)) {
      const s = st.service;
      const flows = [];
      const groups = [];
      if (!this.servesSwitch(s, dpidHex)) {
        jobs.push(this.applyService(st, dpid, dpidHex, { flows: [], groups: [] }));
        continue;
      }
      const targetOf = (id: number) => st.target(id, dpidHex);
      const canServeHere = (id: number): boolean => {
        const b = st.backends.get(id);
        return b !== undefined && canServe(b) && targetOf(id) !== undefined;
      };
      const buckets = Array.from({ length: s.slots }, (_, i) => (park ? parkedBucket(st.table.bucket(i), canServeHere) : st.table.bucket(i)));
      groups.push(serviceGroup(s, buckets, targetOf, sw.version, profile));
      for (const f of serviceFlows(s, st.reverseTargets(dpidHex), { profile, finTimeout: this.opts.finIdleTimeout, sharedBackend })) {
        // Services sharing a VIP share its ARP rule; keep the first (lowest service id). Identity is
        // the reconciler's own (table, priority, canonical match).
        const id = desiredFlowKey(f);
        if (seen.has(id)) continue;
        seen.add(id);
        flows.push(f);
      }
      jobs.push(this.applyService(st, dpid, dpidHex, { flows, groups }));
    }
    const monitor = this.health.monitor;
    jobs.push(this.o.controller.reconciler.setDesired(MONITOR_OWNER, dpid, { flows: monitor ? monitorFlows(monitor) : [], groups: [] }).catch((err: Error) => {
      this.log?.warn({ dpid: dpidHex, err: err.message }, 'a switch refused the health monitor\'s rules');
    }));
    return Promise.all(jobs).then(() => undefined);
  }

  /** Hands one service's flows and group on one switch to the reconciler; a refusal marks the
   * service failed on that switch (status, live view, one event per change of its error). */
  private applyService(st: ServiceState, dpid: bigint, dpidHex: string, desired: DesiredState): Promise<void> {
    const name = st.service.name;
    return this.o.controller.reconciler.setDesired(ownerOf(st.service.id), dpid, desired).then(() => {
      if (st.failedOn.delete(dpidHex)) this.emit({ type: 'error', service: name, message: `switch ${dpidHex} took service ${name}'s pipeline again` });
    }, (err: Error) => {
      if (!this.services.has(name) || st.failedOn.get(dpidHex) === err.message) return;
      st.failedOn.set(dpidHex, err.message);
      this.log?.warn({ dpid: dpidHex, service: name, err: err.message }, 'a switch refused a service\'s pipeline');
      this.emit({ type: 'error', service: name, message: `switch ${dpidHex} refused service ${name}'s pipeline: ${err.message}` });
    });
  }

  /** Claims a service's cookie space and group for the reconciler. */
  private claimService(service: Service): void {
    const space = serviceRulesMatch(service.id);
    this.o.controller.reconciler.claim(ownerOf(service.id), {
      cookie: space.cookie, cookieMask: space.mask,
      groupIdMin: groupIdFor(service.id), groupIdMax: groupIdFor(service.id),
    });
  }

  /**
   * At a switch's connection: deletes the flows and groups of services that no longer exist (removed
   * while this controller was away). Each service reconciles only its own cookie space, so nobody
   * else would.
   */
  private async sweepStale(sw: SwitchHandle): Promise<void> {
    try {
      const parts = await sw.multipart({
        kind: 'flow', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: SERVICE_COOKIE_SPACE.cookie, cookieMask: SERVICE_COOKIE_SPACE.mask, match: [] },
      }, 30_000);
      const stale = new Set<number>();
      for (const p of parts) {
        if (p.kind !== 'flow') continue;
        for (const f of p.flows) {
          const c = parseCookie(f.cookie);
          if (c.kind === 'service' && c.serviceId !== 0 && !this.byId.has(c.serviceId)) stale.add(c.serviceId);
        }
      }
      const groups = await sw.multipart({ kind: 'group_desc' }, 30_000);
      for (const p of groups) {
        if (p.kind !== 'group_desc') continue;
        for (const g of p.groups) if (g.groupId >= 1 && g.groupId <= SERVICE_ID_MAX && !this.byId.has(g.groupId)) stale.add(g.groupId);
      }
      for (const id of stale) {
        const space = serviceRulesMatch(id);
        sw.send({
          type: 'flow_mod', cookie: space.cookie, cookieMask: space.mask, tableId: OFPTT_ALL,
          command: 'delete', idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
        });
        sw.send({ type: 'group_mod', command: 'delete', groupType: 'select', groupId: groupIdFor(id), buckets: [] });
      }
      if (stale.size > 0) this.log?.info({ dpid: sw.dpidHex, services: [...stale] }, 'deleted the flows of services that no longer exist');
    } catch (err) {
      this.log?.info({ dpid: sw.dpidHex, err: (err as Error).message }, 'sweeping stale service flows failed');
    }
  }

  /** Deletes pins on every switch by cookie (exact backend, or a whole service). */
  private deletePins({ cookie, mask: cookieMask }: { cookie: bigint; mask: bigint }): void {
    for (const sw of this.o.controller.switches()) {
      sw.send({
        type: 'flow_mod', cookie, cookieMask, tableId: OFPTT_ALL, command: 'delete', idleTimeout: 0, hardTimeout: 0,
        priority: 0, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
      });
    }
  }

  // ------------------------------------------------------------------------------------------
  // App callbacks

  switchUp(sw: SwitchHandle): void {
    this.switchEvent({ type: 'switch_up', dpid: sw.dpidHex, version: sw.version });
    const gt = sw.capabilities.groupTypes;
    if (gt.length > 0 && !gt.includes('select')) {
      // Every service needs a select group: say so plainly rather than through each group_mod error.
      this.emit({ type: 'error', message: `switch ${sw.dpidHex} has no select groups (it offers ${gt.join(', ')}): no service can be installed on it` });
    }
    void this.sweepStale(sw);
    this.syncSwitch(sw.dpid, sw.dpidHex);
    void this.auditPinsOn(sw);
    this.probe(true);
  }

  switchDown(sw: SwitchHandle): void {
    if (this.o.controller.switch(sw.dpid)) return; // replaced by a newer connection
    for (const st of this.services.values()) st.connections.delete(sw.dpidHex);
    this.switchEvent({ type: 'switch_down', dpid: sw.dpidHex });
  }

  /**
   * Switch connects and disconnects go to the event log at most SWITCH_EVENTS_PER_WINDOW a window:
   * a flapping switch, or a client cycling through fresh datapath ids, must not push the real
   * history out of the log. What is held back is counted and written as one event when the next
   * window opens.
   */
  private readonly switchEvents = { windowStart: 0, written: 0, heldUp: 0, heldDown: 0 };
  private switchEvent(e: Extract<LbEvent, { type: 'switch_up' | 'switch_down' }>): void {
    const w = this.switchEvents;
    this.flushSwitchEvents(this.clock());
    if (w.written < SWITCH_EVENTS_PER_WINDOW) {
      w.written++;
      this.emit(e);
    } else if (e.type === 'switch_up') w.heldUp++;
    else w.heldDown++;
  }

  /** Opens a new window once the last one is over, writing what it held back as one event (also
   * from the timer, so the count is not left waiting for the next switch event). */
  private flushSwitchEvents(now: number): void {
    const w = this.switchEvents;
    if (now - w.windowStart < SWITCH_EVENT_WINDOW_MS) return;
    if (w.heldUp + w.heldDown > 0) {
      this.emit({ type: 'error', message: `${w.heldUp} more switch connections and ${w.heldDown} disconnections in ${SWITCH_EVENT_WINDOW_MS / 1000} s were not logged one by one` });
    }
    Object.assign(w, { windowStart: now, written: 0, heldUp: 0, heldDown: 0 });
  }

  /** The switch left for good (the runtime's grace period passed): forget what was kept for it, so
   * switches that come and go (or forged datapath ids) cost nothing once gone. */
  switchGone(dpid: bigint): void {
    const hex = dpid.toString(16).padStart(16, '0');
    for (const st of this.services.values()) {
      st.forgetSwitch(hex);
      this.lastBucketStats.delete(`${hex}/${st.service.id}`);
    }
    this.lastErrorEvent.delete(hex);
  }

  packetIn(sw: SwitchHandle, msg: MessageOf<'packet_in'>): void {
    const data = msg.data;
    if (data.length < 14) return;
    const mark = parseMarkerMac(data, 0);
    if (mark) {
      this.queryPacket(sw, msg, mark.serviceId, mark.slot);
      return;
    }
    if (this.health.packetIn(sw, msg)) return;
    if (data.readUInt16BE(12) === 0x0806) this.arpPacket(sw, msg);
  }

  /** A port went down or away: the backends behind it are down at once (health-monitor.ts). */
  portStatus(sw: SwitchHandle, msg: MessageOf<'port_status'>): void {
    this.health.portStatus(sw, msg);
  }

  /**
   * A backend's health changed (checks or port status). Down: its slots move at once, its pins and
   * learned entries are deleted (a backend being removed is deleted). Up: active again, its share
   * growing by slow start.
   */
  private healthChanged(st: ServiceState, b: Backend, to: HealthStatus, reason: string, check: string): void {
    const key = backendKey(b);
    this.emit({ type: 'backend_health', service: st.service.name, backend: key, health: to, reason, check });
    if (to === 'down') {
      if (!canServe(b)) return;
      if (b.removeWhenDrained) {
        this.deleteBackend(st, b, `health checks failed: ${reason}`);
        return;
      }
      st.slowStart.delete(b.id);
      this.setState(st, b, 'down', `health checks failed: ${reason}`);
      this.dropPins(st, b);
      this.reconcilePool(st, `backend ${key} is down`);
      return;
    }
    if (b.state !== 'down') return;
    const now = this.clock();
    if (st.service.health.slowStartMs > 0 && [...st.backends.values()].some((x) => x.id !== b.id && x.state === 'active')) {
      st.slowStart.set(b.id, now);
    }
    this.setState(st, b, 'active', `health checks pass: ${reason}`);
    this.reconcilePool(st, `backend ${key} is up`);
    if (st.slowStart.has(b.id)) this.slowStartEvent(st, b, false);
  }

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
    this.reconcilePool(st, 'slow start');
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

  /** The hot path: a packet from a query slot becomes a pin plus a packet-out. */
  private queryPacket(sw: SwitchHandle, msg: MessageOf<'packet_in'>, serviceId: number, slot: number): void {
    const st = this.byId.get(serviceId);
    const fk = this.fk;
    if (!st || slot >= st.service.slots || !extractFlowKeyInto(msg.data, fk)) return;
    const isNew = (fk.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN && fk.proto === 6;
    const d = st.decide(sw.dpidHex, slot, fk.srcIp, fk.srcPort, isNew, this.clock());
    if (!d) return;
    const inPort = inPortOf(msg.match);
    const e = d.entry;
    let sent: boolean;
    if (templateFits(e.target, inPort)) {
      // Pre-encoded pin and packet-out: copy and patch, no per-packet objects.
      if (e.version !== sw.version || !e.pin || !e.out) this.buildTemplates(sw, st, e);
      this.hot.pin = e.pin!;
      this.hot.out = e.out!;
      this.hot.inPort = inPort!;
      this.hot.data = msg.data;
      sent = !d.install || sw.sendPrebuilt(e.pin!.bytes.length, this.fillPinFn);
      if (sent) sw.sendPrebuilt(e.out!.bytes.length + msg.data.length, this.fillOutFn);
      this.hot.data = EMPTY;
    } else {
      const out: OfMessageInput = {
        type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: inPort ?? OFPP.CONTROLLER,
        actions: forwardActions(st.service, e.target, inPort), data: msg.data,
      };
      if (!d.install) sent = sw.send(out);
      else {
        const client = { srcIp: numberToIpv4(fk.srcIp), srcPort: fk.srcPort };
        sent = sw.sendBatch([pinFlowMod(st.service, client, e.target, this.pinOptions(sw)), out]);
      }
    }
    if (!d.install) return;
    // Backpressure: forget the pin so the next packet of the flow tries again.
    if (!sent) st.pinGone(sw.dpidHex, fk.srcIp, fk.srcPort, d.backend);
    else this.auditing.get(sw.dpidHex)?.get(serviceId)?.set(fk.srcIp, fk.srcPort, d.backend);
  }

  /** The packet being answered, for the fill functions below (the hot path is synchronous). */
  private readonly hot: { pin?: PinTemplate; out?: PacketOutTemplate; inPort: number; data: Buffer } = { inPort: 0, data: EMPTY };
  private readonly fillPinFn = (buf: Buffer, at: number, xid: number): void =>
    fillPin(this.hot.pin!, buf, at, xid, this.fk.srcIp, this.fk.srcPort);
  private readonly fillOutFn = (buf: Buffer, at: number, xid: number): void =>
    fillPacketOut(this.hot.out!, buf, at, xid, this.hot.inPort, this.hot.data);

  private buildTemplates(sw: SwitchHandle, st: ServiceState, e: TargetEntry): void {
    e.pin = buildPinTemplate(st.service, e.target, sw.version, this.pinOptions(sw));
    e.out = buildPacketOutTemplate(st.service, e.target, sw.version);
    e.version = sw.version;
  }

  private pinOptions(sw: SwitchHandle): PinOptions {
    return this.profileOf(sw) === 'ovs' ? { finTimeout: this.opts.finIdleTimeout } : {};
  }

  /** A switch rejected a fire-and-forget message (a pin, a pin delete or repoint): say so, at most
   * once a second per switch so a burst does not flood the event log. */
  private readonly lastErrorEvent = new Map<string, number>();
  error(sw: SwitchHandle, msg: MessageOf<'error'>): void {
    const what = `${String(msg.errType)}/${msg.codeName ?? msg.code}`;
    // A switch decides how many errors it sends: rate-limited per switch like the runtime's warnings.
    this.o.controller.warnLimit.warn(sw.dpidHex, { component: 'lb', dpid: sw.dpidHex, error: what, xid: msg.xid }, 'switch rejected a message');
    const now = this.clock();
    if (now - (this.lastErrorEvent.get(sw.dpidHex) ?? 0) < 1_000) return;
    this.lastErrorEvent.set(sw.dpidHex, now);
    this.emit({ type: 'error', message: `switch ${sw.dpidHex} rejected a message: ${what}` });
  }

  flowRemoved(sw: SwitchHandle, msg: MessageOf<'flow_removed'>): void {
    const c = parseCookie(msg.cookie);
    if (c.kind !== 'pin') return;
    const st = this.byId.get(c.serviceId);
    if (st?.backends.has(c.backendId)) st.ledger.flowEnded(sw.dpidHex, c.backendId, msg.packetCount, msg.byteCount);
    const client = clientOf(msg.match);
    if (!st || !client) return;
    st.pinGone(sw.dpidHex, client.srcIp, client.srcPort, c.backendId);
  }

  // ------------------------------------------------------------------------------------------
  // ARP: answer for VIPs, resolve backends (and notice when they stop answering)

  private arpPacket(sw: SwitchHandle, msg: MessageOf<'packet_in'>): void {
    const p = parsePacket(msg.data);
    if (!p.ok || p.packet.l3.kind !== 'arp') return;
    const arp = p.packet.l3;
    const inPort = inPortOf(msg.match);
    if (arp.op === 1) {
      const st = [...this.services.values()].filter((s) => s.service.vip === arp.tpa).sort((a, b) => a.service.id - b.service.id)[0];
      if (!st || inPort === undefined) return;
      sw.send({
        type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort,
        actions: [{ type: 'output', port: OFPP.IN_PORT, maxLen: 0 }],
        data: buildArpReply({ senderMac: st.service.vmac, senderIp: st.service.vip, targetMac: arp.sha, targetIp: arp.spa }),
      });
      return;
    }
    if (arp.op !== 2 || inPort === undefined) return;
    const now = this.clock();
    for (const st of this.services.values()) {
      for (const b of st.backends.values()) {
        if (b.ip !== arp.spa) continue;
        if (b.mac !== undefined && b.switchPort !== undefined) {
          this.staticAnswered(st, b, arp.sha);
          continue;
        }
        const loc = st.locations.get(b.id);
        const verdict = judgeArpAnswer({
          now, askedAt: this.arpAskedAt.get(b.ip), mac: arp.sha, port: inPort, lastMoveAt: this.lastMoveAt.get(b.id),
          known: loc && { mac: loc.mac, port: loc.ports.get(sw.dpidHex), misses: loc.misses },
        });
        if (verdict.kind === 'accept') {
          if (verdict.moves && loc) this.lastMoveAt.set(b.id, now);
          this.resolved(st, b, arp.sha, sw.dpidHex, inPort);
        } else if (verdict.kind === 'conflict') {
          this.arpConflict(st, b, `switch ${sw.dpidHex}: ${verdict.why}`);
        }
      }
    }
  }

  /** An ARP answer that would have moved a backend was ignored: say so, once a minute a backend. */
  private arpConflict(st: ServiceState, b: Backend, why: string): void {
    const now = this.clock();
    const last = this.arpConflictReported.get(b.id);
    this.log?.debug({ service: st.service.name, backend: backendKey(b), why }, 'ARP answer ignored');
    if (last !== undefined && now - last < 60_000) return;
    this.arpConflictReported.set(b.id, now);
    this.emit({ type: 'error', service: st.service.name, message: `backend ${backendKey(b)}: ignored an ARP answer that would move it (${why}); further ones for a minute are not reported` });
  }

  /** A backend given with --mac/--switch-port answered ARP: alive (where ARP is its check). */
  private staticAnswered(st: ServiceState, b: Backend, mac: string): void {
    const loc = st.locations.get(b.id);
    if (!loc || loc.mac !== mac) return;
    loc.misses = 0;
    loc.lastSeen = this.clock();
    if (b.state === 'down' && this.arpDecides(st)) {
      this.setState(st, b, 'active', 'answers ARP again');
      this.reconcilePool(st, `backend ${backendKey(b)} is active`);
    }
  }

  /** ARP answers decide whether backends are up: tcp/udp checks without a monitor address (or no check). */
  private arpDecides(st: ServiceState): boolean {
    const mode = checkMode(st.service.health, this.health.monitor);
    return mode === 'arp' || mode === 'none';
  }

  private resolved(st: ServiceState, b: Backend, mac: string, dpid: string, port: number): void {
    const now = this.clock();
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
      this.o.store.updateBackend(b);
      this.emit({ type: 'backend_resolved', service: st.service.name, backend: backendKey(b), mac, dpid, port });
      // The backend moved: its pins on this switch follow it, so its connections carry on.
      const sw = this.o.controller.switch(dpid);
      const t = st.target(b.id, dpid);
      if (wasKnownHere && sw && t) sw.send(repointPinsFlowMod(st.service, t, this.pinOptions(sw)));
    }
    if (b.state === 'resolving' || (b.state === 'down' && this.arpDecides(st))) {
      this.setState(st, b, 'active', b.state === 'down' ? 'answers ARP again' : 'resolved by ARP');
      this.reconcilePool(st, `backend ${backendKey(b)} is active`);
    } else if (moved) {
      this.syncService(st);
    }
  }

  /** Sends ARP probes: every tick for unresolved backends, every health interval for the rest. */
  private lastHealthProbe = 0;
  /** Backend IP → when it was last asked for (answers are accepted just after). */
  private readonly arpAskedAt = new Map<string, number>();
  /** Backend id → when its location last moved; when an ignored move was last reported. */
  private readonly lastMoveAt = new Map<number, number>();
  private readonly arpConflictReported = new Map<number, number>();
  private probe(force = false): void {
    const now = this.clock();
    const health = force || now - this.lastHealthProbe >= this.opts.healthIntervalMs;
    if (health) this.lastHealthProbe = now;
    const switches = this.o.controller.switches();
    for (const st of this.services.values()) {
      for (const b of st.backends.values()) {
        if (b.state === 'removed' || b.state === 'drained') continue;
        const loc = st.locations.get(b.id);
        // A backend given with --mac/--switch-port needs no resolving: ARP only where it is its
        // check (no monitor address), or feeds a udp check's "silence" rule.
        if (loc?.static && !(this.arpDecides(st) || st.service.health.type === 'udp')) continue;
        const unresolved = b.state === 'resolving' || b.state === 'down' || !loc;
        if (!unresolved && !health) continue;
        const targets = switches.filter((sw) => this.servesSwitch(st.service, sw.dpidHex));
        // A probe that went to no switch is no unanswered probe.
        if (loc && health && !force && targets.length > 0) {
          loc.misses++;
          // Where probes decide (a monitor address, or http), misses only feed udp's "silence" rule.
          if (loc.misses > this.opts.healthMisses && canServe(b) && checkMode(st.service.health, this.health.monitor) === 'arp') {
            this.setState(st, b, 'down', `no ARP answer to ${this.opts.healthMisses} probes`);
            this.dropPins(st, b);
            this.reconcilePool(st, `backend ${backendKey(b)} is down`);
          }
        }
        const data = buildArpRequest({ senderMac: st.service.vmac, senderIp: '0.0.0.0', targetIp: b.ip });
        if (targets.length > 0) this.arpAskedAt.set(b.ip, now);
        for (const sw of targets) {
          sw.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: OFPP.CONTROLLER, actions: [{ type: 'output', port: OFPP.ALL, maxLen: 0 }], data });
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Timers: migrations, drains, statistics, pin audits

  private tick(): void {
    const now = this.clock();
    const switches = this.o.controller.switches();
    this.flushSwitchEvents(now);
    this.health.tick(now);
    for (const st of this.services.values()) {
      this.slowStartStep(st, now);
      const change = st.table.tick(now, this.remembered(st));
      this.applyChange(st, change, 'migration step');
      let dpids: string[] | undefined;
      for (const b of [...st.backends.values()]) {
        if (b.state !== 'draining') continue;
        const c = st.table.countsFor(b.id);
        if (c.owned + c.leaving > 0) {
          st.slotsGoneAt.delete(b.id);
          continue;
        }
        if (!st.slotsGoneAt.has(b.id)) st.slotsGoneAt.set(b.id, now);
        dpids ??= switches.filter((sw) => this.servesSwitch(st.service, sw.dpidHex)).map((sw) => sw.dpidHex);
        // Only counts asked for after the last slot left (plus a margin for packets in flight
        // through the old buckets) can say the backend has no connection left. With no switch at
        // all, a controller that just started waits for its switches to come back and count; past
        // that grace no switch carries the service, so nothing holds the backend.
        const live = dpids.length === 0
          ? (now - this.startedAt >= SWITCH_RETURN_GRACE_MS ? 0 : null)
          : st.connectionsOf(b.id, dpids, st.slotsGoneAt.get(b.id)! + CONN_COUNT_MARGIN_MS);
        const deadline = (b.drainStartedAt ?? b.stateSince) + st.service.drainDeadlineMs;
        if (live === 0 && st.pinsOf(b.id) === 0) {
          this.finishDrain(st, b, 'its last connection is gone');
        } else if (now >= deadline) {
          this.dropPins(st, b);
          this.finishDrain(st, b, 'drain deadline passed');
        }
      }
    }
  }

  private finishDrain(st: ServiceState, b: Backend, reason: string): void {
    this.setState(st, b, 'drained', reason);
    if (b.removeWhenDrained) this.deleteBackend(st, b, 'graceful remove completed');
  }

  private dropPins(st: ServiceState, b: Backend): void {
    this.deletePins(pinCookieMatch(st.service.id, b.id));
    this.deletePins(replyCookieMatch(st.service.id, b.id)); // the learned reply entries (ovs, nat)
    st.dropPinsOf(b.id);
  }

  private deleteBackend(st: ServiceState, b: Backend, reason: string): void {
    this.lastMoveAt.delete(b.id);
    this.arpConflictReported.delete(b.id);
    this.setState(st, b, 'removed', reason);
    this.dropPins(st, b);
    st.deleteBackend(b);
    this.health.forget(b.id);
    this.o.store.deleteBackend(b.id);
    this.reconcilePool(st, `backend ${backendKey(b)} removed`);
  }

  /** Group statistics: per-slot activity (least-active slots move first) and traffic per owner. */
  private async collectStats(): Promise<void> {
    for (const sw of this.o.controller.switches()) {
      for (const st of this.services.values()) {
        if (!this.servesSwitch(st.service, sw.dpidHex)) continue;
        let parts;
        try {
          parts = await sw.multipart({ kind: 'group', groupId: groupIdFor(st.service.id) }, 5_000);
        } catch {
          continue;
        }
        for (const part of parts) {
          if (part.kind !== 'group') continue;
          for (const g of part.groups) {
            const key = `${sw.dpidHex}/${st.service.id}`;
            const prev = this.lastBucketStats.get(key);
            const now = g.buckets;
            this.lastBucketStats.set(key, now);
            if (!prev || prev.length !== now.length) continue;
            const secs = this.opts.statsIntervalMs / 1000;
            for (let i = 0; i < now.length && i < st.activity.length; i++) {
              const dp = Number(now[i].packetCount - prev[i].packetCount);
              if (dp < 0) continue;
              st.activity[i] = st.activity[i] * 0.5 + (dp / secs) * 0.5;
              const bucket = st.table.bucket(i);
              if (bucket.kind === 'forward' && dp > 0) {
                st.ledger.bucketTraffic(bucket.backend, dp, Number(now[i].byteCount - prev[i].byteCount));
              }
            }
          }
        }
      }
    }
  }

  /**
   * Asks every switch how many exact connection entries (pins and learned entries share the
   * backend's cookie) it holds per backend, with their packet and byte totals: one aggregate
   * request per backend. Drains complete on these counts; the traffic of pinned flows is their
   * deltas. Flows that ended between two counts take their last bytes with them.
   */
  private async countConnections(): Promise<void> {
    if (this.counting) return;
    this.counting = true;
    // Each aggregate request walks the switch's whole flow table: draining backends (whose drain
    // ends on the count) are counted every round, the others every ALL_COUNT_EVERY rounds.
    const everyone = this.countRounds++ % ALL_COUNT_EVERY === 0;
    try {
      const jobs: Promise<void>[] = [];
      for (const sw of this.o.controller.switches()) {
        for (const st of this.services.values()) {
          if (!this.servesSwitch(st.service, sw.dpidHex)) continue;
          for (const b of st.backends.values()) {
            if (everyone || b.state === 'draining' || !st.connections.get(sw.dpidHex)?.has(b.id)) jobs.push(this.countOne(sw, st, b.id));
          }
        }
      }
      await Promise.allSettled(jobs);
    } finally {
      this.counting = false;
    }
  }

  private async countOne(sw: SwitchHandle, st: ServiceState, backend: number): Promise<void> {
    const at = this.clock();
    const { cookie, mask } = pinCookieMatch(st.service.id, backend);
    const ticket = st.ledger.countStarted(sw.dpidHex, backend);
    const parts = await sw.multipart({
      kind: 'aggregate', body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: mask, match: [] },
    }, 5_000);
    const agg = parts.find((p) => p.kind === 'aggregate');
    if (!agg || agg.kind !== 'aggregate' || !st.backends.has(backend)) return;
    let m = st.connections.get(sw.dpidHex);
    if (!m) st.connections.set(sw.dpidHex, (m = new Map()));
    st.ledger.countDone(sw.dpidHex, backend, ticket, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount });
    m.set(backend, { flows: agg.flowCount, packets: agg.packetCount, bytes: agg.byteCount, at });
  }

  private async auditPins(): Promise<void> {
    for (const sw of this.o.controller.switches()) await this.auditPinsOn(sw);
  }

  /** Rebuilds the pin registry of one switch from its flow table (cookies say service and backend). */
  private async auditPinsOn(sw: SwitchHandle): Promise<void> {
    if (this.auditing.has(sw.dpidHex)) return;
    const added = new Map<number, FlowTable>();
    for (const id of this.byId.keys()) added.set(id, new FlowTable(16));
    this.auditing.set(sw.dpidHex, added);
    try {
      const parts = await sw.multipart({
        kind: 'flow',
        body: { tableId: OFPTT_ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: COOKIE_KIND_PIN << 56n, cookieMask: PIN_KIND_MASK, match: [] },
      }, 30_000);
      const dumped = new Map<number, FlowTable>();
      for (const part of parts) {
        if (part.kind !== 'flow') continue;
        for (const f of part.flows) {
          const c = parseCookie(f.cookie);
          const client = clientOf(f.match);
          if (c.kind !== 'pin' || !client) continue;
          let m = dumped.get(c.serviceId);
          if (!m) dumped.set(c.serviceId, (m = new FlowTable()));
          m.set(client.srcIp, client.srcPort, c.backendId);
        }
      }
      const now = this.clock();
      for (const [id, st] of this.byId) {
        st.replacePins(sw.dpidHex, dumped.get(id) ?? new FlowTable(), added.get(id) ?? new FlowTable(16), now);
      }
    } catch (err) {
      this.log?.info({ dpid: sw.dpidHex, err: (err as Error).message }, 'pin audit failed');
    } finally {
      this.auditing.delete(sw.dpidHex);
    }
  }

  // ------------------------------------------------------------------------------------------
  // LbControl
  //
  // Every change runs in one store transaction: its rows and its events are stored together or
  // not at all, whatever stops the process (a kill -9 between two writes included).

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
    return [...this.services.values()].sort((a, b) => a.service.id - b.service.id).map((st) => this.serviceView(st));
  }

  getService(name: string): ServiceView {
    return this.serviceView(this.svc(name));
  }

  addService(input: ServiceInput): ServiceView {
    return this.o.store.transaction(() => {
      const spec = validateServiceInput(input);
      if (this.services.has(spec.name)) throw new LbError('conflict', `service ${spec.name} already exists`);
      for (const st of this.services.values()) {
        const s = st.service;
        if (s.vip === spec.vip && s.proto === spec.proto && s.port === spec.port) {
          throw new LbError('conflict', `${spec.vip}:${spec.port}/${spec.proto} is already service ${s.name}`);
        }
      }
      const id = this.o.store.nextServiceId();
      const service: Service = { ...spec, id, vmac: serviceVmac(id), createdAt: this.clock() };
      const st = new ServiceState(service, this.newTable(service));
      this.o.store.transaction(() => {
        this.o.store.insertService(service);
        this.o.store.saveSlotTable(service.name, st.table.snapshot());
      });
      this.services.set(service.name, st);
      this.byId.set(id, st);
      this.claimService(service);
      this.emit({ type: 'service_added', service: service.name });
      this.syncService(st);
      return this.serviceView(st);
    });
  }

  updateService(name: string, settings: ServiceSettings): ServiceView {
    return this.o.store.transaction(() => {
      const st = this.svc(name);
      if (typeof settings !== 'object' || settings === null) throw new LbError('invalid', 'the settings must be an object');
      const s = st.service;
      // A health change is relative to the service's current check (only the fields given change).
      const { health: healthInput, ...rest } = settings;
      const health = healthInput === undefined ? s.health : validateHealth(healthInput, s.proto, s.health);
      const spec = validateServiceInput({ ...s, ...rest, health });
      const next: Service = { ...s, ...spec, id: s.id, vmac: s.vmac, createdAt: s.createdAt };
      if (JSON.stringify(next) === JSON.stringify(s)) return this.serviceView(st);
      this.o.store.updateService(next);
      st.service = next;
      if (JSON.stringify(next.health) !== JSON.stringify(s.health)) {
        this.health.reset(st);
        if (next.health.slowStartMs === 0) st.slowStart.clear();
        this.emit({ type: 'service_health', service: name, health: next.health });
      }
      // Windows, query-slot limit and tracking live in the slot table: rebuild it from its snapshot.
      st.table = this.newTable(next, st.table.snapshot());
      st.invalidateTargets(); // pin templates carry the idle timeouts
      this.reconcilePool(st, 'service settings changed');
      this.syncAll(); // a switch left out by `switches` loses the service's flows
      return this.serviceView(st);
    });
  }

  removeService(name: string): void {
    return this.o.store.transaction(() => {
      const st = this.svc(name);
      this.o.store.deleteService(name);
      this.services.delete(name);
      this.byId.delete(st.service.id);
      this.deletePins(PIN_COOKIE_MASK_FOR_SERVICE(st.service.id));
      this.deletePins(replyCookieMaskForService(st.service.id));
      // Its flows and group go with its reconciler owner; services sharing its VIP take over the
      // ARP rule at the next sync.
      void this.o.controller.reconciler.release(ownerOf(st.service.id)).then(() => this.syncAll());
      this.emit({ type: 'service_removed', service: name });
    });
  }

  listBackends(service: string): BackendView[] {
    const st = this.svc(service);
    return [...st.backends.values()].map((b) => this.backendView(st, b));
  }

  addBackend(service: string, spec: BackendSpec): BackendView {
    return this.o.store.transaction(() => {
      const st = this.svc(service);
      const v = validateBackendSpec(spec, st.service.mode);
      const key = backendKey(v);
      if (st.byKey.has(key)) throw new LbError('conflict', `service ${service} already has backend ${key}`);
      if (v.ip === st.service.vip) throw new LbError('invalid', `backend ${key} is the service's own VIP`);
      const now = this.clock();
      const b: Backend = {
        ...v, id: this.o.store.nextBackendId(), service, state: v.mac ? 'active' : 'resolving', stateSince: now,
        removeWhenDrained: false,
      };
      this.o.store.insertBackend(b);
      st.addBackend(b);
      this.emit({ type: 'backend_added', service, backend: key });
      if (b.state === 'active') this.reconcilePool(st, `backend ${key} added`);
      else this.probe(true);
      return this.backendView(st, b);
    });
  }

  drainBackend(service: string, key: string): BackendView {
    return this.o.store.transaction(() => {
      const st = this.svc(service);
      const b = this.backendOf(st, key);
      matchOn(b.state)
        .with('active', () => {
          this.setState(st, b, 'draining', 'drain requested');
          this.reconcilePool(st, `drain of ${key}`);
        })
        .with('resolving', 'down', () => this.setState(st, b, 'drained', 'drain requested (backend had no flows)'))
        .with('draining', 'drained', () => undefined)
        .with('removed', () => {
          throw new LbError('conflict', `backend ${key} is being removed`);
        })
        .exhaustive();
      return this.backendView(st, b);
    });
  }

  enableBackend(service: string, key: string): BackendView {
    return this.o.store.transaction(() => {
      const st = this.svc(service);
      const b = this.backendOf(st, key);
      if (b.removeWhenDrained) throw new LbError('conflict', `backend ${key} is being removed`);
      if (b.state === 'draining' || b.state === 'drained') {
        const known = st.locations.has(b.id);
        this.setState(st, b, known ? 'active' : 'resolving', 'enabled');
        if (known) this.reconcilePool(st, `${key} enabled`);
        else this.probe(true);
      }
      return this.backendView(st, b);
    });
  }

  setWeight(service: string, key: string, weight: number): BackendView {
    return this.o.store.transaction(() => {
      const st = this.svc(service);
      const b = this.backendOf(st, key);
      const v = validateBackendSpec({ ip: b.ip, weight }, 'nat').weight;
      if (v !== b.weight) {
        const from = b.weight;
        b.weight = v;
        this.o.store.updateBackend(b);
        this.emit({ type: 'backend_weight', service, backend: key, from, to: v });
        this.reconcilePool(st, `weight of ${key} ${from} → ${v}`);
      }
      return this.backendView(st, b);
    });
  }

  removeBackend(service: string, key: string, opts: { now?: boolean } = {}): BackendView {
    return this.o.store.transaction(() => {
      const st = this.svc(service);
      const b = this.backendOf(st, key);
      if (opts.now || b.state === 'drained' || b.state === 'resolving' || b.state === 'down') {
        const view = this.backendView(st, b);
        this.deleteBackend(st, b, opts.now ? 'removed now' : 'removed');
        return { ...view, state: 'removed' };
      }
      b.removeWhenDrained = true;
      this.o.store.updateBackend(b);
      if (b.state === 'active') {
        this.setState(st, b, 'draining', 'remove requested');
        this.reconcilePool(st, `remove of ${key}`);
      }
      return this.backendView(st, b);
    });
  }

  status(): StatusView {
    let migrationsActive = 0;
    const c = { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0 };
    const services = [...this.services.values()].map((st) => {
      const migrating = st.table.migrations().length;
      migrationsActive += migrating;
      c.packetIns += st.counters.packetIns;
      c.pinsInstalled += st.counters.pinsInstalled;
      c.pinsRemoved += st.counters.pinsRemoved;
      let pins = 0;
      for (const n of st.pinCounts.values()) pins += n;
      let connections = 0;
      for (const b of st.backends.keys()) connections += st.connectionsOf(b) ?? 0;
      const s = st.service;
      return {
        name: s.name, vip: s.vip, port: s.port, proto: s.proto, mode: s.mode,
        backends: st.backends.size,
        activeBackends: [...st.backends.values()].filter((b) => b.state === 'active').length,
        migrating, pins, connections,
      };
    });
    return {
      startedAt: this.startedAt,
      switches: this.o.controller.switches().map((sw) => ({
        dpid: sw.dpidHex, version: sw.version, address: sw.remote, connectedAt: sw.connectedAt.getTime(),
        ports: [...sw.ports.values()].map((p) => ({ portNo: p.portNo, name: p.name, up: (p.state & 1) === 0 && (p.config & 1) === 0 })),
        queueDepth: sw.queueDepth(),
        profile: this.profileOf(sw), profileForced: this.forcedProfiles.has(sw.dpidHex),
      })),
      services,
      counters: { ...c, migrationsActive, slotsMoved: this.slotsMoved },
      monitor: this.health.monitorView(),
    };
  }

  eventsSince(afterId: number, limit?: number): StoredEvent[] {
    return this.o.store.eventsSince(afterId, limit);
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private serviceView(st: ServiceState): ServiceView {
    const t = st.table;
    const owners: (string | null)[] = [];
    const querySlots: number[] = [];
    for (let i = 0; i < t.size; i++) {
      owners.push(this.keyOf(st, t.owner(i)));
      if (t.bucket(i).kind === 'query') querySlots.push(i);
    }
    return {
      ...st.service,
      backends: [...st.backends.values()].map((b) => this.backendView(st, b)),
      slotOwners: owners,
      querySlots,
      migrations: t.migrations().map((m) => ({
        slot: m.slot, from: this.keyOf(st, m.from), to: this.keyOf(st, m.to), since: m.startedAt, phase: m.phase,
      })),
      counters: { ...st.counters },
      failedOn: Object.fromEntries(st.failedOn),
    };
  }

  private backendView(st: ServiceState, b: Backend): BackendView {
    const c = st.table.countsFor(b.id);
    return {
      ...b, key: backendKey(b), slots: c.owned, slotsIncoming: c.incoming, pins: st.pinsOf(b.id),
      connections: st.connectionsOf(b.id) ?? 0,
      ...trafficView(st.ledger.totals(b.id)),
      ...(st.locations.get(b.id) ? { resolvedMac: st.locations.get(b.id)?.mac } : {}),
      health: this.health.view(st, b),
    };
  }
}

/** The client side (source address and port) of a pin's match. */
function trafficView(t: BackendTotals): Pick<BackendView, 'traffic' | 'connectionsOpened'> {
  return { traffic: { packets: t.packets, bytes: t.bytes }, connectionsOpened: t.opened };
}

/** The client side (source address and port) of a pin's match. */
function clientOf(m: Match): { srcIp: number; srcPort: number } | undefined {
  const ip = matchValue(m, 'ipv4_src');
  const port = matchValue(m, 'tcp_src') ?? matchValue(m, 'udp_src');
  if (typeof ip !== 'string' || typeof port !== 'number') return undefined;
  const n = parseIpv4(ip);
  return n === null ? undefined : { srcIp: n, srcPort: port };
}
