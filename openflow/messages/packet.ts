// Packets between switch and controller: PACKET_IN (a packet the switch sends up) and PACKET_OUT
// (a packet the controller sends out through an action list). The load balancer's hot path.
import { readActions, writeActions } from '../actions.js';
import { readMatch, writeMatch } from '../oxm.js';
import { defineMessage } from '../registry.js';
import { OFPP, type OfMessageMap, type PacketInReason } from '../types.js';
import { reasonCode, reasonOf, rest } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    packet_in: MessageBase & {
      type: 'packet_in'; bufferId: number; totalLen: number; reason: PacketInReason; tableId: number;
      cookie: bigint; match: Match; data: Buffer;
    };
    /**
     * On 1.5 the wire carries a match instead of in_port: `match` is set only when that match is
     * not exactly [in_port]; otherwise the codec writes/reads in_port as the whole match.
     */
    packet_out: MessageBase & { type: 'packet_out'; bufferId: number; inPort: number; actions: Action[]; data: Buffer; match?: Match };
  }
}

/** OFPR_*, index = wire code. */
const PACKET_IN_REASONS: readonly PacketInReason[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

export const packetIn = defineMessage({
  type: 'packet_in', code: 10, versions: [4, 5, 6],
  read(r, version, xid) {
    const bufferId = r.u32();
    const totalLen = r.u16();
    const reason = reasonOf(PACKET_IN_REASONS, r.u8());
    const tableId = r.u8();
    const cookie = r.u64();
    const match = readMatch(r);
    r.skip(2);
    return { type: 'packet_in', version, xid, bufferId, totalLen, reason, tableId, cookie, match, data: rest(r) };
  },
  write(w, msg) {
    w.u32(msg.bufferId); w.u16(msg.totalLen); w.u8(reasonCode(PACKET_IN_REASONS, msg.reason, 'packet-in reason'));
    w.u8(msg.tableId); w.u64(msg.cookie); writeMatch(w, msg.match); w.u16(0); w.bytes(msg.data);
  },
});

export const packetOut = defineMessage({
  type: 'packet_out', code: 13, versions: [4, 5, 6],
  read(r, version, xid) {
    const bufferId = r.u32();
    if (version >= 6) {
      const actionsLen = r.u16();
      r.skip(2);
      const match = readMatch(r);
      const actions = readActions(r, actionsLen, version);
      const m: OfMessageMap['packet_out'] = { type: 'packet_out', version, xid, bufferId, inPort: OFPP.ANY, actions, data: rest(r) };
      const only = match.length === 1 ? match[0] : undefined;
      if (only && only.kind === 'basic' && only.name === 'in_port' && only.mask === undefined) {
        m.inPort = only.value as number;
      } else {
        const ip = match.find((f) => f.kind === 'basic' && f.name === 'in_port');
        if (ip && ip.kind === 'basic') m.inPort = ip.value as number;
        m.match = match;
      }
      return m;
    }
    const inPort = r.u32();
    const actionsLen = r.u16();
    r.skip(6);
    const actions = readActions(r, actionsLen, version);
    return { type: 'packet_out', version, xid, bufferId, inPort, actions, data: rest(r) };
  },
  write(w, msg) {
    const version = msg.version;
    w.u32(msg.bufferId);
    let lenAt: number;
    if (version >= 6) {
      lenAt = w.offset;
      w.u16(0); w.u16(0);
      writeMatch(w, msg.match ?? [{ kind: 'basic', name: 'in_port', value: msg.inPort }]);
    } else {
      w.u32(msg.inPort);
      lenAt = w.offset;
      w.u16(0); w.zeros(6);
    }
    const actionsStart = w.offset;
    writeActions(w, msg.actions, version);
    w.patchU16(lenAt, w.offset - actionsStart);
    w.bytes(msg.data);
  },
});

export const PACKET_MESSAGES = [packetIn, packetOut] as const;
