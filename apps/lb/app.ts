// The load balancer app's shell: the I/O around the pure core (core/lb-core.ts). It holds the
// controller and its switch handles, the store and the timers; it turns runtime callbacks, timer
// ticks and operator commands into core calls with the time, and carries out what the core
// returns (core/effects.ts): messages and requests to switches, desired state to the reconciler,
// rows and events to the store, events to listeners. Replies come back to the core as events.

import { match as matchOn } from 'ts-pattern';
import type { App, SwitchHandle } from '../../controller/app.js';
import type { Controller } from '../../controller/index.js';
import type { Logger } from '../../controller/log.js';
import type { LbStore } from './store.js';
import { inPortOf } from '../../openflow/oxm.js';
import type { MessageOf } from '../../openflow/types.js';
import type {
  BackendView, LbControl, ProfileSetting, ServiceInput, ServiceSettings, ServiceView, StatusView,
} from './control.js';
import type { BackendSpec, StoredEvent } from './model.js';
import type { HealthMonitor } from './core/health-monitor.js';
import { LbCore, type QueryAnswer, type Result } from './core/lb-core.js';
import type { Effects, StoreChange, SwitchAction } from './core/effects.js';
import { runHttpCheck } from './http-check.js';

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

export class LoadBalancer implements LbControl, App {
  readonly name = 'lb';
  private readonly core: LbCore;
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly clock: () => number;
  private readonly ms: Required<Pick<LoadBalancerOptions, 'tickMs' | 'resolveIntervalMs' | 'statsIntervalMs' | 'pinAuditIntervalMs' | 'connCountIntervalMs' | 'parkTimeoutMs' | 'counterSaveIntervalMs'>>;

  constructor(private readonly o: LoadBalancerOptions) {
    this.clock = o.clock ?? Date.now;
    this.ms = {
      tickMs: o.tickMs ?? 50,
      resolveIntervalMs: o.resolveIntervalMs ?? 500,
      statsIntervalMs: o.statsIntervalMs ?? 2_000,
      pinAuditIntervalMs: o.pinAuditIntervalMs ?? 10_000,
      connCountIntervalMs: o.connCountIntervalMs ?? 1_000,
      parkTimeoutMs: o.parkTimeoutMs ?? 3_000,
      counterSaveIntervalMs: o.counterSaveIntervalMs ?? 10_000,
    };
    const store = o.store;
    this.core = new LbCore({
      healthIntervalMs: o.healthIntervalMs ?? 5_000,
      healthMisses: o.healthMisses ?? 4,
      statsIntervalMs: this.ms.statsIntervalMs,
      finIdleTimeout: o.finIdleTimeout ?? 2,
      random: Math.random,
      ...(o.monitor ? { monitor: o.monitor } : {}),
    }, { nextServiceId: () => store.nextServiceId(), nextBackendId: () => store.nextBackendId() }, this.clock());
    const services = store.listServices().map((service) => ({
      service, backends: store.listBackends(service.name), ...optional('slotTable', store.loadSlotTable(service.name)),
    }));
    this.apply(this.core.restore({
      services, switchProfiles: store.listSwitchProfiles(),
      backendCounters: store.loadBackendCounters(), serviceCounters: store.loadServiceCounters(),
    }, this.clock()));
  }

  /** Health checks (core/health-monitor.ts). */
  get health(): HealthMonitor {
    return this.core.health;
  }

  // ------------------------------------------------------------------------------------------
  // Carrying out effects

  /** Stores rows and events (one transaction), tells listeners, then does the switch and runtime
   * actions in order. Resolves when every desired state given to the reconciler and every request
   * (with what its reply led to) has settled. */
  private apply(fx: Effects): Promise<void> {
    if (fx.empty) return Promise.resolve();
    const store = this.o.store;
    const stored: StoredEvent[] = [];
    if (fx.store.length + fx.events.length > 0) {
      const now = this.clock();
      store.transaction(() => {
        for (const c of fx.store) this.write(c);
        for (const e of fx.events) stored.push(store.appendEvent(e, now));
      });
    }
    for (const e of stored) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.o.log?.warn({ err: (err as Error).message }, 'event listener failed');
        }
      }
    }
    for (const l of fx.logs) this.o.log?.[l.level](l.fields, l.msg);
    // Claims first: the desired state that follows is checked against the owner's cookie space.
    for (const r of fx.runtime) if (r.kind === 'claim') this.o.controller.reconciler.claim(r.owner, r.space);
    const settled: Promise<void>[] = [];
    for (const a of fx.switches) {
      const p = this.act(a);
      if (p) settled.push(p);
    }
    for (const r of fx.runtime) {
      matchOn(r)
        .with({ kind: 'claim' }, () => undefined)
        .with({ kind: 'release' }, (c) => void this.o.controller.reconciler.release(c.owner).then(() => this.apply(this.core.syncAll())))
        .with({ kind: 'http_check' }, (c) => runHttpCheck(c.check, (outcome) => void this.apply(this.core.httpCheckDone(c.check.token, outcome, this.clock()))))
        .exhaustive();
    }
    return settled.length === 0 ? Promise.resolve() : Promise.all(settled).then(() => undefined);
  }

  private write(c: StoreChange): void {
    const store = this.o.store;
    matchOn(c)
      .with({ kind: 'insert_service' }, (x) => store.insertService(x.service))
      .with({ kind: 'update_service' }, (x) => store.updateService(x.service))
      .with({ kind: 'delete_service' }, (x) => void store.deleteService(x.name))
      .with({ kind: 'insert_backend' }, (x) => store.insertBackend(x.backend))
      .with({ kind: 'update_backend' }, (x) => store.updateBackend(x.backend))
      .with({ kind: 'delete_backend' }, (x) => void store.deleteBackend(x.id))
      .with({ kind: 'save_slot_table' }, (x) => store.saveSlotTable(x.service, x.snapshot))
      .with({ kind: 'set_switch_profile' }, (x) => store.setSwitchProfile(x.dpid, x.profile))
      .with({ kind: 'save_counters' }, (x) => store.saveCounters(x.backends, x.services, x.at))
      .exhaustive();
  }

  private act(a: SwitchAction): Promise<void> | undefined {
    const dpidHex = a.dpid.toString(16).padStart(16, '0');
    return matchOn(a)
      .with({ kind: 'send' }, (x) => void this.o.controller.switch(x.dpid)?.send(x.msg))
      .with({ kind: 'desired' }, (x) => this.o.controller.reconciler.setDesired(x.owner, x.dpid, x.desired).then(
        () => { if (x.serviceId !== null) void this.apply(this.core.pipelineResult(x.serviceId, dpidHex, undefined)); },
        (err: Error) => {
          if (x.serviceId !== null) void this.apply(this.core.pipelineResult(x.serviceId, dpidHex, err.message));
          else this.o.log?.warn({ dpid: dpidHex, err: err.message }, 'a switch refused the health monitor\'s rules');
        },
      ))
      .with({ kind: 'request' }, (x) => {
        const sw = this.o.controller.switch(x.dpid);
        if (!sw) {
          void this.apply(this.core.requestFailed(dpidHex, x.purpose, 'switch not connected'));
          return undefined;
        }
        // (a throw becomes a rejection: every request the core counts on gets an answer)
        return new Promise<Awaited<ReturnType<SwitchHandle['multipart']>>>((resolve) => resolve(sw.multipart(x.body, x.timeoutMs))).then(
          (parts) => this.apply(this.core.reply(dpidHex, x.purpose, parts, this.clock())),
          (err: Error) => this.apply(this.core.requestFailed(dpidHex, x.purpose, err.message)),
        ).catch((err: Error) => this.o.log?.error({ err: err.message }, 'load balancer reply handling failed'));
      })
      .exhaustive();
  }

  /** An operator command: the core's decision and its effects in one store transaction, so its
   * rows and events are stored together or not at all (a kill -9 between two writes included). */
  private command<T>(fn: (now: number) => Result<T>): T {
    return this.o.store.transaction(() => {
      const r = fn(this.clock());
      void this.apply(r.effects);
      return r.value;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  start(): void {
    const every = (ms: number, fn: (now: number) => Effects) => {
      const t = setInterval(() => {
        try {
          void this.apply(fn(this.clock()));
        } catch (err) {
          this.o.log?.error({ err: (err as Error).message }, 'load balancer timer failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.ms.tickMs, (now) => this.core.tick(now));
    every(this.ms.resolveIntervalMs, (now) => this.core.probe(now));
    every(this.ms.statsIntervalMs, () => this.core.collectStats());
    every(this.ms.pinAuditIntervalMs, () => this.core.auditPins());
    every(this.ms.connCountIntervalMs, (now) => this.core.countConnections(now));
    every(this.ms.counterSaveIntervalMs, (now) => this.core.saveCounters(now));
    this.o.controller.use(this);
  }

  stop(): void {
    if (this.timers.length > 0) void this.apply(this.core.saveCounters(this.clock()));
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** One round of connection counts (the timer's work), settled when every switch answered. */
  countConnections(): Promise<void> {
    return this.apply(this.core.countConnections(this.clock()));
  }

  /** Before the controller goes away: parked query slots on `openflow13` switches (LbCore.park),
   * waiting at most parkTimeoutMs for the switches to confirm them. */
  async park(): Promise<void> {
    this.stop();
    const settled = this.apply(this.core.park());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled.catch(() => undefined), new Promise<void>((r) => { timer = setTimeout(r, this.ms.parkTimeoutMs); })]);
    clearTimeout(timer);
  }

  profileOf(sw: SwitchHandle): ReturnType<LbCore['profileOf']> {
    return this.core.profileOf(sw.dpidHex, sw.capabilities.profile);
  }

  // ------------------------------------------------------------------------------------------
  // App callbacks

  switchUp(sw: SwitchHandle): void {
    void this.apply(this.core.switchUp({
      dpid: sw.dpid, dpidHex: sw.dpidHex, version: sw.version, detectedProfile: sw.capabilities.profile, groupTypes: sw.capabilities.groupTypes,
    }, this.clock()));
  }

  switchDown(sw: SwitchHandle): void {
    if (this.o.controller.switch(sw.dpid)) return; // replaced by a newer connection
    void this.apply(this.core.switchDown(sw.dpidHex, this.clock()));
  }

  switchGone(dpid: bigint): void {
    this.core.switchGone(dpid.toString(16).padStart(16, '0'));
  }

  /** Query-slot packets (the hot path) are answered from the core's reused answer; the rest are events. */
  packetIn(sw: SwitchHandle, msg: MessageOf<'packet_in'>): void {
    const data = msg.data;
    if (data.length < 14) return;
    const inPort = inPortOf(msg.match);
    const now = this.clock();
    const a = this.core.queryPacket(sw.dpidHex, sw.version, data, inPort, now);
    if (a.kind === 'not_query') {
      void this.apply(this.core.packetIn(sw.dpidHex, data, inPort, now));
      return;
    }
    if (a.kind === 'drop') return;
    this.core.queryAnswered(sendAnswer(sw, a));
  }

  portStatus(sw: SwitchHandle, msg: MessageOf<'port_status'>): void {
    void this.apply(this.core.portStatus(sw.dpidHex, msg, this.clock()));
  }

  /** A switch rejected a fire-and-forget message: logged (rate-limited per switch) and, at most
   * once a second per switch, an event. */
  error(sw: SwitchHandle, msg: MessageOf<'error'>): void {
    const what = `${String(msg.errType)}/${msg.codeName ?? msg.code}`;
    this.o.controller.warnLimit.warn(sw.dpidHex, { component: 'lb', dpid: sw.dpidHex, error: what, xid: msg.xid }, 'switch rejected a message');
    void this.apply(this.core.switchError(sw.dpidHex, what, this.clock()));
  }

  flowRemoved(sw: SwitchHandle, msg: MessageOf<'flow_removed'>): void {
    this.core.flowRemoved(sw.dpidHex, msg);
  }

  // ------------------------------------------------------------------------------------------
  // LbControl

  setSwitchProfile(dpid: string, profile: ProfileSetting): { dpid: string; profile: ProfileSetting } {
    return this.command(() => this.core.setSwitchProfile(dpid, profile));
  }

  listServices(): ServiceView[] {
    return this.core.listServices();
  }

  getService(name: string): ServiceView {
    return this.core.getService(name);
  }

  addService(input: ServiceInput): ServiceView {
    return this.command((now) => this.core.addService(input, now));
  }

  updateService(name: string, settings: ServiceSettings): ServiceView {
    return this.command((now) => this.core.updateService(name, settings, now));
  }

  removeService(name: string): void {
    this.command(() => ({ value: undefined, effects: this.core.removeService(name) }));
  }

  listBackends(service: string): BackendView[] {
    return this.core.listBackends(service);
  }

  addBackend(service: string, spec: BackendSpec): BackendView {
    return this.command((now) => this.core.addBackend(service, spec, now));
  }

  drainBackend(service: string, key: string): BackendView {
    return this.command((now) => this.core.drainBackend(service, key, now));
  }

  enableBackend(service: string, key: string): BackendView {
    return this.command((now) => this.core.enableBackend(service, key, now));
  }

  setWeight(service: string, key: string, weight: number): BackendView {
    return this.command((now) => this.core.setWeight(service, key, weight, now));
  }

  removeBackend(service: string, key: string, opts: { now?: boolean } = {}): BackendView {
    return this.command((now) => this.core.removeBackend(service, key, opts, now));
  }

  status(): StatusView {
    return {
      ...this.core.status(),
      switches: this.o.controller.switches().map((sw) => ({
        dpid: sw.dpidHex, version: sw.version, address: sw.remote, connectedAt: sw.connectedAt.getTime(),
        ports: [...sw.ports.values()].map((p) => ({ portNo: p.portNo, name: p.name, up: (p.state & 1) === 0 && (p.config & 1) === 0 })),
        queueDepth: sw.queueDepth(),
        profile: this.profileOf(sw), profileForced: this.core.profileForced(sw.dpidHex),
      })),
    };
  }

  eventsSince(afterId: number, limit?: number): StoredEvent[] {
    return this.o.store.eventsSince(afterId, limit);
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Sends a query answer; false when the switch's queue was full (the pin is then forgotten). */
function sendAnswer(sw: SwitchHandle, a: QueryAnswer): boolean {
  if (a.kind === 'prebuilt') {
    const sent = !a.install || sw.sendPrebuilt(a.pinLength, a.fillPin);
    if (sent) sw.sendPrebuilt(a.outLength, a.fillOut);
    return sent;
  }
  return a.messages.length === 1 ? sw.send(a.messages[0]) : sw.sendBatch(a.messages);
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
