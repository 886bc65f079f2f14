// RFC 1071 internet checksum, and the TCP/UDP checksum over the IPv4 pseudo-header.

/** One's-complement sum of 16-bit big-endian words in [start, end), not folded or inverted. */
export function onesSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8; // odd length: pad with a zero byte
  return sum;
}

/** Folds a sum to 16 bits and inverts it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  return finishChecksum(onesSum(b, start, end));
}

/** Checksum of a TCP or UDP segment at [start, end) under an IPv4 pseudo-header. */
export function ipv4L4Checksum(b: Uint8Array, start: number, end: number, srcIp: number, dstIp: number, proto: number): number {
  const pseudo = (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + proto + (end - start);
  return finishChecksum(onesSum(b, start, end, pseudo));
}
