// OFPT_ERROR type and code names (OpenFlow 1.3, 1.4 and 1.5 specs), plus the ONF experimenter
// codes Open vSwitch uses for bundle errors on OpenFlow 1.3.
import type { ErrorTypeName } from './types.js';

export const OFPET_EXPERIMENTER = 0xffff;
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;

/** Error type names by type code (0..17); 0xffff is 'experimenter'. */
export const ERROR_TYPE_NAMES: readonly ErrorTypeName[] = [
  'hello_failed', 'bad_request', 'bad_action', 'bad_instruction', 'bad_match', 'flow_mod_failed',
  'group_mod_failed', 'port_mod_failed', 'table_mod_failed', 'queue_op_failed',
  'switch_config_failed', 'role_request_failed', 'meter_mod_failed', 'table_features_failed',
  'bad_property', 'async_config_failed', 'flow_monitor_failed', 'bundle_failed',
];

const BUNDLE_FAILED_CODES = [
  'unknown', 'eperm', 'bad_id', 'bundle_exist', 'bundle_closed', 'out_of_bundles', 'bad_type',
  'bad_flags', 'msg_bad_len', 'msg_bad_xid', 'msg_unsup', 'msg_conflict', 'msg_too_many',
  'msg_failed', 'timeout', 'bundle_in_progress', 'sched_not_supported', 'sched_future', 'sched_past',
];

/** Code names per error type, indexed by code. */
export const ERROR_CODE_NAMES: Readonly<Record<Exclude<ErrorTypeName, 'experimenter'>, readonly string[]>> = {
  hello_failed: ['incompatible', 'eperm'],
  bad_request: [
    'bad_version', 'bad_type', 'bad_multipart', 'bad_experimenter', 'bad_exp_type', 'eperm', 'bad_len',
    'buffer_empty', 'buffer_unknown', 'bad_table_id', 'is_slave', 'bad_port', 'bad_packet',
    'multipart_buffer_overflow', 'multipart_request_timeout', 'multipart_reply_timeout',
    'multipart_bad_sched', 'pipeline_fields_only', 'unknown',
  ],
  bad_action: [
    'bad_type', 'bad_len', 'bad_experimenter', 'bad_exp_type', 'bad_out_port', 'bad_argument', 'eperm',
    'too_many', 'bad_queue', 'bad_out_group', 'match_inconsistent', 'unsupported_order', 'bad_tag',
    'bad_set_type', 'bad_set_len', 'bad_set_argument', 'bad_set_mask', 'bad_meter',
  ],
  bad_instruction: [
    'unknown_inst', 'unsup_inst', 'bad_table_id', 'unsup_metadata', 'unsup_metadata_mask',
    'bad_experimenter', 'bad_exp_type', 'bad_len', 'eperm', 'dup_inst',
  ],
  bad_match: [
    'bad_type', 'bad_len', 'bad_tag', 'bad_dl_addr_mask', 'bad_nw_addr_mask', 'bad_wildcards',
    'bad_field', 'bad_value', 'bad_mask', 'bad_prereq', 'dup_field', 'eperm',
  ],
  flow_mod_failed: [
    'unknown', 'table_full', 'bad_table_id', 'overlap', 'eperm', 'bad_timeout', 'bad_command',
    'bad_flags', 'cant_sync', 'bad_priority', 'is_sync',
  ],
  group_mod_failed: [
    'group_exists', 'invalid_group', 'weight_unsupported', 'out_of_groups', 'out_of_buckets',
    'chaining_unsupported', 'watch_unsupported', 'loop', 'unknown_group', 'chained_group', 'bad_type',
    'bad_command', 'bad_bucket', 'bad_watch', 'eperm', 'unknown_bucket', 'bucket_exists',
  ],
  port_mod_failed: ['bad_port', 'bad_hw_addr', 'bad_config', 'bad_advertise', 'eperm'],
  table_mod_failed: ['bad_table', 'bad_config', 'eperm'],
  queue_op_failed: ['bad_port', 'bad_queue', 'eperm'],
  switch_config_failed: ['bad_flags', 'bad_len', 'eperm'],
  role_request_failed: ['stale', 'unsup', 'bad_role', 'id_unsup', 'id_in_use'],
  meter_mod_failed: [
    'unknown', 'meter_exists', 'invalid_meter', 'unknown_meter', 'bad_command', 'bad_flags', 'bad_rate',
    'bad_burst', 'bad_band', 'bad_band_value', 'out_of_meters', 'out_of_bands',
  ],
  table_features_failed: ['bad_table', 'bad_metadata', 'bad_type', 'bad_len', 'bad_argument', 'eperm'],
  bad_property: [
    'bad_type', 'bad_len', 'bad_value', 'too_many', 'dup_type', 'bad_experimenter', 'bad_exp_type',
    'bad_exp_value', 'eperm',
  ],
  async_config_failed: ['invalid', 'unsupported', 'eperm'],
  flow_monitor_failed: [
    'unknown', 'monitor_exists', 'invalid_monitor', 'unknown_monitor', 'bad_command', 'bad_flags',
    'bad_table_id', 'bad_out',
  ],
  bundle_failed: BUNDLE_FAILED_CODES,
};

/** Open vSwitch's ONF experimenter error codes on OpenFlow 1.3 for bundles: 2300 + bundle_failed code. */
export const ONF_BUNDLE_ERROR_BASE = 2300;

export function errorTypeName(code: number): ErrorTypeName | number {
  if (code === OFPET_EXPERIMENTER) return 'experimenter';
  return ERROR_TYPE_NAMES[code] ?? code;
}

export function errorTypeCode(t: ErrorTypeName | number): number {
  if (typeof t === 'number') return t;
  if (t === 'experimenter') return OFPET_EXPERIMENTER;
  const i = ERROR_TYPE_NAMES.indexOf(t);
  if (i < 0) throw new Error(`unknown error type ${String(t)}`);
  return i;
}

/**
 * Name of an error code, e.g. ('flow_mod_failed', 1) → 'table_full'. For experimenter errors,
 * the ONF bundle codes Open vSwitch sends on 1.3 get their bundle_failed names.
 */
export function errorCodeName(t: ErrorTypeName | number, code: number, experimenter?: number): string | undefined {
  const name = typeof t === 'number' ? errorTypeName(t) : t;
  if (typeof name === 'number') return undefined;
  if (name === 'experimenter') {
    if (experimenter === ONF_EXPERIMENTER_ID && code >= ONF_BUNDLE_ERROR_BASE) {
      return BUNDLE_FAILED_CODES[code - ONF_BUNDLE_ERROR_BASE];
    }
    return undefined;
  }
  return ERROR_CODE_NAMES[name][code];
}

/** Code number for a code name within a type, e.g. ('bad_request', 'bad_type') → 1. */
export function errorCodeOf(t: Exclude<ErrorTypeName, 'experimenter'>, name: string): number {
  const i = ERROR_CODE_NAMES[t].indexOf(name);
  if (i < 0) throw new Error(`unknown ${t} code ${name}`);
  return i;
}
