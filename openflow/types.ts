// Typed OpenFlow messages (1.3 wire format, with the 1.4/1.5 pieces the controller needs).
// Every message is one variant of `OfMessage`, discriminated by `type`. The codec maps bytes to
// these values and back; unknown/experimenter parts keep their raw bytes so re-encoding is exact.

/** Wire version numbers: 1.3 = 4, 1.4 = 5, 1.5 = 6. */
export type WireVersion = 4 | 5 | 6;
export const OFP13 = 4 as const;
export const OFP14 = 5 as const;
export const OFP15 = 6 as const;

// ---------------------------------------------------------------------------------------------
// Match (OXM)

export type { NxmFieldName, OxmBasicField, OxmBasicName, OxmValue, OxmValueKind, OxmValueOf } from './oxm-fields.js';
import type { OxmBasicField } from './oxm-fields.js';

/** One OXM TLV. Basic fields are typed; anything else keeps class, field and raw payload. */
export type OxmField =
  | OxmBasicField
  /** Non-basic class (NXM_0/NXM_1 registers, ONF/experimenter 0xffff with experimenter id). */
  | { kind: 'other'; oxmClass: number; field: number; hasMask: boolean; payload: Buffer };

export type Match = OxmField[];

// ---------------------------------------------------------------------------------------------
// Actions and instructions

export type Action =
  | { type: 'output'; port: number; maxLen: number }
  | { type: 'copy_ttl_out' }
  | { type: 'copy_ttl_in' }
  | { type: 'set_mpls_ttl'; ttl: number }
  | { type: 'dec_mpls_ttl' }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  | { type: 'push_mpls'; ethertype: number }
  | { type: 'pop_mpls'; ethertype: number }
  | { type: 'set_queue'; queueId: number }
  | { type: 'group'; groupId: number }
  | { type: 'set_nw_ttl'; ttl: number }
  | { type: 'dec_nw_ttl' }
  | { type: 'set_field'; field: OxmField }
  | { type: 'push_pbb'; ethertype: number }
  | { type: 'pop_pbb' }
  /** Open vSwitch resubmit(,table): run the packet through `table` as if it arrived on its in_port. */
  | { type: 'nx_resubmit'; table: number }
  /** Open vSwitch fin_timeout: shortens the idle/hard timeout of the flow it runs in once TCP FIN or RST is seen. */
  | { type: 'nx_fin_timeout'; idleTimeout: number; hardTimeout: number }
  /** Open vSwitch learn(...): the switch adds (or refreshes) a flow built from the packet being processed. */
  | ({ type: 'nx_learn' } & LearnAction)
  | { type: 'experimenter'; experimenter: number; data: Buffer }
  /** An action type we do not know: kept whole (header included) for exact re-encoding. */
  | { type: 'unknown'; actionType: number; raw: Buffer };

/** An NXM field as Nicira actions name it: its 32-bit header (class, field, length) and width in bits. */
export interface NxmField {
  name: string;
  header: number;
  bits: number;
}

/** A learn immediate: a number, a MAC ("aa:bb:..") or an IPv4 address ("10.0.0.1"). */
export type LearnValue = number | string;

/** One flow_mod_spec of a learn action: what the learned flow matches, loads or outputs. */
export type LearnSpec =
  /** Match the field on the value it has in the packet being learned from. */
  | { kind: 'match_field'; field: NxmField }
  /** Match `field` on the value `from` has in the packet being learned from (same width): how a
   * learned flow for the other direction swaps source and destination. */
  | { kind: 'match_from'; field: NxmField; from: NxmField }
  /** Match the field on a fixed value. */
  | { kind: 'match_value'; field: NxmField; value: LearnValue }
  /** The learned flow sets the field to a fixed value. */
  | { kind: 'load_value'; field: NxmField; value: LearnValue }
  /** The learned flow outputs to the port held (at learn time) in bits ofs..ofs+bits-1 of `field`. */
  | { kind: 'output_field'; field: NxmField; ofs: number; bits: number };

export interface LearnAction {
  table: number;
  priority: number;
  idleTimeout: number;
  hardTimeout?: number;
  finIdleTimeout?: number;
  finHardTimeout?: number;
  cookie: bigint;
  /** NX_LEARN_F_* bits. */
  flags: number;
  specs: LearnSpec[];
}

export type Instruction =
  | { type: 'goto_table'; tableId: number }
  | { type: 'write_metadata'; metadata: bigint; mask: bigint }
  | { type: 'write_actions'; actions: Action[] }
  | { type: 'apply_actions'; actions: Action[] }
  | { type: 'clear_actions' }
  | { type: 'meter'; meterId: number }
  | { type: 'experimenter'; experimenter: number; data: Buffer }
  | { type: 'unknown'; instructionType: number; raw: Buffer };

// ---------------------------------------------------------------------------------------------
// Constants used across the controller

export const OFPP = {
  MAX: 0xffffff00, IN_PORT: 0xfffffff8, TABLE: 0xfffffff9, NORMAL: 0xfffffffa, FLOOD: 0xfffffffb,
  ALL: 0xfffffffc, CONTROLLER: 0xfffffffd, LOCAL: 0xfffffffe, ANY: 0xffffffff,
} as const;
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;
export const OFPCML_NO_BUFFER = 0xffff;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFPTT_ALL = 0xff;

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';
export type GroupModCommand = 'add' | 'modify' | 'delete'
  /** OpenFlow 1.5 only. */
  | 'insert_bucket' | 'remove_bucket';
/** OFPGT_* group types, index = wire code (also the bit of each in GROUP_FEATURES' `types`). */
export const GROUP_TYPES = ['all', 'select', 'indirect', 'ff'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];
export type ControllerRole = 'nochange' | 'equal' | 'master' | 'slave';
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out' | number;
export type FlowRemovedReason = 'idle_timeout' | 'hard_timeout' | 'delete' | 'group_delete' | 'meter_delete' | 'eviction' | number;
export type PortStatusReason = 'add' | 'delete' | 'modify' | number;

/** OFPFF_* flow-mod flags (bit set). */
export const OFPFF = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 } as const;

export interface Port {
  portNo: number;
  hwAddr: string;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;
  maxSpeed: number;
  /** OpenFlow 1.4+: port properties other than Ethernet, raw and padded. */
  extraProperties?: Buffer;
}

/** A group bucket. In 1.5, `bucketId` and `properties` are carried; in 1.3 weight/watch fields. */
export interface Bucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: Action[];
  /** OpenFlow 1.5: bucket id (OFPG15_BUCKET_* or 0..0xffffff00). */
  bucketId?: number;
  /** OpenFlow 1.5: bucket properties other than weight/watch_port/watch_group, raw and padded. */
  extraProperties?: Buffer;
}

/** OpenFlow 1.5 group property: the Open vSwitch selection-method experimenter property. */
export type GroupProperty =
  | { type: 'ntr_selection_method'; method: string; param: bigint; fields: Match }
  | { type: 'unknown'; raw: Buffer };

// ---------------------------------------------------------------------------------------------
// Error message

export type ErrorTypeName =
  | 'hello_failed' | 'bad_request' | 'bad_action' | 'bad_instruction' | 'bad_match'
  | 'flow_mod_failed' | 'group_mod_failed' | 'port_mod_failed' | 'table_mod_failed'
  | 'queue_op_failed' | 'switch_config_failed' | 'role_request_failed' | 'meter_mod_failed'
  | 'table_features_failed' | 'bad_property' | 'async_config_failed' | 'flow_monitor_failed'
  | 'bundle_failed' | 'experimenter';

// ---------------------------------------------------------------------------------------------
// Multipart

export interface FlowStatsRequestBody {
  tableId: number; outPort: number; outGroup: number; cookie: bigint; cookieMask: bigint; match: Match;
}
export interface FlowStats {
  tableId: number; durationSec: number; durationNsec: number; priority: number;
  idleTimeout: number; hardTimeout: number; flags: number; cookie: bigint;
  packetCount: bigint; byteCount: bigint; match: Match; instructions: Instruction[];
}
export interface TableStats { tableId: number; activeCount: number; lookupCount: bigint; matchedCount: bigint }
export interface PortStats {
  portNo: number; rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint;
  rxDropped: bigint; txDropped: bigint; rxErrors: bigint; txErrors: bigint; rxFrameErr: bigint;
  rxOverErr: bigint; rxCrcErr: bigint; collisions: bigint; durationSec: number; durationNsec: number;
}
export interface GroupStats {
  groupId: number; refCount: number; packetCount: bigint; byteCount: bigint;
  durationSec: number; durationNsec: number; buckets: { packetCount: bigint; byteCount: bigint }[];
}
export interface GroupDesc { groupType: GroupType; groupId: number; buckets: Bucket[] }
export interface GroupFeatures {
  types: number; capabilities: number; maxGroups: [number, number, number, number];
  actions: [number, number, number, number];
}
export interface SwitchDesc { mfrDesc: string; hwDesc: string; swDesc: string; serialNum: string; dpDesc: string }

export type MultipartRequestBody =
  | { kind: 'desc' }
  | { kind: 'flow'; body: FlowStatsRequestBody }
  | { kind: 'aggregate'; body: FlowStatsRequestBody }
  | { kind: 'table' }
  | { kind: 'port_stats'; portNo: number }
  | { kind: 'group'; groupId: number }
  | { kind: 'group_desc' }
  | { kind: 'group_features' }
  | { kind: 'port_desc' }
  | { kind: 'raw'; mpType: number; body: Buffer };

export type MultipartReplyBody =
  | { kind: 'desc'; desc: SwitchDesc }
  | { kind: 'flow'; flows: FlowStats[] }
  | { kind: 'aggregate'; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { kind: 'table'; tables: TableStats[] }
  | { kind: 'port_stats'; ports: PortStats[] }
  | { kind: 'group'; groups: GroupStats[] }
  | { kind: 'group_desc'; groups: GroupDesc[] }
  | { kind: 'group_features'; features: GroupFeatures }
  | { kind: 'port_desc'; ports: Port[] }
  | { kind: 'raw'; mpType: number; body: Buffer };

// ---------------------------------------------------------------------------------------------
// Messages

/** Header fields every message carries. */
export interface MessageBase { version: WireVersion; xid: number }

export type BundleControlType = 'open_request' | 'open_reply' | 'close_request' | 'close_reply' | 'commit_request' | 'commit_reply' | 'discard_request' | 'discard_reply';
/** OFPBF_* bundle flags. */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

/**
 * Every message the codec models, by `type`. This interface is empty here on purpose: each family
 * file in openflow/messages/ adds its own messages to it (declaration merging) next to their
 * declarations (type code, versions, read, write), so a new message is written in one file.
 */
export interface OfMessageMap {}

/** A message type the codec does not model: header fields plus raw body. */
export type RawMessage = MessageBase & { type: 'raw'; msgType: number; body: Buffer };

export type OfMessage = OfMessageMap[keyof OfMessageMap] | RawMessage;

export type OfMessageType = OfMessage['type'];
export type MessageOf<T extends OfMessageType> = Extract<OfMessage, { type: T }>;

// ---------------------------------------------------------------------------------------------
// Decode results

export type OfDecodeErrorKind =
  | 'truncated'        // fewer bytes than a structure needs
  | 'bad_length'       // a length field that lies (too small, past the data, misaligned)
  | 'unsupported_version'
  | 'bad_value'        // an enum or field value that cannot be represented
  | 'too_large';       // over 65535 or over a configured bound

export interface OfDecodeError {
  kind: OfDecodeErrorKind;
  message: string;
  /** Header fields when they could be read, so the controller can answer with an OFPT_ERROR. */
  version?: number;
  msgType?: number;
  xid?: number;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: OfDecodeError };
