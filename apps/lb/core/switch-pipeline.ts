// The pipeline one switch should hold: every service's flows and select group (or nothing, for a
// service that leaves the switch out), for the reconciler to install. A pure function of the
// services and the switch; the core hands its result over as `desired` effects.

import type { SwitchProfile } from '../../../controller/capabilities.js';
import { flowKey as desiredFlowKey } from '../../../controller/desired.js';
import type { DesiredState } from '../../../controller/reconciler.js';
import type { WireVersion } from '../../../openflow/types.js';
import { canServe, type Service } from '../model.js';
import { serviceFlows, serviceGroup, type BackendTarget } from '../pipeline.js';
import type { ServiceState } from '../service-state.js';
import { parkedBucket } from '../slot-table.js';

export function servesSwitch(s: Service, dpid: string): boolean {
  return s.switches.length === 0 || s.switches.includes(dpid);
}

export interface SwitchPipelineOptions {
  dpidHex: string;
  version: WireVersion;
  profile: SwitchProfile;
  /** The controller is going away: query slots forward to their old owner (openflow13). */
  parked: boolean;
  finIdleTimeout: number;
}

/** Per service (by id, lowest first), what it wants on the switch. */
export function switchPipeline(services: Iterable<ServiceState>, o: SwitchPipelineOptions): { st: ServiceState; desired: DesiredState }[] {
  const { dpidHex, profile } = o;
  const park = o.parked && profile === 'openflow13';
  const all = [...services].sort((a, b) => a.service.id - b.service.id);
  // nat backend ip:port in more than one service here: their connections learn reply entries.
  const natUses = new Map<string, number>();
  for (const st of all) {
    if (st.service.mode !== 'nat' || !servesSwitch(st.service, dpidHex)) continue;
    for (const t of st.reverseTargets(dpidHex)) natUses.set(`${t.ip}:${t.l4port}`, (natUses.get(`${t.ip}:${t.l4port}`) ?? 0) + 1);
  }
  const sharedBackend = (t: BackendTarget): boolean => (natUses.get(`${t.ip}:${t.l4port}`) ?? 0) > 1;
  const seen = new Set<string>();
  return all.map((st) => {
    const s = st.service;
    if (!servesSwitch(s, dpidHex)) return { st, desired: { flows: [], groups: [] } };
    const targetOf = (id: number) => st.target(id, dpidHex);
    const canServeHere = (id: number): boolean => {
      const b = st.backends.get(id);
      return b !== undefined && canServe(b) && targetOf(id) !== undefined;
    };
    const buckets = Array.from({ length: s.slots }, (_, i) => (park ? parkedBucket(st.table.bucket(i), canServeHere) : st.table.bucket(i)));
    const flows = [];
    for (const f of serviceFlows(s, st.reverseTargets(dpidHex), { profile, finTimeout: o.finIdleTimeout, sharedBackend })) {
      // Services sharing a VIP share its ARP rule; keep the first (lowest service id). Identity is
      // the reconciler's own (table, priority, canonical match).
      const id = desiredFlowKey(f);
      if (seen.has(id)) continue;
      seen.add(id);
      flows.push(f);
    }
    return { st, desired: { flows, groups: [serviceGroup(s, buckets, targetOf, o.version, profile)] } };
  });
}
