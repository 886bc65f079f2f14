// Operator controls and the views they read. Each control validates first and throws LbError
// before changing anything; the shell runs it and its effects in one store transaction.

import { match as matchOn } from 'ts-pattern';
import { SWITCH_PROFILES } from '../../../controller/capabilities.js';
import { PIN_COOKIE_MASK_FOR_SERVICE, replyCookieMaskForService, serviceVmac } from '../cookies.js';
import type { BackendView, ProfileSetting, ServiceInput, ServiceSettings, ServiceView, StatusView } from '../control.js';
import { LbError } from '../errors.js';
import { validateHealth } from '../health.js';
import { backendKey, type Backend, type BackendSpec, type Service } from '../model.js';
import { ServiceState } from '../service-state.js';
import { parseBackendKey, validateBackendSpec, validateServiceInput } from '../validation.js';
import { probeInto } from './arp.js';
import type { Effects } from './effects.js';
import { deleteBackend, reconcilePool } from './pool.js';
import { begin, emit, newTable, saveTable, setState, storeBackend, type CoreState } from './state.js';
import { claimService, deletePins, ownerOf, syncAllInto, syncService, syncSwitch } from './sync.js';
import { backendView, serviceView, servicesStatus } from './views.js';

/** A control's answer and what it takes to carry it out. */
export interface Result<T> { value: T; effects: Effects }

function svc(s: CoreState, name: string): ServiceState {
  const st = s.services.get(name);
  if (!st) throw new LbError('not_found', `no service named ${JSON.stringify(name)}`);
  return st;
}

function backendOf(st: ServiceState, key: string): Backend {
  const k = parseBackendKey(key);
  const b = st.byKey.get(backendKey(k));
  if (!b) throw new LbError('not_found', `service ${st.service.name} has no backend ${key}`);
  return b;
}

export function listServices(s: CoreState): ServiceView[] {
  return [...s.services.values()].sort((a, b) => a.service.id - b.service.id).map((st) => serviceView(st, s.health));
}

export function getService(s: CoreState, name: string): ServiceView {
  return serviceView(svc(s, name), s.health);
}

export function addService(s: CoreState, input: ServiceInput, now: number): Result<ServiceView> {
  const fx = begin(s, now);
  const spec = validateServiceInput(input);
  if (s.services.has(spec.name)) throw new LbError('conflict', `service ${spec.name} already exists`);
  for (const st of s.services.values()) {
    const x = st.service;
    if (x.vip === spec.vip && x.proto === spec.proto && x.port === spec.port) {
      throw new LbError('conflict', `${spec.vip}:${spec.port}/${spec.proto} is already service ${x.name}`);
    }
  }
  const id = s.ids.nextServiceId();
  const service: Service = { ...spec, id, vmac: serviceVmac(id), createdAt: now };
  const st = new ServiceState(service, newTable(service));
  fx.store.push({ kind: 'insert_service', service });
  saveTable(s, st);
  s.services.set(service.name, st);
  s.byId.set(id, st);
  claimService(s, service);
  emit(s, { type: 'service_added', service: service.name });
  syncService(s, st);
  return { value: serviceView(st, s.health), effects: fx };
}

export function updateService(s: CoreState, name: string, settings: ServiceSettings, now: number): Result<ServiceView> {
  const fx = begin(s, now);
  const st = svc(s, name);
  if (typeof settings !== 'object' || settings === null) throw new LbError('invalid', 'the settings must be an object');
  const cur = st.service;
  // A health change is relative to the service's current check (only the fields given change).
  const { health: healthInput, ...rest } = settings;
  const health = healthInput === undefined ? cur.health : validateHealth(healthInput, cur.proto, cur.health);
  const spec = validateServiceInput({ ...cur, ...rest, health });
  const next: Service = { ...cur, ...spec, id: cur.id, vmac: cur.vmac, createdAt: cur.createdAt };
  if (JSON.stringify(next) === JSON.stringify(cur)) return { value: serviceView(st, s.health), effects: fx };
  fx.store.push({ kind: 'update_service', service: next });
  st.service = next;
  if (JSON.stringify(next.health) !== JSON.stringify(cur.health)) {
    s.health.reset(st);
    if (next.health.slowStartMs === 0) st.slowStart.clear();
    emit(s, { type: 'service_health', service: name, health: next.health });
  }
  // Windows, query-slot limit and tracking live in the slot table: rebuild it from its snapshot.
  st.table = newTable(next, st.table.snapshot());
  st.invalidateTargets(); // pin templates carry the idle timeouts
  reconcilePool(s, st, 'service settings changed', now);
  syncAllInto(s); // a switch left out by `switches` loses the service's flows
  return { value: serviceView(st, s.health), effects: fx };
}

/** The service goes; its flows and group go with its reconciler owner (the shell releases it and
 * then syncs every switch, so services sharing its VIP take over the ARP rule). */
export function removeService(s: CoreState, name: string): Effects {
  const fx = begin(s);
  const st = svc(s, name);
  fx.store.push({ kind: 'delete_service', name });
  s.services.delete(name);
  s.byId.delete(st.service.id);
  deletePins(s, PIN_COOKIE_MASK_FOR_SERVICE(st.service.id));
  deletePins(s, replyCookieMaskForService(st.service.id));
  fx.runtime.push({ kind: 'release', owner: ownerOf(st.service.id) });
  emit(s, { type: 'service_removed', service: name });
  return fx;
}

export function listBackends(s: CoreState, service: string): BackendView[] {
  const st = svc(s, service);
  return [...st.backends.values()].map((b) => backendView(st, b, s.health));
}

export function addBackend(s: CoreState, service: string, spec: BackendSpec, now: number): Result<BackendView> {
  const fx = begin(s, now);
  const st = svc(s, service);
  const v = validateBackendSpec(spec, st.service.mode);
  const key = backendKey(v);
  if (st.byKey.has(key)) throw new LbError('conflict', `service ${service} already has backend ${key}`);
  if (v.ip === st.service.vip) throw new LbError('invalid', `backend ${key} is the service's own VIP`);
  const b: Backend = {
    ...v, id: s.ids.nextBackendId(), service, state: v.mac ? 'active' : 'resolving', stateSince: now,
    removeWhenDrained: false,
  };
  fx.store.push({ kind: 'insert_backend', backend: { ...b } });
  st.addBackend(b, now);
  emit(s, { type: 'backend_added', service, backend: key });
  if (b.state === 'active') reconcilePool(s, st, `backend ${key} added`, now);
  else probeInto(s, now, true);
  return { value: backendView(st, b, s.health), effects: fx };
}

export function drainBackend(s: CoreState, service: string, key: string, now: number): Result<BackendView> {
  const fx = begin(s, now);
  const st = svc(s, service);
  const b = backendOf(st, key);
  matchOn(b.state)
    .with('active', () => {
      setState(s, st, b, 'draining', now, 'drain requested');
      reconcilePool(s, st, `drain of ${key}`, now);
    })
    .with('resolving', 'down', () => setState(s, st, b, 'drained', now, 'drain requested (backend had no flows)'))
    .with('draining', 'drained', () => undefined)
    .with('removed', () => {
      throw new LbError('conflict', `backend ${key} is being removed`);
    })
    .exhaustive();
  return { value: backendView(st, b, s.health), effects: fx };
}

export function enableBackend(s: CoreState, service: string, key: string, now: number): Result<BackendView> {
  const fx = begin(s, now);
  const st = svc(s, service);
  const b = backendOf(st, key);
  if (b.removeWhenDrained) throw new LbError('conflict', `backend ${key} is being removed`);
  if (b.state === 'draining' || b.state === 'drained') {
    const known = st.locations.has(b.id);
    setState(s, st, b, known ? 'active' : 'resolving', now, 'enabled');
    if (known) reconcilePool(s, st, `${key} enabled`, now);
    else probeInto(s, now, true);
  }
  return { value: backendView(st, b, s.health), effects: fx };
}

export function setWeight(s: CoreState, service: string, key: string, weight: number, now: number): Result<BackendView> {
  const fx = begin(s, now);
  const st = svc(s, service);
  const b = backendOf(st, key);
  const v = validateBackendSpec({ ip: b.ip, weight }, 'nat').weight;
  if (v !== b.weight) {
    const from = b.weight;
    b.weight = v;
    storeBackend(s, b);
    emit(s, { type: 'backend_weight', service, backend: key, from, to: v });
    reconcilePool(s, st, `weight of ${key} ${from} → ${v}`, now);
  }
  return { value: backendView(st, b, s.health), effects: fx };
}

export function removeBackend(s: CoreState, service: string, key: string, opts: { now?: boolean }, now: number): Result<BackendView> {
  const fx = begin(s, now);
  const st = svc(s, service);
  const b = backendOf(st, key);
  if (opts.now || b.state === 'drained' || b.state === 'resolving' || b.state === 'down') {
    const view = backendView(st, b, s.health);
    deleteBackend(s, st, b, opts.now ? 'removed now' : 'removed', now);
    return { value: { ...view, state: 'removed' }, effects: fx };
  }
  b.removeWhenDrained = true;
  storeBackend(s, b);
  if (b.state === 'active') {
    setState(s, st, b, 'draining', now, 'remove requested');
    reconcilePool(s, st, `remove of ${key}`, now);
  }
  return { value: backendView(st, b, s.health), effects: fx };
}

export function setSwitchProfile(s: CoreState, dpid: string, profile: ProfileSetting): Result<{ dpid: string; profile: ProfileSetting }> {
  const fx = begin(s);
  const id = dpid.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,16}$/.test(id)) throw new LbError('invalid', `bad datapath id ${JSON.stringify(dpid)}: expected up to 16 hex digits`);
  if (profile !== 'auto' && !SWITCH_PROFILES.includes(profile)) {
    throw new LbError('invalid', `bad profile ${JSON.stringify(profile)}: expected ${[...SWITCH_PROFILES, 'auto'].join(', ')}`);
  }
  const hex = id.padStart(16, '0');
  const before = s.forcedProfiles.get(hex) ?? 'auto';
  if (before === profile) return { value: { dpid: hex, profile }, effects: fx };
  fx.store.push({ kind: 'set_switch_profile', dpid: hex, profile: profile === 'auto' ? null : profile });
  if (profile === 'auto') s.forcedProfiles.delete(hex);
  else s.forcedProfiles.set(hex, profile);
  emit(s, { type: 'switch_profile', dpid: hex, profile });
  const sw = s.switches.get(hex);
  if (sw) {
    for (const st of s.services.values()) st.invalidateTargets(); // pin templates carry the profile
    syncSwitch(s, sw);
  }
  return { value: { dpid: hex, profile }, effects: fx };
}

/** Status without the switches' connection details (the shell adds those). */
export function status(s: CoreState): Omit<StatusView, 'switches'> {
  return { startedAt: s.startedAt, ...servicesStatus(s.services.values(), s.slotsMoved), monitor: s.health.monitorView() };
}
