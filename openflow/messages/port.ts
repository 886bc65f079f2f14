// Ports: PORT_STATUS (a port came, went or changed) and PORT_MOD (administrative changes).
import { readMac, writeMac } from '../addr.js';
import { readPort, writePort } from '../port.js';
import { defineMessage } from '../registry.js';
import type { PortStatusReason } from '../types.js';
import { done, reasonCode, reasonOf } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    port_status: MessageBase & { type: 'port_status'; reason: PortStatusReason; port: Port };
    port_mod: MessageBase & { type: 'port_mod'; portNo: number; hwAddr: string; config: number; mask: number; advertise: number };
  }
}

/** OFPPR_*, index = wire code. */
const PORT_STATUS_REASONS: readonly PortStatusReason[] = ['add', 'delete', 'modify'];

export const portStatus = defineMessage({
  type: 'port_status', code: 12, versions: [4, 5, 6],
  read(r, version, xid) {
    const reason = reasonOf(PORT_STATUS_REASONS, r.u8());
    r.skip(7);
    const port = readPort(r, version);
    done(r, 'port status');
    return { type: 'port_status', version, xid, reason, port };
  },
  write(w, msg) {
    w.u8(reasonCode(PORT_STATUS_REASONS, msg.reason, 'port-status reason')); w.zeros(7);
    writePort(w, msg.port, msg.version);
  },
});

export const portMod = defineMessage({
  type: 'port_mod', code: 16, versions: [4, 5, 6],
  read(r, version, xid) {
    const portNo = r.u32();
    r.skip(4);
    const hwAddr = readMac(r);
    r.skip(2);
    const config = r.u32();
    const mask = r.u32();
    let advertise: number;
    if (version === 4) {
      advertise = r.u32();
      r.skip(4);
    } else {
      // 1.4+: properties; only the single Ethernet property is modelled.
      if (r.remaining() !== 8 || r.buf.readUInt32BE(r.offset) !== 8) return undefined;
      r.skip(4);
      advertise = r.u32();
    }
    done(r, 'port mod');
    return { type: 'port_mod', version, xid, portNo, hwAddr, config, mask, advertise };
  },
  write(w, msg) {
    w.u32(msg.portNo); w.u32(0); writeMac(w, msg.hwAddr); w.u16(0); w.u32(msg.config); w.u32(msg.mask);
    if (msg.version >= 5) { w.u16(0); w.u16(8); w.u32(msg.advertise); } else { w.u32(msg.advertise); w.u32(0); }
  },
});

export const PORT_MESSAGES = [portStatus, portMod] as const;
