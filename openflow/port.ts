// struct ofp_port: the fixed 64-byte 1.3 form, and the 1.4/1.5 form (40 bytes + properties, the
// Ethernet property carrying curr/advertised/supported/peer and speeds).
import { CodecError, type Reader, type Writer } from './buf.js';
import { readMac, writeMac } from './addr.js';
import { readPropertyList } from './tlv-list.js';
import type { Port, WireVersion } from './types.js';

export const OFP_MAX_PORT_NAME_LEN = 16;
export const OFPPDPT14_ETHERNET = 0;

/** A NUL-terminated string in a fixed-size field. */
export function readFixedString(r: Reader, size: number): string {
  const b = r.bytes(size);
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? size : nul);
}

export function writeFixedString(w: Writer, s: string, size: number): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length >= size) throw new CodecError('bad_value', `"${s}" does not fit in ${size - 1} bytes`);
  w.bytes(b);
  w.zeros(size - b.length);
}

function readPort13(r: Reader): Port {
  const portNo = r.u32();
  r.skip(4);
  const hwAddr = readMac(r);
  r.skip(2);
  const name = readFixedString(r, OFP_MAX_PORT_NAME_LEN);
  return {
    portNo, hwAddr, name, config: r.u32(), state: r.u32(), curr: r.u32(), advertised: r.u32(),
    supported: r.u32(), peer: r.u32(), currSpeed: r.u32(), maxSpeed: r.u32(),
  };
}

function readPort14(r: Reader): Port {
  const start = r.offset;
  const portNo = r.u32();
  const length = r.u16();
  if (length < 40 || (length & 7) !== 0) throw new CodecError('bad_length', `port length ${length}`);
  r.skip(2);
  const hwAddr = readMac(r);
  r.skip(2);
  const name = readFixedString(r, OFP_MAX_PORT_NAME_LEN);
  const p: Port = {
    portNo, hwAddr, name, config: r.u32(), state: r.u32(),
    curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
  };
  const extra: Buffer[] = [];
  readPropertyList(r.sub(start + length - r.offset), 'port property', (props, type, plen) => {
    if (type !== OFPPDPT14_ETHERNET || plen !== 32) return false;
    props.skip(4);
    p.curr = props.u32(); p.advertised = props.u32(); p.supported = props.u32(); p.peer = props.u32();
    p.currSpeed = props.u32(); p.maxSpeed = props.u32();
    return true;
  }, (raw) => extra.push(raw));
  if (extra.length > 0) p.extraProperties = Buffer.concat(extra);
  return p;
}

/** One port: 64 bytes on version 4, self-describing length with properties on 5 and 6. */
export function readPort(r: Reader, version: WireVersion): Port {
  return version >= 5 ? readPort14(r) : readPort13(r);
}

export function writePort(w: Writer, p: Port, version: WireVersion): void {
  const start = w.offset;
  w.u32(p.portNo);
  if (version >= 5) { w.u16(0); w.u16(0); } else w.u32(0);
  writeMac(w, p.hwAddr);
  w.u16(0);
  writeFixedString(w, p.name, OFP_MAX_PORT_NAME_LEN);
  w.u32(p.config);
  w.u32(p.state);
  if (version >= 5) {
    w.u16(OFPPDPT14_ETHERNET); w.u16(32); w.u32(0);
  }
  w.u32(p.curr); w.u32(p.advertised); w.u32(p.supported); w.u32(p.peer); w.u32(p.currSpeed); w.u32(p.maxSpeed);
  if (version >= 5) {
    if (p.extraProperties) w.bytes(p.extraProperties);
    w.patchU16(start + 4, w.offset - start);
  }
}
