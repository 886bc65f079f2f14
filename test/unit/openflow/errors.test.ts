import { describe, expect, test } from 'vitest';
import {
  ERROR_CODE_NAMES, ERROR_TYPE_NAMES, errorCodeName, errorCodeOf, errorTypeCode, errorTypeName,
} from '../../../openflow/errors.js';
import { decodeMessage, encodeMessage } from '../../../openflow/messages.js';

describe('error names', () => {
  test('every type has a code table and names are unique within a type', () => {
    expect(ERROR_TYPE_NAMES).toHaveLength(18);
    for (const t of ERROR_TYPE_NAMES) {
      if (t === 'experimenter') continue;
      const codes = ERROR_CODE_NAMES[t];
      expect(codes.length).toBeGreaterThan(1);
      expect(new Set(codes).size).toBe(codes.length);
    }
  });

  test('spot checks against the 1.3/1.4/1.5 specs', () => {
    expect(errorCodeName('hello_failed', 0)).toBe('incompatible');
    expect(errorCodeName('bad_request', 10)).toBe('is_slave');
    expect(errorCodeName('bad_action', 15)).toBe('bad_set_argument');
    expect(errorCodeName('bad_instruction', 9)).toBe('dup_inst');
    expect(errorCodeName('bad_match', 9)).toBe('bad_prereq');
    expect(errorCodeName('flow_mod_failed', 3)).toBe('overlap');
    expect(errorCodeName('group_mod_failed', 12)).toBe('bad_bucket');
    expect(errorCodeName('group_mod_failed', 16)).toBe('bucket_exists');
    expect(errorCodeName('meter_mod_failed', 11)).toBe('out_of_bands');
    expect(errorCodeName('role_request_failed', 0)).toBe('stale');
    expect(errorCodeName('bundle_failed', 13)).toBe('msg_failed');
    expect(errorCodeName('bundle_failed', 15)).toBe('bundle_in_progress');
    expect(errorCodeName(17, 4)).toBe('bundle_closed');
    expect(errorCodeName('flow_mod_failed', 99)).toBeUndefined();
    expect(errorCodeName(200, 0)).toBeUndefined();
  });

  test('ONF experimenter bundle codes (Open vSwitch on 1.3)', () => {
    expect(errorCodeName('experimenter', 2300, 0x4f4e4600)).toBe('unknown');
    expect(errorCodeName('experimenter', 2311, 0x4f4e4600)).toBe('msg_conflict');
    expect(errorCodeName('experimenter', 2311, 0x2320)).toBeUndefined();
  });

  test('type and code lookups', () => {
    expect(errorTypeName(5)).toBe('flow_mod_failed');
    expect(errorTypeName(0xffff)).toBe('experimenter');
    expect(errorTypeName(40)).toBe(40);
    expect(errorTypeCode('bundle_failed')).toBe(17);
    expect(errorTypeCode('experimenter')).toBe(0xffff);
    expect(errorCodeOf('bad_request', 'bad_type')).toBe(1);
  });

  test('decode fills codeName and keeps the offending message bytes', () => {
    const offending = encodeMessage({ type: 'barrier_request', version: 4, xid: 77 });
    const err = Buffer.concat([Buffer.from('0401000000000001' + '0006' + '000b', 'hex'), offending]);
    err.writeUInt16BE(err.length, 2);
    const d = decodeMessage(err);
    expect(d).toMatchObject({ ok: true, value: { type: 'error', errType: 'group_mod_failed', code: 11, codeName: 'bad_command' } });
    if (d.ok && d.value.type === 'error') expect(decodeMessage(d.value.data)).toMatchObject({ ok: true, value: { type: 'barrier_request', xid: 77 } });
  });
});
