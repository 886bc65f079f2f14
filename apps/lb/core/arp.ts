// ARP: answer for VIPs, resolve backends and follow them when they move (and notice when they stop
// answering). ARP decides a backend's health where no probe does (no check, or tcp/udp checks
// without a monitor address).

import { output, packetOut } from '../../../openflow/builders.js';
import { buildArpReply, buildArpRequest } from '../../../openflow/packet/build.js';
import { parsePacket } from '../../../openflow/packet/parse.js';
import { OFPP } from '../../../openflow/types.js';
import { judgeArpAnswer } from '../arp-guard.js';
import { backendKey, canServe, type Backend } from '../model.js';
import { repointPinsFlowMod } from '../pipeline.js';
import type { ServiceState } from '../service-state.js';
import type { Effects, SwitchInfo } from './effects.js';
import { checkMode } from './health-monitor.js';
import { dropPins, reconcilePool } from './pool.js';
import { pinOptions } from './profiles.js';
import { begin, emit, setState, storeBackend, type CoreState } from './state.js';
import { servesSwitch } from './switch-pipeline.js';
import { syncService } from './sync.js';

/** An ARP packet-in: a request for a VIP is answered, an answer may resolve (or move) backends. */
export function arpPacket(s: CoreState, sw: SwitchInfo, data: Buffer, inPort: number | undefined, now: number): void {
  const p = parsePacket(data);
  if (!p.ok || p.packet.l3.kind !== 'arp') return;
  const arp = p.packet.l3;
  if (arp.op === 1) {
    const st = [...s.services.values()].filter((x) => x.service.vip === arp.tpa).sort((a, b) => a.service.id - b.service.id)[0];
    if (!st || inPort === undefined) return;
    s.fx.send(sw.dpid, packetOut({
      inPort, actions: [output(OFPP.IN_PORT)],
      data: buildArpReply({ senderMac: st.service.vmac, senderIp: st.service.vip, targetMac: arp.sha, targetIp: arp.spa }),
    }));
    return;
  }
  if (arp.op !== 2 || inPort === undefined) return;
  for (const st of s.services.values()) {
    for (const b of st.backends.values()) {
      if (b.ip !== arp.spa) continue;
      if (b.mac !== undefined && b.switchPort !== undefined) {
        staticAnswered(s, st, b, arp.sha, now);
        continue;
      }
      const loc = st.locations.get(b.id);
      const verdict = judgeArpAnswer({
        now, askedAt: s.arpAskedAt.get(b.ip), mac: arp.sha, port: inPort, lastMoveAt: s.lastMoveAt.get(b.id),
        known: loc && { mac: loc.mac, port: loc.ports.get(sw.dpidHex), misses: loc.misses },
      });
      if (verdict.kind === 'accept') {
        if (verdict.moves && loc) s.lastMoveAt.set(b.id, now);
        resolved(s, st, b, arp.sha, sw, inPort, now);
      } else if (verdict.kind === 'conflict') {
        arpConflict(s, st, b, `switch ${sw.dpidHex}: ${verdict.why}`, now);
      }
    }
  }
}

/** An ARP answer that would have moved a backend was ignored: say so, once a minute a backend. */
function arpConflict(s: CoreState, st: ServiceState, b: Backend, why: string, now: number): void {
  const last = s.arpConflictReported.get(b.id);
  s.fx.log('debug', { service: st.service.name, backend: backendKey(b), why }, 'ARP answer ignored');
  if (last !== undefined && now - last < 60_000) return;
  s.arpConflictReported.set(b.id, now);
  emit(s, { type: 'error', service: st.service.name, message: `backend ${backendKey(b)}: ignored an ARP answer that would move it (${why}); further ones for a minute are not reported` });
}

/** A backend given with --mac/--switch-port answered ARP: alive (where ARP is its check). */
function staticAnswered(s: CoreState, st: ServiceState, b: Backend, mac: string, now: number): void {
  const loc = st.locations.get(b.id);
  if (!loc || loc.mac !== mac) return;
  loc.misses = 0;
  loc.lastSeen = now;
  if (b.state === 'down' && arpDecides(s, st)) {
    setState(s, st, b, 'active', now, 'answers ARP again');
    reconcilePool(s, st, `backend ${backendKey(b)} is active`, now);
  }
}

/** ARP answers decide whether backends are up: tcp/udp checks without a monitor address (or no check). */
function arpDecides(s: CoreState, st: ServiceState): boolean {
  const mode = checkMode(st.service.health, s.health.monitor);
  return mode === 'arp' || mode === 'none';
}

function resolved(s: CoreState, st: ServiceState, b: Backend, mac: string, sw: SwitchInfo, port: number, now: number): void {
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
    storeBackend(s, b);
    emit(s, { type: 'backend_resolved', service: st.service.name, backend: backendKey(b), mac, dpid, port });
    // The backend moved: its pins on this switch follow it, so its connections carry on.
    const t = st.target(b.id, dpid);
    if (wasKnownHere && t) s.fx.send(sw.dpid, repointPinsFlowMod(st.service, t, pinOptions(s, dpid)));
  }
  if (b.state === 'resolving' || (b.state === 'down' && arpDecides(s, st))) {
    setState(s, st, b, 'active', now, b.state === 'down' ? 'answers ARP again' : 'resolved by ARP');
    reconcilePool(s, st, `backend ${backendKey(b)} is active`, now);
  } else if (moved) {
    syncService(s, st);
  }
}

/** ARP probes (the resolve timer): unresolved backends every time, the rest every health interval. */
export function probe(s: CoreState, now: number): Effects {
  const fx = begin(s, now);
  probeInto(s, now, false);
  return fx;
}

/** ARP probes into the call being handled; `force`: every backend now, counting no misses. */
export function probeInto(s: CoreState, now: number, force: boolean): void {
  const health = force || now - s.lastHealthProbe >= s.cfg.healthIntervalMs;
  if (health) s.lastHealthProbe = now;
  for (const st of s.services.values()) {
    for (const b of st.backends.values()) {
      if (b.state === 'removed' || b.state === 'drained') continue;
      const loc = st.locations.get(b.id);
      // A backend given with --mac/--switch-port needs no resolving: ARP only where it is its
      // check (no monitor address), or feeds a udp check's "silence" rule.
      if (loc?.static && !(arpDecides(s, st) || st.service.health.type === 'udp')) continue;
      const unresolved = b.state === 'resolving' || b.state === 'down' || !loc;
      if (!unresolved && !health) continue;
      const targets = [...s.switches.values()].filter((sw) => servesSwitch(st.service, sw.dpidHex));
      // A probe that went to no switch is no unanswered probe.
      if (loc && health && !force && targets.length > 0) {
        loc.misses++;
        // Where probes decide (a monitor address, or http), misses only feed udp's "silence" rule.
        if (loc.misses > s.cfg.healthMisses && canServe(b) && checkMode(st.service.health, s.health.monitor) === 'arp') {
          setState(s, st, b, 'down', now, `no ARP answer to ${s.cfg.healthMisses} probes`);
          dropPins(s, st, b);
          reconcilePool(s, st, `backend ${backendKey(b)} is down`, now);
        }
      }
      const data = buildArpRequest({ senderMac: st.service.vmac, senderIp: '0.0.0.0', targetIp: b.ip });
      if (targets.length > 0) s.arpAskedAt.set(b.ip, now);
      for (const sw of targets) {
        s.fx.send(sw.dpid, packetOut({ actions: [output(OFPP.ALL)], data }));
      }
    }
  }
}
