// Identities the load balancer carries on the wire: flow cookies, the query-slot marker MAC, the
// service's virtual MAC and its group id. A restarted controller rebuilds its view from these.

// 64-bit cookies: bits 63..56 kind, 55..32 service id (24 bits), 31..0 backend id (pins) or a
// rule number (service flows).
export const COOKIE_KIND_SERVICE = 0x01n;
export const COOKIE_KIND_PIN = 0x02n;
/** The reply direction of a connection an Open vSwitch learned (`ovs` profile, nat): bits as a pin's. */
export const COOKIE_KIND_REPLY = 0x05n;

export const SERVICE_ID_MAX = 0xff_ffff;
const U32_MAX = 0xffff_ffff;
const KIND_MASK = 0xffn << 56n;
const KIND_SERVICE_MASK = 0xffff_ffffn << 32n;

function checkServiceId(serviceId: number): void {
  if (!Number.isInteger(serviceId) || serviceId < 0 || serviceId > SERVICE_ID_MAX) throw new RangeError(`service id out of range (0..${SERVICE_ID_MAX}): ${serviceId}`);
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`${what} out of range (0..${U32_MAX}): ${v}`);
}

function cookie(kind: bigint, serviceId: number, low: number): bigint {
  return (kind << 56n) | (BigInt(serviceId) << 32n) | BigInt(low);
}

/** The cookie of a service flow (group rule, reverse rules...) that the reconciler owns. */
export function serviceCookie(serviceId: number, rule: number): bigint {
  checkServiceId(serviceId);
  checkU32('rule', rule);
  return cookie(COOKIE_KIND_SERVICE, serviceId, rule);
}

/** The cookie of a pin: which service and backend it belongs to. */
export function pinCookie(serviceId: number, backendId: number): bigint {
  checkServiceId(serviceId);
  checkU32('backend id', backendId);
  return cookie(COOKIE_KIND_PIN, serviceId, backendId);
}

export type ParsedCookie =
  | { kind: 'service'; serviceId: number; rule: number }
  | { kind: 'pin'; serviceId: number; backendId: number }
  | { kind: 'other' };

export function parseCookie(c: bigint): ParsedCookie {
  if (c < 0n || c > 0xffff_ffff_ffff_ffffn) return { kind: 'other' };
  const kind = c >> 56n;
  const serviceId = Number((c >> 32n) & 0xff_ffffn);
  const low = Number(c & 0xffff_ffffn);
  if (kind === COOKIE_KIND_SERVICE) return { kind: 'service', serviceId, rule: low };
  if (kind === COOKIE_KIND_PIN) return { kind: 'pin', serviceId, backendId: low };
  return { kind: 'other' };
}

/** What the reconciler claims: every flow whose cookie kind is 0x01 (all services). */
export const SERVICE_COOKIE_SPACE: { cookie: bigint; mask: bigint } = { cookie: COOKIE_KIND_SERVICE << 56n, mask: KIND_MASK };

/** Matches every pin of one service (flow stats / delete by cookie). */
export const PIN_COOKIE_MASK_FOR_SERVICE = (serviceId: number): { cookie: bigint; mask: bigint } => {
  checkServiceId(serviceId);
  return { cookie: cookie(COOKIE_KIND_PIN, serviceId, 0), mask: KIND_SERVICE_MASK };
};

/** The cookie of a learned reply entry: which service and backend it rewrites replies of. */
export function replyCookie(serviceId: number, backendId: number): bigint {
  checkServiceId(serviceId);
  checkU32('backend id', backendId);
  return cookie(COOKIE_KIND_REPLY, serviceId, backendId);
}

/** Matches every learned reply entry of one service. */
export function replyCookieMaskForService(serviceId: number): { cookie: bigint; mask: bigint } {
  checkServiceId(serviceId);
  return { cookie: cookie(COOKIE_KIND_REPLY, serviceId, 0), mask: KIND_SERVICE_MASK };
}

/** Matches the learned reply entries of one backend (its cookie exactly). */
export function replyCookieMatch(serviceId: number, backendId: number): { cookie: bigint; mask: bigint } {
  return { cookie: replyCookie(serviceId, backendId), mask: 0xffff_ffff_ffff_ffffn };
}

/** Matches every rule flow of one service (its reconciler owner's cookie space). */
export function serviceRulesMatch(serviceId: number): { cookie: bigint; mask: bigint } {
  checkServiceId(serviceId);
  return { cookie: cookie(COOKIE_KIND_SERVICE, serviceId, 0), mask: KIND_SERVICE_MASK };
}

/** Matches the pins of one backend of one service (its cookie exactly). */
export function pinCookieMatch(serviceId: number, backendId: number): { cookie: bigint; mask: bigint } {
  return { cookie: pinCookie(serviceId, backendId), mask: 0xffff_ffff_ffff_ffffn };
}

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

// Query-slot marker: a locally administered unicast MAC carrying service id and slot:
// 0e:SS:SS:SS:LL:LL (24-bit service id, 16-bit slot). 0x0e has the local bit set, multicast clear.
export const MARKER_MAC_PREFIX = 0x0e;
export const MARKER_SLOT_MAX = 0xffff;

export function markerMac(serviceId: number, slot: number): string {
  checkServiceId(serviceId);
  if (!Number.isInteger(slot) || slot < 0 || slot > MARKER_SLOT_MAX) throw new RangeError(`slot out of range (0..${MARKER_SLOT_MAX}): ${slot}`);
  return [MARKER_MAC_PREFIX, serviceId >>> 16, (serviceId >>> 8) & 0xff, serviceId & 0xff, slot >>> 8, slot & 0xff].map(hex2).join(':');
}

/** Fast path: reads the 6 bytes of a packet's eth_dst at `offset` (0 for an Ethernet frame). */
export function parseMarkerMac(mac: Buffer, offset = 0): { serviceId: number; slot: number } | null {
  if (offset < 0 || mac.length < offset + 6 || mac[offset] !== MARKER_MAC_PREFIX) return null;
  return {
    serviceId: (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3],
    slot: (mac[offset + 4] << 8) | mac[offset + 5],
  };
}

// The service's virtual MAC (ARP answers for the VIP): 02:48:46:SS:SS:SS ("HF", locally administered).
export function serviceVmac(serviceId: number): string {
  checkServiceId(serviceId);
  return ['02', '48', '46', hex2(serviceId >>> 16), hex2((serviceId >>> 8) & 0xff), hex2(serviceId & 0xff)].join(':');
}

/** The select group of a service: its id (1..2^24-1 stays far below OFPG_MAX). */
export function groupIdFor(serviceId: number): number {
  checkServiceId(serviceId);
  return serviceId;
}
