// Controller roles: ROLE_REQUEST/ROLE_REPLY (master, slave, equal, with a generation id), and
// ROLE_STATUS (1.4+: the switch tells a controller its role changed, e.g. another became master).
import { defineMessage } from '../registry.js';
import type { ControllerRole, OfMessageMap } from '../types.js';
import type { Reader, Writer } from '../buf.js';
import { done, fromTable, reasonCode, reasonOf, rest, toTable } from './body.js';

/** Why a role changed (OFPCRR_*); codes without a name stay numbers. */
export type RoleStatusReason = 'master_request' | 'config' | 'experimenter' | number;

declare module '../types.js' {
  interface OfMessageMap {
    role_request: MessageBase & { type: 'role_request'; role: ControllerRole; generationId: bigint };
    role_reply: MessageBase & { type: 'role_reply'; role: ControllerRole; generationId: bigint };
    /** `properties`: role properties (experimenter ones only, in 1.4/1.5), raw. */
    role_status: MessageBase & { type: 'role_status'; role: ControllerRole; reason: RoleStatusReason; generationId: bigint; properties?: Buffer };
  }
}

/** OFPCR_ROLE_*, index = wire code. */
const ROLES: readonly ControllerRole[] = ['nochange', 'equal', 'master', 'slave'];

function readRole(r: Reader): { role: ControllerRole; generationId: bigint } {
  const role = fromTable(ROLES, r.u32(), 'controller role');
  r.skip(4);
  const generationId = r.u64();
  done(r, 'role message');
  return { role, generationId };
}

function writeRole(w: Writer, m: { role: ControllerRole; generationId: bigint }): void {
  w.u32(toTable(ROLES, m.role, 'controller role')); w.u32(0); w.u64(m.generationId);
}

export const roleRequest = defineMessage({
  type: 'role_request', code: 24, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'role_request', version, xid, ...readRole(r) }),
  write: writeRole,
});

export const roleReply = defineMessage({
  type: 'role_reply', code: 25, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'role_reply', version, xid, ...readRole(r) }),
  write: writeRole,
});

/** OFPCRR_*, index = wire code. */
const ROLE_STATUS_REASONS: readonly RoleStatusReason[] = ['master_request', 'config', 'experimenter'];

export const roleStatus = defineMessage({
  type: 'role_status', code: 30, versions: [5, 6],
  read(r, version, xid) {
    const role = fromTable(ROLES, r.u32(), 'controller role');
    const reason = reasonOf(ROLE_STATUS_REASONS, r.u8());
    r.skip(3);
    const generationId = r.u64();
    const m: OfMessageMap['role_status'] = { type: 'role_status', version, xid, role, reason, generationId };
    if (r.remaining() > 0) m.properties = rest(r);
    return m;
  },
  write(w, msg) {
    w.u32(toTable(ROLES, msg.role, 'controller role'));
    w.u8(reasonCode(ROLE_STATUS_REASONS, msg.reason, 'role status reason')); w.zeros(3);
    w.u64(msg.generationId);
    if (msg.properties) w.bytes(msg.properties);
  },
});

export const ROLE_MESSAGES = [roleRequest, roleReply, roleStatus] as const;
