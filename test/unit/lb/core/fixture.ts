// A load balancer core driven by hand: a clock that only moves when the test says, ids counted
// here, and helpers that pick messages, store changes and events out of the core's effects.
import type { OfMessageInput } from '../../../../controller/app.js';
import { LbCore, type CoreConfig, type Result, type SavedState } from '../../../../apps/lb/core/lb-core.js';
import { Effects, type RequestPurpose, type StoreChange, type SwitchInfo } from '../../../../apps/lb/core/effects.js';
import type { LbEvent } from '../../../../apps/lb/model.js';
import type { MultipartRequestBody } from '../../../../openflow/types.js';

export const SW1: SwitchInfo = {
  dpid: 1n, dpidHex: '0000000000000001', version: 4, detectedProfile: 'openflow13', groupTypes: ['all', 'select', 'indirect', 'ff'],
};
export const OVS1: SwitchInfo = { ...SW1, detectedProfile: 'ovs' };

export const EMPTY_STATE: SavedState = { services: [], switchProfiles: [], backendCounters: [], serviceCounters: [] };

export class Rig {
  readonly core: LbCore;
  readonly ids = { service: 0, backend: 0 };
  /** Every store change the core asked for, in order (what a store would hold). */
  readonly stored: StoreChange[] = [];

  constructor(public now = 1_000_000, cfg: Partial<CoreConfig> = {}, saved: SavedState = EMPTY_STATE, ids = { service: 0, backend: 0 }) {
    this.ids = { ...ids };
    this.core = new LbCore({
      healthIntervalMs: 5_000, healthMisses: 4, statsIntervalMs: 2_000, finIdleTimeout: 2, random: () => 0.25, ...cfg,
    }, { nextServiceId: () => ++this.ids.service, nextBackendId: () => ++this.ids.backend }, now);
    this.keep(this.core.restore(saved, now));
  }

  /** Records an effect's store changes (so a restart can be built from them) and returns it. */
  keep(fx: Effects): Effects;
  keep<T>(r: Result<T>): Result<T>;
  keep<T>(x: Effects | Result<T>): Effects | Result<T> {
    this.stored.push(...(x instanceof Effects ? x : x.effects).store);
    return x;
  }

  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }

  /** What a store holding `stored` would give a restarted controller. */
  saved(): SavedState {
    const services = new Map<string, SavedState['services'][number]>();
    const backends = new Map<number, Extract<StoreChange, { kind: 'insert_backend' }>['backend']>();
    for (const c of this.stored) {
      if (c.kind === 'insert_service' || c.kind === 'update_service') {
        services.set(c.service.name, { ...services.get(c.service.name), service: c.service, backends: [] });
      } else if (c.kind === 'save_slot_table') {
        const s = services.get(c.service);
        if (s) s.slotTable = structuredClone(c.snapshot);
      } else if (c.kind === 'insert_backend' || c.kind === 'update_backend') backends.set(c.backend.id, c.backend);
      else if (c.kind === 'delete_backend') backends.delete(c.id);
      else if (c.kind === 'delete_service') services.delete(c.name);
    }
    for (const b of backends.values()) services.get(b.service)?.backends.push(b);
    return { ...EMPTY_STATE, services: [...services.values()] };
  }
}

export function sent(fx: Effects, dpid = SW1.dpid): OfMessageInput[] {
  return fx.switches.flatMap((a) => (a.kind === 'send' && a.dpid === dpid ? [a.msg] : []));
}

export function requests(fx: Effects): { dpid: bigint; body: MultipartRequestBody; purpose: RequestPurpose }[] {
  return fx.switches.flatMap((a) => (a.kind === 'request' ? [a] : []));
}

export function desired(fx: Effects, owner: string): Extract<Effects['switches'][number], { kind: 'desired' }>[] {
  return fx.switches.flatMap((a) => (a.kind === 'desired' && a.owner === owner ? [a] : []));
}

export function eventsOf<T extends LbEvent['type']>(fx: Effects, type: T): Extract<LbEvent, { type: T }>[] {
  return fx.events.filter((e): e is Extract<LbEvent, { type: T }> => e.type === type);
}

export function storeOf<K extends StoreChange['kind']>(fx: Effects, kind: K): Extract<StoreChange, { kind: K }>[] {
  return fx.store.filter((c): c is Extract<StoreChange, { kind: K }> => c.kind === kind);
}
