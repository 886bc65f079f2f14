// An in-memory LbControl: simple validation, states and slot sharing, for unit tests of the
// management server and CLI only. The real load balancer lives in apps/lb.
import { isIPv4 } from 'node:net';
import {
  LbError, type BackendView, type LbControl, type ProfileSetting, type ServiceInput, type ServiceSettings, type ServiceView,
  type StatusView,
} from '../../apps/lb/control.js';
import { validateHealth } from '../../apps/lb/health.js';
import {
  SERVICE_DEFAULTS, SLOTS_MAX, SLOTS_MIN, WEIGHT_MAX, backendKey, takesNewFlows,
  type BackendSpec, type BackendState, type LbEvent, type StoredEvent,
} from '../../apps/lb/model.js';

export interface MemLbOptions {
  /** A drain completes this long after it starts (default 0: at once). */
  drainMs?: number;
}

export class MemLb implements LbControl {
  private readonly services = new Map<string, ServiceView>();
  private readonly events: StoredEvent[] = [];
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  private nextServiceId = 1;
  private nextBackendId = 1;
  readonly counters = { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0, migrationsActive: 0, slotsMoved: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: MemLbOptions = {}) {}

  close(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  listServices(): ServiceView[] {
    return [...this.services.values()].map((s) => structuredClone(s));
  }

  getService(name: string): ServiceView {
    return structuredClone(this.svc(name));
  }

  addService(input: ServiceInput): ServiceView {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(input.name)) throw new LbError('invalid', `bad service name "${input.name}"`);
    if (this.services.has(input.name)) throw new LbError('conflict', `service ${input.name} already exists`);
    if (!isIPv4(input.vip)) throw new LbError('invalid', `bad VIP "${input.vip}": expected an IPv4 address`);
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new LbError('invalid', `bad port ${input.port}: expected 1-65535`);
    const slots = input.slots ?? SERVICE_DEFAULTS.slots;
    if (slots < SLOTS_MIN || slots > SLOTS_MAX) throw new LbError('invalid', `bad slot count ${slots}: expected ${SLOTS_MIN}-${SLOTS_MAX}`);
    const health = validateHealth(input.health, input.proto ?? 'tcp');
    const svc: ServiceView = {
      ...structuredClone(SERVICE_DEFAULTS),
      ...input,
      health,
      slots,
      id: this.nextServiceId++,
      vmac: '02:00:00:00:00:01',
      createdAt: Date.now(),
      failedOn: {},
      backends: [],
      slotOwners: new Array<string | null>(slots).fill(null),
      querySlots: [],
      migrations: [],
      counters: { packetIns: 0, pinsInstalled: 0, pinsRemoved: 0 },
    };
    this.services.set(svc.name, svc);
    this.emit({ type: 'service_added', service: svc.name });
    return structuredClone(svc);
  }

  updateService(name: string, settings: ServiceSettings): ServiceView {
    const svc = this.svc(name);
    const { health, ...rest } = settings;
    Object.assign(svc, rest);
    if (health !== undefined) {
      svc.health = validateHealth(health, svc.proto, svc.health);
      this.emit({ type: 'service_health', service: name, health: svc.health });
    }
    return structuredClone(svc);
  }

  removeService(name: string): void {
    this.svc(name);
    this.services.delete(name);
    this.emit({ type: 'service_removed', service: name });
  }

  listBackends(service: string): BackendView[] {
    return structuredClone(this.svc(service).backends);
  }

  addBackend(service: string, spec: BackendSpec): BackendView {
    const svc = this.svc(service);
    if (!isIPv4(spec.ip)) throw new LbError('invalid', `bad backend address "${spec.ip}": expected an IPv4 address`);
    if (svc.mode === 'nat' && spec.port === undefined) throw new LbError('invalid', 'a nat-mode backend needs a port (IP:PORT)');
    if (spec.weight < 0 || spec.weight > WEIGHT_MAX) throw new LbError('invalid', `bad weight ${spec.weight}: expected 0-${WEIGHT_MAX}`);
    const key = backendKey(spec);
    if (svc.backends.some((b) => b.key === key)) throw new LbError('conflict', `service ${service} already has backend ${key}`);
    const b: BackendView = {
      ...spec, key, id: this.nextBackendId++, service, state: 'active', stateSince: Date.now(), removeWhenDrained: false,
      slots: 0, slotsIncoming: 0, pins: 0, connections: 0, traffic: { packets: 0, bytes: 0 }, connectionsOpened: 0,
      health: { check: svc.health.type, status: 'up', lastResult: null, lastOk: null, lastCheckAt: null, lastChange: Date.now(), rttMs: null, good: 0, bad: 0 },
    };
    svc.backends.push(b);
    this.emit({ type: 'backend_added', service, backend: key });
    this.rebalance(svc);
    return structuredClone(b);
  }

  drainBackend(service: string, key: string): BackendView {
    const svc = this.svc(service);
    const b = this.backend(svc, key);
    if (b.state === 'draining' || b.state === 'drained') return structuredClone(b);
    this.setState(svc, b, 'draining');
    this.rebalance(svc);
    this.later(() => {
      if (b.state !== 'draining') return;
      this.setState(svc, b, 'drained');
      if (b.removeWhenDrained) this.deleteBackend(svc, b);
    });
    return structuredClone(b);
  }

  enableBackend(service: string, key: string): BackendView {
    const svc = this.svc(service);
    const b = this.backend(svc, key);
    b.removeWhenDrained = false;
    if (b.state !== 'active') this.setState(svc, b, 'active');
    this.rebalance(svc);
    return structuredClone(b);
  }

  setWeight(service: string, key: string, weight: number): BackendView {
    const svc = this.svc(service);
    const b = this.backend(svc, key);
    if (!Number.isInteger(weight) || weight < 0 || weight > WEIGHT_MAX) throw new LbError('invalid', `bad weight ${weight}: expected 0-${WEIGHT_MAX}`);
    this.emit({ type: 'backend_weight', service, backend: key, from: b.weight, to: weight });
    b.weight = weight;
    this.rebalance(svc);
    return structuredClone(b);
  }

  removeBackend(service: string, key: string, opts: { now?: boolean } = {}): BackendView {
    const svc = this.svc(service);
    const b = this.backend(svc, key);
    if (opts.now || b.state === 'drained') {
      this.deleteBackend(svc, b);
      return structuredClone(b);
    }
    b.removeWhenDrained = true;
    this.drainBackend(service, key);
    return structuredClone(b);
  }

  setSwitchProfile(dpid: string, profile: ProfileSetting): { dpid: string; profile: ProfileSetting } {
    if (!/^[0-9a-f]{1,16}$/i.test(dpid)) throw new LbError('invalid', `bad datapath id "${dpid}"`);
    return { dpid: dpid.toLowerCase().padStart(16, '0'), profile };
  }

  status(): StatusView {
    return {
      startedAt: 0,
      switches: [],
      services: [...this.services.values()].map((s) => ({
        name: s.name, vip: s.vip, port: s.port, proto: s.proto, mode: s.mode,
        backends: s.backends.length, activeBackends: s.backends.filter((b) => b.state === 'active').length,
        migrating: s.migrations.length, pins: s.backends.reduce((n, b) => n + b.pins, 0),
        connections: s.backends.reduce((n, b) => n + b.connections, 0),
      })),
      counters: { ...this.counters },
      monitor: { ip: null, mac: '' },
    };
  }

  eventsSince(afterId: number, limit = 100): StoredEvent[] {
    return this.events.filter((e) => e.id > afterId).slice(0, limit);
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Test hook: pretend traffic reached a backend. */
  addTraffic(service: string, key: string, packets: number, bytes: number): void {
    const b = this.backend(this.svc(service), key);
    b.traffic.packets += packets;
    b.traffic.bytes += bytes;
  }

  private svc(name: string): ServiceView {
    const s = this.services.get(name);
    if (!s) throw new LbError('not_found', `no service named ${name}`);
    return s;
  }

  private backend(svc: ServiceView, key: string): BackendView {
    const b = svc.backends.find((x) => x.key === key);
    if (!b) throw new LbError('not_found', `service ${svc.name} has no backend ${key}`);
    return b;
  }

  private deleteBackend(svc: ServiceView, b: BackendView): void {
    this.setState(svc, b, 'removed');
    svc.backends = svc.backends.filter((x) => x !== b);
    this.rebalance(svc);
  }

  private setState(svc: ServiceView, b: BackendView, to: BackendState): void {
    this.emit({ type: 'backend_state', service: svc.name, backend: b.key, from: b.state, to });
    b.state = to;
    b.stateSince = Date.now();
  }

  /** Round-robin by weight: good enough to give the views believable slot counts. */
  private rebalance(svc: ServiceView): void {
    const live = svc.backends.filter(takesNewFlows);
    const total = live.reduce((n, b) => n + b.weight, 0);
    const owners: (string | null)[] = [];
    if (total > 0) {
      const counts = live.map((b) => Math.floor((b.weight / total) * svc.slots));
      let rest = svc.slots - counts.reduce((a, c) => a + c, 0);
      for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]!++;
      live.forEach((b, i) => { for (let k = 0; k < counts[i]!; k++) owners.push(b.key); });
    }
    while (owners.length < svc.slots) owners.push(null);
    const moved = owners.filter((o, i) => o !== svc.slotOwners[i]).length;
    this.counters.slotsMoved += moved;
    svc.slotOwners = owners;
    for (const b of svc.backends) b.slots = owners.filter((o) => o === b.key).length;
  }

  private later(fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.opts.drainMs ?? 0);
    this.timers.add(t);
  }

  private emit(event: LbEvent): void {
    const e: StoredEvent = { id: this.events.length + 1, at: Date.now(), event };
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }
}
