// Pre-encoded pin flow-mods and packet-outs for the query/reply hot path. For one service, backend
// and switch, every pin differs only in the client's address and port, and every packet-out only in
// its in_port and packet: encode each once through the codec with sentinel values, remember where
// the sentinels landed, and per packet copy the bytes and patch those fields (and xid, length).

import { encodeMessage } from '../../openflow/messages.js';
import { OFPP, OFP_NO_BUFFER, type WireVersion } from '../../openflow/types.js';
import type { Service } from './model.js';
import { forwardActions, pinFlowMod, type BackendTarget, type PinOptions } from './pipeline.js';

const SENTINEL_IP = 0xc6336447; // 198.51.100.71 (documentation range)
const SENTINEL_PORT = 0xbeef;
const SENTINEL_IN_PORT = 0x7eedf00d;

export interface PinTemplate {
  bytes: Buffer;
  ipAt: number;
  portAt: number;
}

export interface PacketOutTemplate {
  /** Everything but the packet, which follows the actions. */
  bytes: Buffer;
  inPortAt: number;
}

/** Offset of the only occurrence of `value` (as `width` big-endian bytes) after `from`. */
function findUnique(buf: Buffer, value: number, width: 2 | 4, from: number): number {
  const needle = Buffer.alloc(width);
  if (width === 4) needle.writeUInt32BE(value >>> 0);
  else needle.writeUInt16BE(value);
  const at = buf.indexOf(needle, from);
  if (at < 0 || buf.indexOf(needle, at + 1) >= 0) throw new Error(`template field not found exactly once (0x${value.toString(16)})`);
  return at;
}

export function buildPinTemplate(service: Service, t: BackendTarget, version: WireVersion, opts: PinOptions): PinTemplate {
  const ip = `${SENTINEL_IP >>> 24}.${(SENTINEL_IP >>> 16) & 255}.${(SENTINEL_IP >>> 8) & 255}.${SENTINEL_IP & 255}`;
  const msg = pinFlowMod(service, { srcIp: ip, srcPort: SENTINEL_PORT }, t, opts);
  const bytes = Buffer.from(encodeMessage({ ...msg, version, xid: 0 }));
  return { bytes, ipAt: findUnique(bytes, SENTINEL_IP, 4, 8), portAt: findUnique(bytes, SENTINEL_PORT, 2, 8) };
}

export function buildPacketOutTemplate(service: Service, t: BackendTarget, version: WireVersion): PacketOutTemplate {
  const bytes = Buffer.from(encodeMessage({
    type: 'packet_out', version, xid: 0, bufferId: OFP_NO_BUFFER, inPort: SENTINEL_IN_PORT,
    actions: forwardActions(service, t), data: Buffer.alloc(0),
  }));
  return { bytes, inPortAt: findUnique(bytes, SENTINEL_IN_PORT, 4, 8) };
}

/** Writes a pin for client (srcIp, srcPort) at buf[at]. */
export function fillPin(tpl: PinTemplate, buf: Buffer, at: number, xid: number, srcIp: number, srcPort: number): void {
  tpl.bytes.copy(buf, at);
  buf.writeUInt32BE(xid >>> 0, at + 4);
  buf.writeUInt32BE(srcIp >>> 0, at + tpl.ipAt);
  buf.writeUInt16BE(srcPort, at + tpl.portAt);
}

/** Writes a packet-out of `data` that arrived on `inPort` at buf[at]. */
export function fillPacketOut(tpl: PacketOutTemplate, buf: Buffer, at: number, xid: number, inPort: number, data: Buffer): void {
  tpl.bytes.copy(buf, at);
  buf.writeUInt16BE(tpl.bytes.length + data.length, at + 2);
  buf.writeUInt32BE(xid >>> 0, at + 4);
  buf.writeUInt32BE(inPort >>> 0, at + tpl.inPortAt);
  data.copy(buf, at + tpl.bytes.length);
}

/** A packet-out can use the template unless it must leave by the port it came in on. */
export function templateFits(t: BackendTarget, inPort: number | undefined): boolean {
  return inPort !== undefined && inPort !== t.port && inPort !== OFPP.CONTROLLER;
}
