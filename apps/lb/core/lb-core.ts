// The load balancer's decisions, with no I/O, behind one facade the shell (../app.ts) calls. Like
// Faucet's Valve: every call takes an event and the time and returns what to do (effects.ts:
// messages per switch, store changes, events); the shell carries that out and feeds back replies.
// The decisions live in modules over one shared state (state.ts), each (state, event, now) -> Effects:
//   controls.ts         operator controls (services, backends, switch profiles) and views
//   lifecycle.ts        restore from the store, counters saved for a restart
//   switches.ts         switch up/down/gone, packet-ins, port status, rejected messages, sweeps
//   query.ts            query/reply, the hot path (a reused answer, no allocation), pins ending
//   arp.ts              ARP answers for VIPs, backend resolution and ARP probes
//   health-reactions.ts what a backend's health change sets off
//   pool.ts             rebalancing after a pool change, slow start, backends leaving
//   sync.ts             the desired pipeline of every switch, parking
//   stats.ts, replies.ts group statistics, connection counts, pin audits and their replies
//   tick.ts             migrations, slow start, drains, health checks over time

import type { SwitchProfile } from '../../../controller/capabilities.js';
import type { MessageOf, MultipartReplyBody, WireVersion } from '../../../openflow/types.js';
import type { BackendView, ProfileSetting, ServiceInput, ServiceSettings, ServiceView, StatusView } from '../control.js';
import type { BackendSpec } from '../model.js';
import { probe } from './arp.js';
import * as controls from './controls.js';
import type { Result } from './controls.js';
import type { Effects, RequestPurpose, SwitchInfo } from './effects.js';
import type { HealthMonitor, HttpOutcome } from './health-monitor.js';
import { healthChanged, httpCheckDone } from './health-reactions.js';
import { restore, saveCounters, type SavedState } from './lifecycle.js';
import { profileForced, profileOf } from './profiles.js';
import { flowRemoved, newQueryScratch, queryAnswered, queryPacket, type QueryAnswer, type QueryScratch } from './query.js';
import { reply, requestFailed } from './replies.js';
import { createState, type CoreConfig, type CoreState, type IdSource } from './state.js';
import { auditPins, collectStats, countConnections } from './stats.js';
import { packetIn, portStatus, switchDown, switchError, switchGone, switchUp } from './switches.js';
import { park, pipelineResult, syncAll } from './sync.js';
import { tick } from './tick.js';

export type { CoreConfig, IdSource } from './state.js';
export type { SavedState } from './lifecycle.js';
export type { QueryAnswer } from './query.js';
export type { Result } from './controls.js';
export { MONITOR_OWNER, ownerOf } from './sync.js';

export class LbCore {
  private readonly s: CoreState;
  /** The hot path's reused answer (query.ts). */
  private readonly q: QueryScratch = newQueryScratch();

  constructor(cfg: CoreConfig, ids: IdSource, readonly startedAt: number) {
    this.s = createState(cfg, ids, startedAt, healthChanged);
  }

  get health(): HealthMonitor { return this.s.health; }

  // Lifecycle
  restore(saved: SavedState, now: number): Effects { return restore(this.s, saved, now); }
  saveCounters(now: number): Effects { return saveCounters(this.s, now); }
  park(): Effects { return park(this.s); }

  // Switch profiles
  profileOf(dpidHex: string, detected?: SwitchProfile): SwitchProfile { return profileOf(this.s, dpidHex, detected); }
  profileForced(dpidHex: string): boolean { return profileForced(this.s, dpidHex); }
  setSwitchProfile(dpid: string, profile: ProfileSetting): Result<{ dpid: string; profile: ProfileSetting }> {
    return controls.setSwitchProfile(this.s, dpid, profile);
  }

  // Desired state on switches
  syncAll(): Effects { return syncAll(this.s); }
  pipelineResult(serviceId: number, dpidHex: string, error: string | undefined): Effects { return pipelineResult(this.s, serviceId, dpidHex, error); }

  // Switch events
  switchUp(sw: SwitchInfo, now: number): Effects { return switchUp(this.s, sw, now); }
  switchDown(dpidHex: string, now: number): Effects { return switchDown(this.s, dpidHex, now); }
  switchGone(dpidHex: string): void { switchGone(this.s, dpidHex); }
  packetIn(dpidHex: string, data: Buffer, inPort: number | undefined, now: number): Effects { return packetIn(this.s, dpidHex, data, inPort, now); }
  portStatus(dpidHex: string, msg: MessageOf<'port_status'>, now: number): Effects { return portStatus(this.s, dpidHex, msg, now); }
  switchError(dpidHex: string, what: string, now: number): Effects { return switchError(this.s, dpidHex, what, now); }
  httpCheckDone(token: number, outcome: HttpOutcome, now: number): Effects { return httpCheckDone(this.s, token, outcome, now); }

  // Query/reply: the hot path
  queryPacket(dpidHex: string, version: WireVersion, data: Buffer, inPort: number | undefined, now: number): QueryAnswer {
    return queryPacket(this.s, this.q, dpidHex, version, data, inPort, now);
  }
  queryAnswered(sent: boolean): void { queryAnswered(this.s, this.q, sent); }
  flowRemoved(dpidHex: string, msg: MessageOf<'flow_removed'>): void { flowRemoved(this.s, dpidHex, msg); }

  // Timers
  probe(now: number): Effects { return probe(this.s, now); }
  tick(now: number): Effects { return tick(this.s, now); }

  // Statistics, connection counts and pin audits: requests out, replies in
  collectStats(): Effects { return collectStats(this.s); }
  countConnections(now: number): Effects { return countConnections(this.s, now); }
  auditPins(): Effects { return auditPins(this.s); }
  reply(dpidHex: string, purpose: RequestPurpose, parts: readonly MultipartReplyBody[], now: number): Effects { return reply(this.s, dpidHex, purpose, parts, now); }
  requestFailed(dpidHex: string, purpose: RequestPurpose, message: string): Effects { return requestFailed(this.s, dpidHex, purpose, message); }

  // Operator controls and views
  listServices(): ServiceView[] { return controls.listServices(this.s); }
  getService(name: string): ServiceView { return controls.getService(this.s, name); }
  addService(input: ServiceInput, now: number): Result<ServiceView> { return controls.addService(this.s, input, now); }
  updateService(name: string, settings: ServiceSettings, now: number): Result<ServiceView> { return controls.updateService(this.s, name, settings, now); }
  removeService(name: string): Effects { return controls.removeService(this.s, name); }
  listBackends(service: string): BackendView[] { return controls.listBackends(this.s, service); }
  addBackend(service: string, spec: BackendSpec, now: number): Result<BackendView> { return controls.addBackend(this.s, service, spec, now); }
  drainBackend(service: string, key: string, now: number): Result<BackendView> { return controls.drainBackend(this.s, service, key, now); }
  enableBackend(service: string, key: string, now: number): Result<BackendView> { return controls.enableBackend(this.s, service, key, now); }
  setWeight(service: string, key: string, weight: number, now: number): Result<BackendView> { return controls.setWeight(this.s, service, key, weight, now); }
  removeBackend(service: string, key: string, opts: { now?: boolean }, now: number): Result<BackendView> {
    return controls.removeBackend(this.s, service, key, opts, now);
  }
  status(): Omit<StatusView, 'switches'> { return controls.status(this.s); }
}
