// The health monitor: sends each backend's checks on time, matches answers to probes, and hands
// results to the rise/fall state machine (health.ts). TCP, UDP and HTTP probes go through the
// switches by packet-out from the monitor address, to the port the backend sits behind; answers
// come back through the monitor's flows (pipeline.ts monitorFlows). Without a monitor address,
// HTTP checks run from the controller host (Node's http client) and tcp/udp checks fall back to
// the ARP liveness the app already does. Port status (link down, port deleted) takes the backends
// behind the port down at once. The core applies status changes (LbCore.healthChanged).
// Part of the pure core: time comes in, packets and HTTP checks go out as effects (effects.ts).

import { output, packetOut } from '../../../openflow/builders.js';
import { OFPP, type MessageOf } from '../../../openflow/types.js';
import type { HealthView, MonitorView } from '../control.js';
import {
  firstCheckAt, httpResult, initialHealth, portDown, stepHealth, type BackendHealth, type CheckResult, type HealthSpec, type HealthStatus,
} from '../health.js';
import { canServe, type Backend, type Service } from '../model.js';
import {
  classifyMonitorPacket, monitorArpReply, PROBE_PORT_MAX, PROBE_PORT_MIN, tcpSyn, udpProbe, type MonitorAddress, type ProbeTarget,
} from '../probe-packets.js';
import { onIcmpUnreachable, onTcpAnswer, onTimeout, onUdpAnswer, type Probe, type ProbeStep } from '../probe-session.js';
import type { ServiceState } from '../service-state.js';
import type { Effects, SwitchInfo } from './effects.js';

/** How a service's backends are checked, given its settings and whether a monitor address is set. */
export type CheckMode = 'switch' | 'host' | 'arp' | 'none';

export function checkMode(spec: Pick<HealthSpec, 'type'>, monitor: MonitorAddress | undefined): CheckMode {
  if (spec.type === 'none') return 'none';
  if (monitor) return 'switch';
  return spec.type === 'http' ? 'host' : 'arp';
}

/** Where a probe to a backend goes: its edge switch, the port behind which it sits, its MAC. */
export interface Edge { sw: SwitchInfo; port: number; mac: string }

/** What the monitor needs from the app. */
export interface HealthHost {
  switches(): readonly SwitchInfo[];
  services(): Iterable<ServiceState>;
  serviceById(id: number): ServiceState | undefined;
  servesSwitch(s: Service, dpid: string): boolean;
  /** The backend answered ARP recently enough to count as alive (UDP silence). */
  arpFresh(st: ServiceState, b: Backend): boolean;
  /** A status change decided by checks or port status; `check` names what decided it. */
  healthChanged(st: ServiceState, b: Backend, to: HealthStatus, reason: string, check: string): void;
  /** Where what the monitor decides goes (the effects of the core call being handled). */
  fx(): Effects;
  /** [0, 1): TCP probes' initial sequence numbers. */
  random(): number;
}

/** How an HTTP check from this host ended (the shell ran it). */
export type HttpOutcome = { kind: 'status'; status: number } | { kind: 'timeout' } | { kind: 'error'; code: string };

interface Record {
  health: BackendHealth;
  nextAt: number;
  intervalMs: number;
  rttMs?: number;
  /** A probe of this backend is in flight (its port), or an HTTP check from the host (-1). */
  inflight?: number;
}

export interface MonitorCounters { probesSent: number; answers: number; timeouts: number; framesSent: number }

export class HealthMonitor {
  private readonly records = new Map<number, Record>();
  private readonly inflight = new Map<number, Probe>();
  /** Backend IP → the switch and port where its packets to the monitor entered (its edge). */
  private readonly edges = new Map<string, { dpid: string; port: number }>();
  private nextPort = PROBE_PORT_MIN;
  private readonly macBytes: Buffer | undefined;
  /** HTTP checks from this host in flight, by token. */
  private readonly httpChecks = new Map<number, { backendId: number; serviceId: number; rec: Record; spec: HealthSpec; startedAt: number }>();
  private nextToken = 1;
  readonly counters: MonitorCounters = { probesSent: 0, answers: 0, timeouts: 0, framesSent: 0 };

  constructor(private readonly host: HealthHost, readonly monitor: MonitorAddress | undefined) {
    this.macBytes = monitor ? Buffer.from(monitor.mac.split(':').map((x) => parseInt(x, 16))) : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Scheduling

  /** Sends the checks that are due and times out those past their deadline. Runs often (the app's tick). */
  tick(now: number): void {
    for (const p of [...this.inflight.values()]) {
      if (now < p.deadline) continue;
      const st = this.host.serviceById(p.serviceId);
      const b = st?.backends.get(p.backendId);
      const spec = st?.service.health;
      this.counters.timeouts++;
      this.finish(p, st && b && spec ? onTimeout(p, this.monitor!, spec.timeoutMs, this.host.arpFresh(st, b)) : { send: [] }, now);
    }
    for (const st of this.host.services()) {
      const spec = st.service.health;
      const mode = checkMode(spec, this.monitor);
      for (const b of st.backends.values()) {
        const rec = this.record(b, spec, now);
        if (mode === 'none' || mode === 'arp') continue;
        if (!(canServe(b) || b.state === 'down')) continue;
        if (rec.inflight !== undefined || now < rec.nextAt) continue;
        rec.nextAt = rec.nextAt + rec.intervalMs > now ? rec.nextAt + rec.intervalMs : now + rec.intervalMs;
        if (mode === 'host') this.httpFromHost(st, b, rec, spec, now);
        else this.sendProbe(st, b, rec, spec, now);
      }
    }
  }

  /** A backend's record, its status kept in step with the backend's state: checks count from
   * there (a backend made active by an operator or by ARP is up until `fall` failures, a `down`
   * one needs `rise` good checks). */
  private record(b: Backend, spec: HealthSpec, now: number): Record {
    let rec = this.records.get(b.id);
    if (!rec || rec.intervalMs !== spec.intervalMs) {
      const health = rec?.health ?? initialHealth(b.state === 'down' ? 'down' : 'up', now);
      rec = { ...rec, health, intervalMs: spec.intervalMs, nextAt: firstCheckAt(b.id, spec.intervalMs, now) };
      this.records.set(b.id, rec);
    }
    if (canServe(b) && rec.health.status === 'down') rec.health = { ...initialHealth('up', now), ...(rec.health.last ? { last: rec.health.last } : {}) };
    else if (b.state === 'down' && rec.health.status === 'up') rec.health = { ...initialHealth('down', now), ...(rec.health.last ? { last: rec.health.last } : {}) };
    return rec;
  }

  /** The service's checks changed: counts start again (the status stays). */
  reset(st: ServiceState): void {
    for (const id of st.backends.keys()) {
      const rec = this.records.get(id);
      if (rec?.inflight !== undefined && rec.inflight >= 0) this.inflight.delete(rec.inflight);
      this.records.delete(id);
    }
  }

  forget(backendId: number): void {
    const rec = this.records.get(backendId);
    if (rec?.inflight !== undefined && rec.inflight >= 0) this.inflight.delete(rec.inflight);
    this.records.delete(backendId);
  }

  // ------------------------------------------------------------------------------------------
  // Probes through the switch

  /** The switch and port a probe to `b` leaves by: where its answers entered (learned), else the
   * first switch of the service that knows where it is. */
  edgeOf(st: ServiceState, b: Backend): Edge | undefined {
    const learned = this.edges.get(b.ip);
    const switches = this.host.switches();
    if (learned) {
      const sw = switches.find((s) => s.dpidHex === learned.dpid);
      const t = sw && this.host.servesSwitch(st.service, sw.dpidHex) ? st.target(b.id, sw.dpidHex) : undefined;
      if (sw && t) return { sw, port: t.port, mac: t.mac };
    }
    for (const sw of [...switches].sort((x, y) => (x.dpidHex < y.dpidHex ? -1 : 1))) {
      if (!this.host.servesSwitch(st.service, sw.dpidHex)) continue;
      const t = st.target(b.id, sw.dpidHex);
      if (t) return { sw, port: t.port, mac: t.mac };
    }
    return undefined;
  }

  private allocPort(): number | undefined {
    const span = PROBE_PORT_MAX - PROBE_PORT_MIN + 1;
    for (let i = 0; i < span; i++) {
      const p = this.nextPort;
      this.nextPort = p === PROBE_PORT_MAX ? PROBE_PORT_MIN : p + 1;
      if (!this.inflight.has(p)) return p;
    }
    return undefined;
  }

  private sendProbe(st: ServiceState, b: Backend, rec: Record, spec: HealthSpec, now: number): void {
    const m = this.monitor!;
    const edge = this.edgeOf(st, b);
    if (!edge) return; // not located yet: the app's ARP resolution finds it
    const port = this.allocPort();
    if (port === undefined) return;
    const s = st.service;
    const target: ProbeTarget = s.mode === 'nat'
      ? { mac: edge.mac, ip: b.ip, port: b.port ?? s.port }
      : { mac: edge.mac, ip: s.vip, port: s.port };
    const kind = spec.type === 'udp' ? 'udp' : spec.type === 'http' ? 'http' : 'tcp';
    const seq = (this.host.random() * 0x1_0000_0000) >>> 0;
    const p: Probe = {
      kind, backendId: b.id, serviceId: s.id, port, target, seq, sentAt: now, deadline: now + spec.timeoutMs,
      phase: 'open', sent: 0, dpid: edge.sw.dpidHex, outPort: edge.port, ...(kind === 'http' ? { http: spec.http } : {}),
    };
    this.inflight.set(port, p);
    rec.inflight = port;
    this.counters.probesSent++;
    this.out(edge.sw, edge.port, kind === 'udp' ? udpProbe(m, target, port) : tcpSyn(m, target, port, seq));
  }

  private out(sw: SwitchInfo, port: number, data: Buffer): void {
    this.counters.framesSent++;
    this.host.fx().send(sw.dpid, packetOut({ actions: [output(port)], data }));
  }

  /** A probe is over (or moves on): send what it says, record its result. */
  private finish(p: Probe, step: ProbeStep, now: number): void {
    const sw = step.send.length > 0 ? this.host.switches().find((s) => s.dpidHex === p.dpid) : undefined;
    if (sw) for (const f of step.send) this.out(sw, p.outPort, f);
    if (!step.result) return;
    this.inflight.delete(p.port);
    const st = this.host.serviceById(p.serviceId);
    const b = st?.backends.get(p.backendId);
    const rec = this.records.get(p.backendId);
    if (rec?.inflight === p.port) delete rec.inflight;
    if (st && b && rec) this.apply(st, b, rec, step.result, now);
  }

  private apply(st: ServiceState, b: Backend, rec: Record, r: CheckResult, now: number): void {
    if (r.rttMs !== undefined) rec.rttMs = r.rttMs;
    const spec = st.service.health;
    const s = stepHealth(rec.health, spec, r, now);
    rec.health = s.health;
    if (s.changed && s.reason) this.host.healthChanged(st, b, s.changed, s.reason, spec.type);
  }

  // ------------------------------------------------------------------------------------------
  // HTTP from the controller host (no monitor address)

  private httpFromHost(st: ServiceState, b: Backend, rec: Record, spec: HealthSpec, now: number): void {
    rec.inflight = -1;
    const port = st.service.mode === 'nat' ? b.port ?? st.service.port : st.service.port;
    const token = this.nextToken++;
    this.httpChecks.set(token, { backendId: b.id, serviceId: st.service.id, rec, spec, startedAt: now });
    this.counters.probesSent++;
    this.host.fx().runtime.push({
      kind: 'http_check', check: { token, host: b.ip, port, path: spec.http.path, timeoutMs: spec.timeoutMs },
    });
  }

  /** The shell's HTTP check `token` ended. */
  httpCheckDone(token: number, outcome: HttpOutcome, now: number): void {
    const c = this.httpChecks.get(token);
    if (!c) return;
    this.httpChecks.delete(token);
    const cur = this.records.get(c.backendId);
    if (cur !== c.rec) return; // forgotten or reset meanwhile
    delete c.rec.inflight;
    const st = this.host.serviceById(c.serviceId);
    const b = st?.backends.get(c.backendId);
    if (!st || !b) return;
    const spec = c.spec;
    const r: CheckResult = outcome.kind === 'status'
      ? httpResult(outcome.status, spec.http.status, now - c.startedAt)
      : outcome.kind === 'timeout'
        ? { ok: false, detail: `no HTTP answer within ${spec.timeoutMs} ms` }
        : { ok: false, detail: `http: ${outcome.code}` };
    this.apply(st, b, c.rec, r, now);
  }

  // ------------------------------------------------------------------------------------------
  // Packets to the monitor

  /** Handles a packet-in meant for the monitor; false when it is not one. */
  packetIn(sw: SwitchInfo, data: Buffer, inPort: number | undefined, now: number): boolean {
    const m = this.monitor;
    if (!m || data.length < 14) return false;
    const toMonitorMac = data.compare(this.macBytes!, 0, 6, 0, 6) === 0;
    if (!toMonitorMac && data.readUInt16BE(12) !== 0x0806) return false;
    const c = classifyMonitorPacket(data, m);
    if (!c) return toMonitorMac;
    if (c.kind === 'arp-request') {
      if (inPort === undefined) return true;
      this.edges.set(c.spa, { dpid: sw.dpidHex, port: inPort });
      this.counters.framesSent++;
      this.host.fx().send(sw.dpid, packetOut({ inPort, actions: [output(OFPP.IN_PORT)], data: monitorArpReply(m, c.sha, c.spa) }));
      return true;
    }
    const p = this.inflight.get(c.probePort);
    if (!p) return true; // late answer to a probe that timed out
    if (inPort !== undefined) this.edges.set(c.kind === 'icmp-unreachable' ? c.srcIp : c.srcIp, { dpid: sw.dpidHex, port: inPort });
    const step = c.kind === 'tcp' ? onTcpAnswer(p, c, m, now) : c.kind === 'udp' ? onUdpAnswer(p, c, now) : onIcmpUnreachable(p, c, now);
    if (step.result) this.counters.answers++;
    this.finish(p, step, now);
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Port status

  /** A port went down (link down, administratively down, or deleted): every backend behind it is down at once. */
  portStatus(sw: SwitchInfo, msg: MessageOf<'port_status'>, now: number): void {
    const port = msg.port;
    const gone = msg.reason === 'delete' || (port.state & 1) !== 0 || (port.config & 1) !== 0;
    if (!gone) return;
    const what = `switch ${sw.dpidHex} port ${port.portNo}${port.name ? ` (${port.name})` : ''}`;
    for (const st of this.host.services()) {
      if (!this.host.servesSwitch(st.service, sw.dpidHex)) continue;
      if (st.service.health.type === 'none') continue;
      for (const b of [...st.backends.values()]) {
        if (!canServe(b) || !this.behind(st, b, sw.dpidHex, port.portNo)) continue;
        const rec = this.record(b, st.service.health, now);
        const step = portDown(rec.health, msg.reason === 'delete' ? `${what} was deleted, so it` : what, now);
        rec.health = step.health;
        if (step.changed && step.reason) this.host.healthChanged(st, b, 'down', step.reason, 'port status');
      }
    }
  }

  /** Whether `b` is reached through `port` of switch `dpid`: its learned edge if there is one,
   * else where the switch has it. */
  private behind(st: ServiceState, b: Backend, dpid: string, port: number): boolean {
    const learned = this.edges.get(b.ip);
    if (learned) return learned.dpid === dpid && learned.port === port;
    return st.target(b.id, dpid)?.port === port;
  }

  // ------------------------------------------------------------------------------------------
  // Views

  view(st: ServiceState, b: Backend): HealthView {
    const spec = st.service.health;
    const mode = checkMode(spec, this.monitor);
    const rec = this.records.get(b.id);
    const h = rec?.health;
    const since = st.slowStart.get(b.id);
    const loc = st.locations.get(b.id);
    const arpLast = mode === 'arp' && loc ? (loc.misses === 0 ? 'answers ARP' : `${loc.misses} ARP probe${loc.misses === 1 ? '' : 's'} unanswered`) : null;
    return {
      check: mode === 'arp' ? 'arp' : spec.type,
      status: b.state === 'down' ? 'down' : h?.status ?? 'up',
      lastResult: h?.reason ?? h?.last?.detail ?? arpLast,
      lastOk: h?.last ? h.last.ok : null,
      lastCheckAt: h?.last?.at ?? null,
      lastChange: h?.since ?? b.stateSince,
      rttMs: rec?.rttMs ?? null,
      good: h?.good ?? 0,
      bad: h?.bad ?? 0,
      ...(since !== undefined && b.state === 'active' ? { slowStart: { since, until: since + spec.slowStartMs } } : {}),
      ...(mode === 'arp' ? { note: `${spec.type} checks need a monitor address (holdfast start --monitor-ip): ARP liveness only` } : {}),
    };
  }

  monitorView(): MonitorView {
    if (this.monitor) return { ip: this.monitor.ip, mac: this.monitor.mac };
    return {
      ip: null, mac: '',
      note: 'no monitor address (holdfast start --monitor-ip IP): tcp and udp checks fall back to ARP liveness; http checks run from the controller host',
    };
  }
}
