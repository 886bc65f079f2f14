// Address text <-> bytes. Used on hot paths (packet parsing, OXM codec), so no regexes and no
// intermediate arrays: MACs "aa:bb:cc:dd:ee:ff" (lower case out, either case in), IPv4 dotted
// quads as u32 numbers, IPv6 in RFC 5952 text.

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 0x20; // fold to lower case
  if (l >= 97 && l <= 102) return l - 87; // a-f
  return -1;
}

/** Writes a MAC into buf at off; returns false (writing nothing useful) if `mac` is malformed. */
export function writeMac(buf: Buffer, off: number, mac: string): boolean {
  if (mac.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexVal(mac.charCodeAt(p));
    const lo = hexVal(mac.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(p + 2) !== 58 /* : */)) return false;
    buf[off + i] = (hi << 4) | lo;
  }
  return true;
}

export function isMac(mac: string): boolean {
  return writeMac(Buffer.allocUnsafe(6), 0, mac);
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes. Throws TypeError on a malformed MAC. */
export function macToBuffer(mac: string): Buffer {
  const b = Buffer.allocUnsafe(6);
  if (!writeMac(b, 0, mac)) throw new TypeError(`bad MAC address: ${JSON.stringify(mac)}`);
  return b;
}

/** 6 bytes at off → "aa:bb:cc:dd:ee:ff". The caller ensures off+6 <= buf.length. */
export function bufferToMac(buf: Uint8Array, off = 0): string {
  return (
    HEX2[buf[off]] + ':' + HEX2[buf[off + 1]] + ':' + HEX2[buf[off + 2]] + ':' +
    HEX2[buf[off + 3]] + ':' + HEX2[buf[off + 4]] + ':' + HEX2[buf[off + 5]]
  );
}

/** Dotted quad → u32, or null when malformed (no leading '+', no empty parts, each 0..255). */
export function parseIpv4(s: string, from = 0, to = s.length): number | null {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return null;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3) return null;
      part = part * 10 + (c - 48);
      if (part > 255) return null;
      digits++;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return n * 256 + part;
}

/** Dotted quad → u32. Throws TypeError when malformed. */
export function ipv4ToNumber(s: string): number {
  const n = parseIpv4(s);
  if (n === null) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`);
  return n;
}

/** u32 → dotted quad. */
export function numberToIpv4(n: number): string {
  return (n >>> 24) + '.' + ((n >>> 16) & 0xff) + '.' + ((n >>> 8) & 0xff) + '.' + (n & 0xff);
}

/** 16 bytes at off → RFC 5952 text (longest zero run of 2+ groups as "::", IPv4-mapped as ::ffff:a.b.c.d). */
export function bufferToIpv6(buf: Uint8Array, off = 0): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + buf[off + 12] + '.' + buf[off + 13] + '.' + buf[off + 14] + '.' + buf[off + 15];
  }
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += g[i].toString(16);
  }
  return s;
}

/** IPv6 text (with optional "::" and trailing dotted quad) → 16 bytes, or null when malformed. */
export function parseIpv6(s: string): Buffer | null {
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" sits
  let i = 0;
  const n = s.length;
  if (n < 2) return null;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46 /* . */) {
      // trailing dotted quad takes two groups
      const q = parseIpv4(s, i, n);
      if (q === null) return null;
      groups.push(q >>> 16, q & 0xffff);
      i = n;
      break;
    }
    if (j === i || j - i > 4) return null;
    groups.push(v);
    if (j === n) {
      i = n;
      break;
    }
    if (s.charCodeAt(j) !== 58 /* : */) return null;
    if (j + 1 < n && s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === n) return null; // trailing single ':'
    }
  }
  if (groups.length > 8 || (gap < 0 && groups.length !== 8) || (gap >= 0 && groups.length > 7)) return null;
  const out = Buffer.alloc(16);
  const tail = gap < 0 ? 0 : groups.length - gap;
  for (let k = 0; k < groups.length; k++) {
    const slot = gap >= 0 && k >= gap ? 8 - tail + (k - gap) : k;
    out.writeUInt16BE(groups[k], slot * 2);
  }
  return out;
}

/** IPv6 text → 16 bytes. Throws TypeError when malformed. */
export function ipv6ToBuffer(s: string): Buffer {
  const b = parseIpv6(s);
  if (b === null) throw new TypeError(`bad IPv6 address: ${JSON.stringify(s)}`);
  return b;
}
