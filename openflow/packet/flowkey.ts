// Hot path for the load balancer: the IPv4 TCP/UDP 5-tuple and TCP flags of a packet-in, with
// no string or array allocation (extractFlowKeyInto allocates nothing at all).
import { ethL3Offset } from './eth.js';
import { ETH_TYPE, IP_PROTO, type FlowKey } from './types.js';

/**
 * Fills `out` and returns true for an IPv4 TCP/UDP packet whose L4 header is present (first
 * fragment only), VLAN tags skipped. Returns false (leaving `out` partly written) otherwise.
 */
export function extractFlowKeyInto(b: Buffer, out: FlowKey): boolean {
  const o = ethL3Offset(b);
  if (o < 0 || ((b[o - 2] << 8) | b[o - 1]) !== ETH_TYPE.IPV4) return false;
  const len = b.length;
  if (len < o + 20) return false;
  const vihl = b[o];
  const hl = (vihl & 0x0f) << 2;
  if (vihl >> 4 !== 4 || hl < 20) return false;
  if ((((b[o + 6] << 8) | b[o + 7]) & 0x1fff) !== 0) return false; // not the first fragment
  const totalLength = (b[o + 2] << 8) | b[o + 3];
  if (totalLength < hl) return false;
  const end = Math.min(len, o + totalLength);
  const proto = b[o + 9];
  const l4 = o + hl;
  if (proto === IP_PROTO.TCP) {
    if (end < l4 + 20 || b[l4 + 12] >> 4 < 5) return false;
    out.tcpFlags = ((b[l4 + 12] & 1) << 8) | b[l4 + 13];
  } else if (proto === IP_PROTO.UDP) {
    if (end < l4 + 8) return false;
    out.tcpFlags = 0;
  } else {
    return false;
  }
  out.proto = proto;
  out.srcIp = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
  out.dstIp = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
  out.srcPort = (b[l4] << 8) | b[l4 + 1];
  out.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
  return true;
}

/** The flow key of an IPv4 TCP/UDP packet, or null for anything else. */
export function extractFlowKey(b: Buffer): FlowKey | null {
  const k: FlowKey = { srcIp: 0, dstIp: 0, proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0 };
  return extractFlowKeyInto(b, k) ? k : null;
}
