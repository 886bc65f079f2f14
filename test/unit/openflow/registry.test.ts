// The message registry: the tables built from the declarations, and what they refuse.
import { describe, expect, it } from 'vitest';
import { Reader } from '../../../openflow/buf.js';
import { MESSAGE_DECLARATIONS, OFPT } from '../../../openflow/messages.js';
import { buildRegistry, defineMessage } from '../../../openflow/registry.js';

describe('message registry', () => {
  it('derives the OFPT codes of the OpenFlow spec from the declarations', () => {
    expect(OFPT).toEqual({
      HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5,
      FEATURES_REPLY: 6, GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10,
      FLOW_REMOVED: 11, PORT_STATUS: 12, PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16,
      TABLE_MOD: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21,
      ROLE_REQUEST: 24, ROLE_REPLY: 25, GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27, SET_ASYNC: 28,
      METER_MOD: 29, ROLE_STATUS: 30, BUNDLE_CONTROL: 33, BUNDLE_ADD_MESSAGE: 34,
    });
  });

  it('builds one entry per code and type, with experimenter forms for 1.3 bundles', () => {
    const reg = buildRegistry(MESSAGE_DECLARATIONS);
    expect(reg.byType.size).toBe(MESSAGE_DECLARATIONS.length);
    expect(reg.byCode.filter((e) => e !== undefined)).toHaveLength(MESSAGE_DECLARATIONS.length);
    expect(reg.byCode[14]!.type).toBe('flow_mod');
    expect([...reg.byExperimenter.values()].map((e) => e.type).sort()).toEqual(['bundle_add_message', 'bundle_control']);
    // bit v = wire version v
    expect(reg.byType.get('bundle_control')!.versions).toBe((1 << 5) | (1 << 6));
    expect(reg.byType.get('bundle_control')!.experimenterVersions).toBe(1 << 4);
  });

  it('refuses two declarations of one code or one type', () => {
    const barrier = MESSAGE_DECLARATIONS.find((d) => d.type === 'barrier_request')!;
    const twinCode = defineMessage({
      type: 'barrier_reply', code: barrier.code, versions: [4],
      read: (_r: Reader, version, xid) => ({ type: 'barrier_reply', version, xid }), write() {},
    });
    expect(() => buildRegistry([barrier, twinCode])).toThrow(/code 20 declared twice/);
    expect(() => buildRegistry([barrier, { ...barrier, code: 99 }])).toThrow(/barrier_request declared twice/);
  });
});
