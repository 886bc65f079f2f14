// Ethernet header walk shared by the full parser and the flow-key fast path.
import { ETH_TYPE } from './types.js';

export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;

function isVlanTpid(t: number): boolean {
  return t === ETH_TYPE.VLAN || t === ETH_TYPE.QINQ || t === ETH_TYPE.QINQ_OLD;
}

/**
 * Offset of the L3 header after the MACs and any stacked VLAN tags, or -1 when the frame is cut
 * short. The final ethertype is the u16 just before the returned offset. When `vlans` is given,
 * each tag's VLAN id is appended to it, outermost first.
 */
export function ethL3Offset(buf: Uint8Array, vlans?: number[]): number {
  const len = buf.length;
  let off = 12; // ethertype / TPID position
  if (len < ETH_HEADER_LEN) return -1;
  let t = (buf[off] << 8) | buf[off + 1];
  while (isVlanTpid(t)) {
    if (len < off + 2 + VLAN_TAG_LEN) return -1;
    if (vlans) vlans.push(((buf[off + 2] << 8) | buf[off + 3]) & 0x0fff);
    off += VLAN_TAG_LEN;
    t = (buf[off] << 8) | buf[off + 1];
  }
  return off + 2;
}
