// The one table of OXM match fields: OpenFlow basic fields (class 0x8000) and the Nicira (NXM)
// fields the `ovs` profile names. Names, value types, codes and lookups are all derived from it:
// a field is added here and nowhere else.

/** How a field's value is represented, with its width in bytes. */
export const OXM_VALUE_BYTES = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 } as const;
export type OxmValueKind = keyof typeof OXM_VALUE_BYTES;

/** The TypeScript type of each kind: u8..u32 numbers, u64 bigint, MAC "aa:bb:cc:dd:ee:ff",
 * IPv4 dotted quad, IPv6 text form. */
export interface OxmValueOfKind { u8: number; u16: number; u24: number; u32: number; u64: bigint; mac: string; ipv4: string; ipv6: string }
export type OxmValue = OxmValueOfKind[OxmValueKind];

interface FieldDef {
  /** oxm_field within its class. */
  readonly code: number;
  readonly kind: OxmValueKind;
  /** Maskable per the OpenFlow spec. The codec also carries masks on other fields (Open vSwitch accepts some). */
  readonly maskable: boolean;
}

/** Every OpenFlow basic OXM field (OpenFlow 1.3 plus the 1.4/1.5 additions), by name. */
export const OXM_BASIC = {
  in_port: { code: 0, kind: 'u32', maskable: false },
  in_phy_port: { code: 1, kind: 'u32', maskable: false },
  metadata: { code: 2, kind: 'u64', maskable: true },
  eth_dst: { code: 3, kind: 'mac', maskable: true },
  eth_src: { code: 4, kind: 'mac', maskable: true },
  eth_type: { code: 5, kind: 'u16', maskable: false },
  vlan_vid: { code: 6, kind: 'u16', maskable: true },
  vlan_pcp: { code: 7, kind: 'u8', maskable: false },
  ip_dscp: { code: 8, kind: 'u8', maskable: false },
  ip_ecn: { code: 9, kind: 'u8', maskable: false },
  ip_proto: { code: 10, kind: 'u8', maskable: false },
  ipv4_src: { code: 11, kind: 'ipv4', maskable: true },
  ipv4_dst: { code: 12, kind: 'ipv4', maskable: true },
  tcp_src: { code: 13, kind: 'u16', maskable: false },
  tcp_dst: { code: 14, kind: 'u16', maskable: false },
  udp_src: { code: 15, kind: 'u16', maskable: false },
  udp_dst: { code: 16, kind: 'u16', maskable: false },
  sctp_src: { code: 17, kind: 'u16', maskable: false },
  sctp_dst: { code: 18, kind: 'u16', maskable: false },
  icmpv4_type: { code: 19, kind: 'u8', maskable: false },
  icmpv4_code: { code: 20, kind: 'u8', maskable: false },
  arp_op: { code: 21, kind: 'u16', maskable: false },
  arp_spa: { code: 22, kind: 'ipv4', maskable: true },
  arp_tpa: { code: 23, kind: 'ipv4', maskable: true },
  arp_sha: { code: 24, kind: 'mac', maskable: true },
  arp_tha: { code: 25, kind: 'mac', maskable: true },
  ipv6_src: { code: 26, kind: 'ipv6', maskable: true },
  ipv6_dst: { code: 27, kind: 'ipv6', maskable: true },
  ipv6_flabel: { code: 28, kind: 'u32', maskable: true },
  icmpv6_type: { code: 29, kind: 'u8', maskable: false },
  icmpv6_code: { code: 30, kind: 'u8', maskable: false },
  ipv6_nd_target: { code: 31, kind: 'ipv6', maskable: false },
  ipv6_nd_sll: { code: 32, kind: 'mac', maskable: false },
  ipv6_nd_tll: { code: 33, kind: 'mac', maskable: false },
  mpls_label: { code: 34, kind: 'u32', maskable: false },
  mpls_tc: { code: 35, kind: 'u8', maskable: false },
  mpls_bos: { code: 36, kind: 'u8', maskable: false },
  pbb_isid: { code: 37, kind: 'u24', maskable: true },
  tunnel_id: { code: 38, kind: 'u64', maskable: true },
  ipv6_exthdr: { code: 39, kind: 'u16', maskable: true },
  pbb_uca: { code: 41, kind: 'u8', maskable: false },
  tcp_flags: { code: 42, kind: 'u16', maskable: true },
  actset_output: { code: 43, kind: 'u32', maskable: false },
  packet_type: { code: 44, kind: 'u32', maskable: false },
} as const satisfies Record<string, FieldDef>;

export type OxmBasicName = keyof typeof OXM_BASIC;
/** The value type of a basic field: OxmValueOf<'tcp_dst'> is number, OxmValueOf<'ipv4_src'> string. */
export type OxmValueOf<N extends OxmBasicName> = OxmValueOfKind[(typeof OXM_BASIC)[N]['kind']];

/** One basic field with a value of its own type (and, optionally, a mask of the same type). */
export type OxmBasicField = { [N in OxmBasicName]: { kind: 'basic'; name: N; value: OxmValueOf<N>; mask?: OxmValueOf<N> } }[OxmBasicName];

/**
 * The Nicira (NXM) fields the `ovs` profile names in learn actions (Open vSwitch's
 * lib/meta-flow.h): class NXM_0 (0x0000), their code and kind, and the basic field each stands
 * for (`basic`: the same packet field, as Open vSwitch's meta-flow maps them). Nicira's in_port is
 * 16 bits.
 */
export const NXM_FIELDS = {
  NXM_OF_IN_PORT: { oxmClass: 0, code: 0, kind: 'u16', basic: 'in_port' },
  NXM_OF_ETH_DST: { oxmClass: 0, code: 1, kind: 'mac', basic: 'eth_dst' },
  NXM_OF_ETH_TYPE: { oxmClass: 0, code: 3, kind: 'u16', basic: 'eth_type' },
  NXM_OF_IP_PROTO: { oxmClass: 0, code: 6, kind: 'u8', basic: 'ip_proto' },
  NXM_OF_IP_SRC: { oxmClass: 0, code: 7, kind: 'ipv4', basic: 'ipv4_src' },
  NXM_OF_IP_DST: { oxmClass: 0, code: 8, kind: 'ipv4', basic: 'ipv4_dst' },
  NXM_OF_TCP_SRC: { oxmClass: 0, code: 9, kind: 'u16', basic: 'tcp_src' },
  NXM_OF_TCP_DST: { oxmClass: 0, code: 10, kind: 'u16', basic: 'tcp_dst' },
  NXM_OF_UDP_SRC: { oxmClass: 0, code: 11, kind: 'u16', basic: 'udp_src' },
  NXM_OF_UDP_DST: { oxmClass: 0, code: 12, kind: 'u16', basic: 'udp_dst' },
} as const satisfies Record<string, { oxmClass: number; code: number; kind: OxmValueKind; basic: OxmBasicName }>;

export type NxmFieldName = keyof typeof NXM_FIELDS;

/** The 32-bit OXM/NXM header of an unmasked field: class, field code, value length. */
export function oxmHeader(oxmClass: number, code: number, kind: OxmValueKind): number {
  return ((oxmClass << 16) | (code << 9) | OXM_VALUE_BYTES[kind]) >>> 0;
}

/** What names a field in a header: its class and field code (not its length or has-mask bit). */
const fieldKey = (oxmClass: number, code: number): number => ((oxmClass << 16) | (code << 9)) >>> 0;

const BASIC_BY_KEY = new Map<number, OxmBasicName>([
  ...(Object.keys(OXM_BASIC) as OxmBasicName[]).map((n): [number, OxmBasicName] => [fieldKey(0x8000, OXM_BASIC[n].code), n]),
  ...Object.values(NXM_FIELDS).map((f): [number, OxmBasicName] => [fieldKey(f.oxmClass, f.code), f.basic]),
]);

/** The basic field an OXM basic or NXM header names (masked or not), or undefined for a field
 * outside the table. */
export function basicFieldOfHeader(header: number): OxmBasicName | undefined {
  return BASIC_BY_KEY.get(fieldKey(header >>> 16, (header >>> 9) & 0x7f));
}
