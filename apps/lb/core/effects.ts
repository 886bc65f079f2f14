// What a decision of the load balancer core asks the shell (app.ts) to do: messages and requests
// for switches, rows for the store, events to announce, and the few runtime actions (reconciler
// claims, HTTP checks from this host, log lines). The core only returns these; the shell carries
// them out, in order, and feeds back what comes of them (replies, refusals, check results).

import type { OfMessageInput } from '../../../controller/app.js';
import type { SwitchProfile } from '../../../controller/capabilities.js';
import type { DesiredState } from '../../../controller/reconciler.js';
import type { MultipartRequestBody, WireVersion } from '../../../openflow/types.js';
import type { Backend, LbEvent, Service, SlotTableSnapshot } from '../model.js';
import type { BackendCountersRow, ServiceCountersRow } from '../store.js';

export type { BackendCountersRow, ServiceCountersRow };

/** Why a multipart request was sent: its reply goes back to the core with this. */
export type RequestPurpose =
  /** Connection count (aggregate) of one backend; the ticket and request time come back with it. */
  | { kind: 'count'; serviceId: number; backend: number; ticket: number; at: number }
  /** Flow dump of the switch's pins (pin audit). */
  | { kind: 'audit' }
  /** Group statistics of one service (slot activity, bucket traffic). */
  | { kind: 'group_stats'; serviceId: number }
  /** At connection: the switch's service flows, then its groups, to delete those of services that no longer exist. */
  | { kind: 'sweep_flows' }
  | { kind: 'sweep_groups'; stale: readonly number[] };

/** Something for one switch, in the order the core decided it. */
export type SwitchAction =
  | { kind: 'send'; dpid: bigint; msg: OfMessageInput }
  /** Desired flows and groups of one reconciler owner; `serviceId` hears whether the switch took them. */
  | { kind: 'desired'; dpid: bigint; owner: string; desired: DesiredState; serviceId: number | null }
  | { kind: 'request'; dpid: bigint; body: MultipartRequestBody; timeoutMs: number; purpose: RequestPurpose };

export interface OwnerSpace { cookie: bigint; cookieMask: bigint; groupIdMin: number; groupIdMax: number }


/** One write to the store. Backends are copies taken when the change was decided. */
export type StoreChange =
  | { kind: 'insert_service'; service: Service }
  | { kind: 'update_service'; service: Service }
  | { kind: 'delete_service'; name: string }
  | { kind: 'insert_backend'; backend: Backend }
  | { kind: 'update_backend'; backend: Backend }
  | { kind: 'delete_backend'; id: number }
  | { kind: 'save_slot_table'; service: string; snapshot: SlotTableSnapshot }
  | { kind: 'set_switch_profile'; dpid: string; profile: SwitchProfile | null }
  | { kind: 'save_counters'; backends: BackendCountersRow[]; services: ServiceCountersRow[]; at: number };

/** An HTTP check the shell runs from this host (no monitor address); its outcome comes back with `token`. */
export interface HttpCheckRequest { token: number; host: string; port: number; path: string; timeoutMs: number }

export type RuntimeAction =
  | { kind: 'claim'; owner: string; space: OwnerSpace }
  /** Release an owner's flows and groups; then sync every switch (core.syncAll). */
  | { kind: 'release'; owner: string }
  | { kind: 'http_check'; check: HttpCheckRequest };

export interface LogLine { level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string }

export class Effects {
  readonly switches: SwitchAction[] = [];
  readonly store: StoreChange[] = [];
  readonly events: LbEvent[] = [];
  readonly runtime: RuntimeAction[] = [];
  readonly logs: LogLine[] = [];

  send(dpid: bigint, msg: OfMessageInput): void {
    this.switches.push({ kind: 'send', dpid, msg });
  }

  log(level: LogLine['level'], fields: Record<string, unknown>, msg: string): void {
    this.logs.push({ level, fields, msg });
  }

  get empty(): boolean {
    return this.switches.length + this.store.length + this.events.length + this.runtime.length + this.logs.length === 0;
  }
}

/** A switch as the core knows it (from switch-up): enough to decide, nothing to send with. */
export interface SwitchInfo {
  readonly dpid: bigint;
  readonly dpidHex: string;
  readonly version: WireVersion;
  /** The profile detected at the handshake (operators may force another). */
  readonly detectedProfile: SwitchProfile;
  readonly groupTypes: readonly string[];
}
