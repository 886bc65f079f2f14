import { describe, expect, test } from 'vitest';
import { CodecError } from '../../../openflow/buf.js';
import { decodeHeader, decodeMessage, encodeMessage } from '../../../openflow/messages.js';
import { OFPG, OFPP, type OfMessage, type Port, type WireVersion } from '../../../openflow/types.js';

function roundTrip(msg: OfMessage): Buffer {
  const bytes = encodeMessage(msg);
  expect(bytes.readUInt16BE(2)).toBe(bytes.length);
  expect(bytes[0]).toBe(msg.version);
  expect(bytes.readUInt32BE(4)).toBe(msg.xid);
  const d = decodeMessage(bytes);
  if (!d.ok) throw new Error(`decode failed: ${d.error.kind}: ${d.error.message}`);
  expect(d.value).toEqual(msg);
  expect(encodeMessage(d.value).equals(bytes)).toBe(true);
  return bytes;
}

const out = (port: number) => ({ type: 'output' as const, port, maxLen: 0 });
const port13: Port = {
  portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'veth-a', config: 0, state: 4, curr: 0x2820,
  advertised: 0, supported: 0, peer: 0, currSpeed: 10000000, maxSpeed: 0,
};
const flowMod = (version: WireVersion): OfMessage => ({
  type: 'flow_mod', version, xid: 7, cookie: 0x1122334455667788n, cookieMask: 0n, tableId: 0, command: 'add',
  idleTimeout: 10, hardTimeout: 0, priority: 100, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 1,
  match: [
    { kind: 'basic', name: 'eth_type', value: 0x0800 }, { kind: 'basic', name: 'ip_proto', value: 6 },
    { kind: 'basic', name: 'ipv4_src', value: '10.0.0.9' }, { kind: 'basic', name: 'ipv4_dst', value: '10.0.0.1' },
    { kind: 'basic', name: 'tcp_src', value: 3333 }, { kind: 'basic', name: 'tcp_dst', value: 80 },
  ],
  instructions: [{ type: 'apply_actions', actions: [
    { type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:01' } },
    { type: 'set_field', field: { kind: 'basic', name: 'ipv4_dst', value: '10.0.1.2' } },
    { type: 'set_field', field: { kind: 'basic', name: 'tcp_dst', value: 8080 } }, out(2),
  ] }],
});

describe('OpenFlow 1.3 messages round-trip', () => {
  const v = 4 as const;
  const cases: OfMessage[] = [
    { type: 'hello', version: v, xid: 1, versions: [4] },
    { type: 'hello', version: v, xid: 1, versions: null },
    { type: 'hello', version: v, xid: 1, versions: [4, 6], bitmapVersions: [1, 4, 6] },
    { type: 'hello', version: v, xid: 1, versions: [4, 5], elements: Buffer.from('0002000800000000', 'hex') },
    { type: 'error', version: v, xid: 2, errType: 'flow_mod_failed', code: 1, codeName: 'table_full', data: Buffer.from('040e0008', 'hex') },
    { type: 'error', version: v, xid: 2, errType: 'experimenter', code: 2313, codeName: 'msg_failed', experimenter: 0x4f4e4600, data: Buffer.alloc(0) },
    { type: 'error', version: v, xid: 2, errType: 'experimenter', code: 7, experimenter: 0x2320, data: Buffer.from('ab', 'hex') },
    { type: 'error', version: v, xid: 2, errType: 99, code: 3, data: Buffer.alloc(0) },
    { type: 'echo_request', version: v, xid: 3, data: Buffer.from('hello') },
    { type: 'echo_reply', version: v, xid: 3, data: Buffer.alloc(0) },
    { type: 'experimenter', version: v, xid: 4, experimenter: 0x2320, expType: 20, data: Buffer.from('0000000000000001', 'hex') },
    { type: 'features_request', version: v, xid: 5 },
    { type: 'features_reply', version: v, xid: 5, datapathId: 0x0000aabbccddeeffn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f },
    { type: 'get_config_request', version: v, xid: 6 },
    { type: 'get_config_reply', version: v, xid: 6, flags: 0, missSendLen: 128 },
    { type: 'set_config', version: v, xid: 6, flags: 0, missSendLen: 0xffff },
    {
      type: 'packet_in', version: v, xid: 0, bufferId: 0xffffffff, totalLen: 60, reason: 'action', tableId: 0, cookie: 0xabn,
      match: [{ kind: 'basic', name: 'in_port', value: 3 }, { kind: 'other', oxmClass: 1, field: 0, hasMask: false, payload: Buffer.from('00000005', 'hex') }],
      data: Buffer.alloc(60, 1),
    },
    { type: 'packet_in', version: v, xid: 0, bufferId: 1, totalLen: 0, reason: 9, tableId: 3, cookie: 0n, match: [], data: Buffer.alloc(0) },
    {
      type: 'flow_removed', version: v, xid: 0, cookie: 5n, priority: 1000, reason: 'idle_timeout', tableId: 0, durationSec: 12,
      durationNsec: 500, idleTimeout: 10, hardTimeout: 0, packetCount: 3n, byteCount: 180n,
      match: [{ kind: 'basic', name: 'eth_type', value: 0x0800 }, { kind: 'basic', name: 'ipv4_src', value: '10.0.0.0', mask: '255.255.255.0' }],
    },
    { type: 'port_status', version: v, xid: 0, reason: 'modify', port: port13 },
    { type: 'packet_out', version: v, xid: 8, bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [out(1)], data: Buffer.alloc(64, 2) },
    flowMod(v),
    { ...flowMod(v), command: 'delete_strict', instructions: [] } as OfMessage,
    {
      type: 'group_mod', version: v, xid: 9, command: 'add', groupType: 'select', groupId: 1,
      buckets: [
        { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(1)] },
        { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] },
      ],
    },
    { type: 'group_mod', version: v, xid: 9, command: 'delete', groupType: 'all', groupId: OFPG.ALL, buckets: [] },
    { type: 'port_mod', version: v, xid: 10, portNo: 2, hwAddr: '02:00:00:00:00:02', config: 1, mask: 1, advertise: 0 },
    { type: 'table_mod', version: v, xid: 11, tableId: 0xff, config: 3 },
    {
      type: 'meter_mod', version: v, xid: 12, command: 'add', flags: 0x5, meterId: 1, bands: [
        { type: 'drop', rate: 1000, burstSize: 100 }, { type: 'dscp_remark', rate: 2000, burstSize: 0, precLevel: 1 },
        { type: 'experimenter', rate: 1, burstSize: 2, experimenter: 0x2320 },
        { type: 'unknown', bandType: 7, raw: Buffer.from('0007000c000000010000000200000000', 'hex').subarray(0, 12) },
      ],
    },
    { type: 'barrier_request', version: v, xid: 13 },
    { type: 'barrier_reply', version: v, xid: 13 },
    { type: 'role_request', version: v, xid: 14, role: 'master', generationId: 3n },
    { type: 'role_reply', version: v, xid: 14, role: 'slave', generationId: 0xffffffffffffffffn },
    { type: 'get_async_request', version: v, xid: 15 },
    { type: 'get_async_reply', version: v, xid: 15, packetInMask: [7, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] },
    { type: 'set_async', version: v, xid: 15, packetInMask: [3, 1], portStatusMask: [0, 0], flowRemovedMask: [1, 0] },
    { type: 'multipart_request', version: v, xid: 16, flags: 0, body: { kind: 'desc' } },
    { type: 'multipart_reply', version: v, xid: 16, flags: 1, body: { kind: 'raw', mpType: 0xfffe, body: Buffer.from('01020304', 'hex') } },
    { type: 'bundle_control', version: v, xid: 17, bundleId: 1, controlType: 'open_request', flags: 3 },
    { type: 'bundle_control', version: v, xid: 17, bundleId: 1, controlType: 'commit_reply', flags: 0, properties: Buffer.from('ffff000c000000010000000200000000', 'hex') },
    { type: 'bundle_add_message', version: v, xid: 18, bundleId: 1, flags: 3, message: flowMod(v) },
    { type: 'raw', version: v, xid: 19, msgType: 22, body: Buffer.from('ffffffff00000000', 'hex') },
  ];
  for (const m of cases) {
    test(`${m.type} ${m.type === 'error' ? String(m.errType) : ''}`, () => { roundTrip(m); });
  }
});

describe('exact bytes (checked against ovs-ofctl ofp-print while developing)', () => {
  test('1.3 flow_mod', () => {
    expect(encodeMessage(flowMod(4)).toString('hex')).toBe(
      '040e00a800000007112233445566778800000000000000000000000a00000064ffffffffffffffffffffffff00010000' +
      '0001002b80000a0208008000140106800016040a000009800018040a00000180001a020d0580001c0200500000000000' +
      '00040048000000000019001080000606020000000001000000190010800018040a000102000000000019001080001c02' +
      '1f9000000000000000000010000000020000000000000000',
    );
  });

  test('1.5 hello', () => {
    expect(encodeMessage({ type: 'hello', version: 6, xid: 1, versions: [4, 5, 6] }).toString('hex'))
      .toBe('06000010000000010001000800000070');
  });

  test('1.3 ONF bundle control and add', () => {
    expect(encodeMessage({ type: 'bundle_control', version: 4, xid: 3, bundleId: 9, controlType: 'commit_request', flags: 1 }).toString('hex'))
      .toBe('040400180000000' + '34f4e4600000008fc000000090004' + '0001');
    expect(encodeMessage({ type: 'bundle_add_message', version: 4, xid: 3, bundleId: 9, flags: 1, message: { type: 'barrier_request', version: 4, xid: 3 } }).toString('hex'))
      .toBe('04040020000000034f4e4600000008fd00000009000000010414000800000003');
  });

  test('1.4 native bundle control and add', () => {
    expect(encodeMessage({ type: 'bundle_control', version: 5, xid: 3, bundleId: 9, controlType: 'open_request', flags: 1 }).toString('hex'))
      .toBe('05210010000000030000000900000001');
    const add = encodeMessage({ type: 'bundle_add_message', version: 5, xid: 3, bundleId: 9, flags: 0, message: flowMod(5) });
    expect(add[1]).toBe(34);
    expect(add.subarray(16).equals(encodeMessage(flowMod(5)))).toBe(true);
  });

  test('1.5 select group with Open vSwitch selection method', () => {
    const bytes = encodeMessage({
      type: 'group_mod', version: 6, xid: 2, command: 'add', groupType: 'select', groupId: 1,
      buckets: [
        { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(1)], bucketId: 0 },
        { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(2)], bucketId: 1 },
      ],
      properties: [{ type: 'ntr_selection_method', method: 'hash', param: 0n, fields: [
        { kind: 'basic', name: 'ipv4_src', value: '0.0.0.0' }, { kind: 'basic', name: 'tcp_src', value: 0 },
      ] }],
    });
    expect(bytes.toString('hex')).toBe(
      '060f009000000002000001000000000100400000ffffffff' +
      '00200010000000000000001000000001000000000000000000000008000100000' +
      '020001000000001000000100000000200000000000000000000000800010000' +
      'ffff00360000154d0000000100000000686173680000000000000000000000000000000000000000800016040000000080001a0200000000',
    );
  });

  test('1.5 packet_out with in_port as its match', () => {
    const m: OfMessage = { type: 'packet_out', version: 6, xid: 4, bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [out(1)], data: Buffer.from('0102030405060708090a0b0c0800', 'hex') };
    const bytes = roundTrip(m);
    expect(bytes.toString('hex')).toBe('060d003e00000004ffffffff001000000001000c80000004fffffffd00000000000000100000000100000000000000000102030405060708090a0b0c0800');
  });
  // Bytes that ovs-ofctl ofp-print decoded as intended (OVS 3.1): decode gives the kind, re-encode the same bytes.
  const verified: [string, string][] = [
    ['bundle_control', '04040018000000034f4e4600000008fc0000000900040001'],
    ['bundle_control', '05210010000000030000000900000001'],
    ['port_status', '050c005800000000000000000000000000000001004800000200000000010000766574682d610000000000000000000000000000000000040000002000000000000028200000000000000000000000000098968000000000'],
    ['port_mod', '051000280000000a0000000200000000020000000002000000000001000000010000000800000020'],
    ['meter_mod', '041d00300000000c000000050000000100010010000003e8000000640000000000020010000007d00000000001000000'],
    ['error', '0401001000000002ffff09094f4e4600'],
    ['set_async', '041c00200000000f000000030000000100000000000000000000000100000000'],
    ['role_request', '041800180000000e00000002000000000000000000000003'],
    ['group_mod', '060f003800000009000301000000000500200000fffffffe0020001000000011000000100000000300000000000000000000000800030000'],
    ['flow_removed', '040b004800000000000000000000000503e800000000000c000001f4000a0000000000000000000300000000000000b40001001680000a020800800017080a000000ffffff000000'],
  ];
  for (const [type, hex] of verified) {
    test(`${type} ${hex.slice(0, 4)}`, () => {
      const b = Buffer.from(hex, 'hex');
      const d = decodeMessage(b);
      if (!d.ok) throw new Error(d.error.message);
      expect(d.value.type).toBe(type);
      expect(encodeMessage(d.value).toString('hex')).toBe(hex);
    });
  }
});

describe('OpenFlow 1.4 / 1.5 forms', () => {
  test('1.4 port_status with properties', () => {
    const bytes = roundTrip({ type: 'port_status', version: 5, xid: 0, reason: 'add', port: port13 });
    expect(bytes.length).toBe(8 + 8 + 72);
    roundTrip({ type: 'port_status', version: 6, xid: 0, reason: 'delete', port: { ...port13, extraProperties: Buffer.from('ffff000c000023200000000100000000', 'hex') } });
  });

  test('flow_mod with importance on 1.4/1.5; 1.3 writes pad', () => {
    roundTrip({ ...flowMod(5), importance: 7 } as OfMessage);
    roundTrip(flowMod(6));
    const b = encodeMessage({ ...flowMod(4), importance: 7 } as OfMessage);
    expect(b.readUInt16BE(8 + 38)).toBe(0);
  });

  test('1.4 port_mod, table_mod, hello, error', () => {
    roundTrip({ type: 'port_mod', version: 5, xid: 10, portNo: 2, hwAddr: '02:00:00:00:00:02', config: 1, mask: 1, advertise: 0x20 });
    roundTrip({ type: 'table_mod', version: 5, xid: 11, tableId: 1, config: 0 });
    roundTrip({ type: 'hello', version: 5, xid: 1, versions: [4, 5] });
    roundTrip({ type: 'error', version: 5, xid: 1, errType: 'bundle_failed', code: 13, codeName: 'msg_failed', data: Buffer.alloc(0) });
    roundTrip({ type: 'bundle_add_message', version: 5, xid: 18, bundleId: 1, flags: 3, message: flowMod(5), properties: Buffer.from('ffff000c000000010000000200000000', 'hex') });
  });

  test('1.5 flow_removed with OXS stats', () => {
    const m: OfMessage = {
      type: 'flow_removed', version: 6, xid: 0, cookie: 5n, priority: 1000, reason: 'idle_timeout', tableId: 0, durationSec: 12,
      durationNsec: 500, idleTimeout: 10, hardTimeout: 0, packetCount: 3n, byteCount: 180n,
      match: [{ kind: 'basic', name: 'eth_type', value: 0x0800 }, { kind: 'basic', name: 'ipv4_src', value: '10.0.0.0', mask: '255.255.255.0' }],
    };
    // ovs-ofctl: "priority=1000,ip,nw_src=10.0.0.0/24 reason=idle table_id=0 cookie:0x5 duration12.0000005s idle10 pkts3 bytes180"
    expect(roundTrip(m).toString('hex')).toBe('060b005800000000000003e8000a000000000000000000050001001680000a020800800017080a000000ffffff00000000000028800200080000000c000001f480020808000000000000000380020a0800000000000000b4');
  });

  test('1.5 group mods: insert/remove bucket, properties kept', () => {
    roundTrip({
      type: 'group_mod', version: 6, xid: 9, command: 'insert_bucket', groupType: 'select', groupId: 5, commandBucketId: 0xfffffffe,
      buckets: [{ weight: 3, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(3)], bucketId: 17 }],
    });
    roundTrip({ type: 'group_mod', version: 6, xid: 9, command: 'remove_bucket', groupType: 'select', groupId: 5, commandBucketId: 17, buckets: [] });
    roundTrip({
      type: 'group_mod', version: 6, xid: 9, command: 'modify', groupType: 'select', groupId: 5, commandBucketId: 0xffffffff,
      buckets: [{ weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(3)], bucketId: 0 }],
      properties: [
        { type: 'ntr_selection_method', method: 'dp_hash', param: 3n, fields: [] },
        { type: 'unknown', raw: Buffer.from('ffff000c000023200000000100000000', 'hex') },
      ],
    });
  });

  test('1.5 packet_out with a richer match keeps it', () => {
    roundTrip({
      type: 'packet_out', version: 6, xid: 4, bufferId: 0xffffffff, inPort: 3, actions: [],
      match: [{ kind: 'basic', name: 'in_port', value: 3 }, { kind: 'basic', name: 'metadata', value: 1n }], data: Buffer.alloc(0),
    });
  });

  test('unmodelled 1.4/1.5 layouts decode as raw and re-encode exactly', () => {
    // 1.5 flow-removed whose stats also carry idle_time (OXS field 1): not the modelled form
    const fr = Buffer.from(
      '060b005800000000000003e8000a0000000000000000000500010004000000000000' +
      '0034' + '800200080000000c000001f4' + '8002020800000005' + '00000000' + '800208080000000000000003' + '80020a0800000000000000b4' + '00000000', 'hex');
    expect(fr.length).toBe(0x58);
    const d = decodeMessage(fr);
    expect(d.ok && d.value.type).toBe('raw');
    if (d.ok) expect(encodeMessage(d.value).equals(fr)).toBe(true);
    const asyncProps = Buffer.from('051c0010000000010000000800000003', 'hex');
    const a = decodeMessage(asyncProps);
    expect(a.ok && a.value.type).toBe('raw');
    const tm = Buffer.from('0511001800000001010000000000000000020008000000ff', 'hex');
    const t = decodeMessage(tm);
    expect(t.ok && t.value).toMatchObject({ type: 'raw', msgType: 17 });
  });

  test('unknown message types are raw', () => {
    const b = Buffer.from('041e0010000000050000000100000002', 'hex');
    const d = decodeMessage(b);
    expect(d.ok && d.value).toMatchObject({ type: 'raw', msgType: 30, xid: 5 });
  });
});

describe('malformed input gives typed errors, never throws', () => {
  const good = encodeMessage(flowMod(4));

  test('short header', () => {
    const d = decodeMessage(Buffer.from('0400', 'hex'));
    expect(d).toEqual({ ok: false, error: expect.objectContaining({ kind: 'truncated' }) });
    expect(decodeHeader(Buffer.alloc(3)).ok).toBe(false);
    expect(decodeHeader(good)).toEqual({ ok: true, value: { version: 4, type: 14, length: good.length, xid: 7 } });
  });

  test('header length lies', () => {
    const longer = Buffer.from(good); longer.writeUInt16BE(good.length + 8, 2);
    const shorter = Buffer.from(good); shorter.writeUInt16BE(good.length - 8, 2);
    const tiny = Buffer.from(good); tiny.writeUInt16BE(4, 2);
    expect(decodeMessage(longer)).toMatchObject({ ok: false, error: { kind: 'truncated', xid: 7, msgType: 14, version: 4 } });
    expect(decodeMessage(shorter)).toMatchObject({ ok: false, error: { kind: 'bad_length' } });
    expect(decodeMessage(tiny)).toMatchObject({ ok: false, error: { kind: 'bad_length' } });
  });

  test('every truncation of a valid message is an error, not a crash', () => {
    // Up to the end of the match every cut is malformed; later cuts at an instruction boundary are
    // valid flow-mods with fewer instructions, the others malformed.
    const matchEnd = 8 + 40 + 48;
    for (let n = 8; n < good.length; n++) {
      const cut = Buffer.from(good.subarray(0, n));
      cut.writeUInt16BE(n, 2);
      const d = decodeMessage(cut);
      if (n !== matchEnd) {
        expect(d.ok, `cut at ${n}`).toBe(false);
        if (!d.ok) expect(['truncated', 'bad_length', 'bad_value']).toContain(d.error.kind);
      } else {
        expect(d.ok && d.value.type === 'flow_mod' && d.value.instructions).toEqual([]);
      }
    }
  });

  test('inner match length lies', () => {
    const b = Buffer.from(good);
    b.writeUInt16BE(0x0100, 8 + 40 + 2); // match length past the message
    expect(decodeMessage(b)).toMatchObject({ ok: false, error: { kind: 'truncated', xid: 7 } });
  });

  test('unsupported versions (but HELLO of any version decodes)', () => {
    expect(decodeMessage(Buffer.from('0105000800000009', 'hex'))).toEqual({
      ok: false, error: { kind: 'unsupported_version', message: expect.any(String), version: 1, msgType: 5, xid: 9 },
    });
    expect(decodeMessage(Buffer.from('0700000800000009', 'hex'))).toMatchObject({ ok: true, value: { type: 'hello', version: 7, versions: null } });
    expect(decodeMessage(Buffer.from('01000010000000090001000800000012', 'hex'))).toMatchObject({
      ok: true, value: { type: 'hello', version: 1, versions: [4], bitmapVersions: [1, 4] },
    });
  });

  test('bad enum values and trailing bytes', () => {
    const b = Buffer.from(good); b[8 + 17] = 9; // flow-mod command
    expect(decodeMessage(b)).toMatchObject({ ok: false, error: { kind: 'bad_value' } });
    expect(decodeMessage(Buffer.from('0414000c00000001ffffffff', 'hex'))).toMatchObject({ ok: false, error: { kind: 'bad_length' } });
    expect(decodeMessage(Buffer.from('04180018000000010000000900000000' + '0000000000000000', 'hex'))).toMatchObject({ ok: false, error: { kind: 'bad_value' } });
  });

  test('bundle_add with a broken inner message fails with the inner error', () => {
    const add = encodeMessage({ type: 'bundle_add_message', version: 5, xid: 18, bundleId: 1, flags: 0, message: flowMod(5) });
    const b = Buffer.from(add);
    b[16 + 8 + 17] = 9; // inner flow-mod command
    expect(decodeMessage(b)).toMatchObject({ ok: false, error: { kind: 'bad_value', xid: 18, msgType: 34 } });
    const c = Buffer.from(add);
    c.writeUInt16BE(add.length, 16 + 2); // inner length past the outer
    expect(decodeMessage(c)).toMatchObject({ ok: false, error: { kind: 'bad_length' } });
  });

  test('random bytes never throw', () => {
    let seed = 12345;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    for (let i = 0; i < 3000; i++) {
      const base = Buffer.from(good);
      for (let k = 0; k < 1 + (rnd() % 4); k++) base[8 + (rnd() % (base.length - 8))] = rnd() & 0xff;
      expect(() => decodeMessage(base)).not.toThrow();
    }
  });
});

describe('encodeMessage buffers', () => {
  test('earlier results are not overwritten by later encodes, nor by a failed one', () => {
    const first = encodeMessage(flowMod(4));
    const copy = Buffer.from(first);
    const many: Buffer[] = [];
    for (let i = 0; i < 500; i++) many.push(encodeMessage({ type: 'echo_request', version: 4, xid: i, data: Buffer.alloc(i % 97, i & 0xff) }));
    expect(() => encodeMessage({ ...flowMod(4), priority: -1 } as OfMessage)).toThrow(CodecError);
    many.push(encodeMessage({ type: 'echo_request', version: 4, xid: 9999, data: Buffer.alloc(20000, 7) })); // larger than the slab
    expect(first.equals(copy)).toBe(true);
    many.slice(0, 500).forEach((b, i) => {
      const d = decodeMessage(b);
      expect(d.ok && d.value.type === 'echo_request' && d.value.xid === i && d.value.data.length === i % 97).toBe(true);
    });
    expect(many[500].length).toBe(20008);
    expect(decodeMessage(many[500]).ok).toBe(true);
  });
});

describe('encode rejects what cannot be encoded', () => {
  const bad = (m: OfMessage, kind: string) => {
    try { encodeMessage(m); expect.unreachable(); } catch (e) { expect(e).toBeInstanceOf(CodecError); expect((e as CodecError).kind).toBe(kind); }
  };
  test('values', () => {
    bad({ ...flowMod(4), command: 'nope' } as unknown as OfMessage, 'bad_value');
    bad({ ...flowMod(4), priority: 70000 } as OfMessage, 'bad_value');
    bad({ type: 'group_mod', version: 4, xid: 1, command: 'insert_bucket', groupType: 'select', groupId: 1, buckets: [] }, 'bad_value');
    bad({ type: 'port_mod', version: 4, xid: 1, portNo: 1, hwAddr: 'zz', config: 0, mask: 0, advertise: 0 }, 'bad_value');
    bad({ type: 'group_mod', version: 6, xid: 1, command: 'add', groupType: 'select', groupId: 1, buckets: [], properties: [{ type: 'ntr_selection_method', method: 'a_very_long_method_name', param: 0n, fields: [] }] }, 'bad_value');
  });
  test('too large', () => {
    bad({ type: 'echo_request', version: 4, xid: 1, data: Buffer.alloc(70000) }, 'too_large');
    // and the scratch writer still works afterwards
    expect(encodeMessage({ type: 'echo_request', version: 4, xid: 1, data: Buffer.alloc(4) }).length).toBe(12);
  });
});
