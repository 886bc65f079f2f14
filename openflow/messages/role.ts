// Controller roles: ROLE_REQUEST/ROLE_REPLY (master, slave, equal, with a generation id).
import { defineMessage } from '../registry.js';
import type { ControllerRole } from '../types.js';
import type { Reader, Writer } from '../buf.js';
import { done, fromTable, toTable } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    role_request: MessageBase & { type: 'role_request'; role: ControllerRole; generationId: bigint };
    role_reply: MessageBase & { type: 'role_reply'; role: ControllerRole; generationId: bigint };
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

export const ROLE_MESSAGES = [roleRequest, roleReply] as const;
