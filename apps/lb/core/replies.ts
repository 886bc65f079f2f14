// Replies to the requests the core asked switches for (RequestPurpose), and their failures, each
// handed to the module that asked: counts, audits and group statistics (stats.ts), sweeps
// (switches.ts).

import { match as matchOn } from 'ts-pattern';
import type { MultipartReplyBody } from '../../../openflow/types.js';
import type { Effects, RequestPurpose } from './effects.js';
import { begin, type CoreState } from './state.js';
import { auditDone, countDone, groupStats } from './stats.js';
import { sweepFlows, sweepGroups } from './switches.js';

/** The reply to a request the core asked for. */
export function reply(s: CoreState, dpidHex: string, purpose: RequestPurpose, parts: readonly MultipartReplyBody[], now: number): Effects {
  const fx = begin(s, now);
  matchOn(purpose)
    .with({ kind: 'count' }, (p) => {
      s.countsOutstanding--;
      countDone(s, dpidHex, p.serviceId, p.backend, p.ticket, p.at, parts);
    })
    .with({ kind: 'audit' }, () => auditDone(s, dpidHex, parts, now))
    .with({ kind: 'group_stats' }, (p) => groupStats(s, dpidHex, p.serviceId, parts))
    .with({ kind: 'sweep_flows' }, () => sweepFlows(s, dpidHex, parts))
    .with({ kind: 'sweep_groups' }, (p) => sweepGroups(s, dpidHex, p.stale, parts))
    .exhaustive();
  return fx;
}

/** A request the core asked for failed (timeout, error, disconnect). */
export function requestFailed(s: CoreState, dpidHex: string, purpose: RequestPurpose, message: string): Effects {
  const fx = begin(s);
  matchOn(purpose)
    .with({ kind: 'count' }, () => { s.countsOutstanding--; })
    .with({ kind: 'audit' }, () => {
      s.auditing.delete(dpidHex);
      fx.log('info', { dpid: dpidHex, err: message }, 'pin audit failed');
    })
    .with({ kind: 'group_stats' }, () => undefined)
    .with({ kind: 'sweep_flows' }, { kind: 'sweep_groups' }, () => fx.log('info', { dpid: dpidHex, err: message }, 'sweeping stale service flows failed'))
    .exhaustive();
  return fx;
}
