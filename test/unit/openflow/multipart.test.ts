// Multipart bodies: every kind round-trips through write → read, 1.3 record sizes are exact, and
// malformed bodies raise a typed CodecError instead of misreading.
import { describe, expect, it } from 'vitest';
import { CodecError, Reader, Writer } from '../../../openflow/buf.js';
import {
  OFPMP, readMultipartReplyBody, readMultipartRequestBody, writeMultipartReplyBody, writeMultipartRequestBody,
} from '../../../openflow/multipart.js';
import type {
  FlowStats, GroupDesc, MultipartReplyBody, MultipartRequestBody, Port, PortStats, WireVersion,
} from '../../../openflow/types.js';
import { OFPG, OFPP } from '../../../openflow/types.js';
import { lbMatch } from '../../fixtures/openflow/messages.js';

function writeReq(body: MultipartRequestBody, v: WireVersion): { type: number; bytes: Buffer } {
  const w = new Writer();
  const type = writeMultipartRequestBody(w, body, v);
  return { type, bytes: Buffer.from(w.finish()) };
}

function writeRep(body: MultipartReplyBody, v: WireVersion): { type: number; bytes: Buffer } {
  const w = new Writer();
  const type = writeMultipartReplyBody(w, body, v);
  return { type, bytes: Buffer.from(w.finish()) };
}

function roundTripReq(body: MultipartRequestBody, v: WireVersion): MultipartRequestBody {
  const { type, bytes } = writeReq(body, v);
  const r = new Reader(bytes);
  const back = readMultipartRequestBody(r, type, v);
  expect(r.remaining()).toBe(0);
  return back;
}

function roundTripRep(body: MultipartReplyBody, v: WireVersion): MultipartReplyBody {
  const { type, bytes } = writeRep(body, v);
  const r = new Reader(bytes);
  const back = readMultipartReplyBody(r, type, v);
  expect(r.remaining()).toBe(0);
  return back;
}

function codecErrorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw e;
  }
  throw new Error('expected a CodecError');
}

const flowReq = {
  tableId: 0xff, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0x1234_5678_9abc_def0n, cookieMask: 0xffff_0000_0000_0000n,
  match: [
    { kind: 'basic', name: 'eth_type', value: 0x0800 },
    { kind: 'basic', name: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
  ],
} satisfies Extract<MultipartRequestBody, { kind: 'flow' }>['body'];

const flow1: FlowStats = {
  tableId: 0, durationSec: 12, durationNsec: 345_000_000, priority: 100, idleTimeout: 10, hardTimeout: 0,
  flags: 1, cookie: 0xfeed_0001_0000_0002n, packetCount: 42n, byteCount: 4200n,
  match: lbMatch,
  instructions: [{
    type: 'apply_actions', actions: [
      { type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:0a' } },
      { type: 'output', port: 3, maxLen: 0 },
    ],
  }],
};
const flow2: FlowStats = {
  ...flow1, tableId: 1, priority: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [],
  instructions: [{ type: 'goto_table', tableId: 2 }, { type: 'write_metadata', metadata: 5n, mask: 0xffn }],
};

const portStats: PortStats = {
  portNo: 2, rxPackets: 103766n, txPackets: 136n, rxBytes: 39651480n, txBytes: 11512n, rxDropped: 1n,
  txDropped: 2n, rxErrors: 3n, txErrors: 4n, rxFrameErr: 5n, rxOverErr: 6n, rxCrcErr: 7n, collisions: 8n,
  durationSec: 1, durationNsec: 1_000_000,
};

const port: Port = {
  portNo: 3, hwAddr: '50:54:00:00:00:01', name: 'eth0', config: 1, state: 1, curr: 0x2008,
  advertised: 0x280f, supported: 0x280f, peer: 0, currSpeed: 100000, maxSpeed: 100000,
};

const groupDesc: GroupDesc[] = [
  {
    groupType: 'select', groupId: 7, buckets: [
      { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 1, maxLen: 0 }] },
      { weight: 2, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] },
    ],
  },
  { groupType: 'indirect', groupId: 8, buckets: [] },
];

const V: WireVersion[] = [4, 5, 6];

describe('multipart request bodies', () => {
  it.each(V)('round-trips every kind in wire version %i', (v) => {
    const bodies: MultipartRequestBody[] = [
      { kind: 'desc' },
      { kind: 'flow', body: flowReq },
      { kind: 'aggregate', body: { ...flowReq, match: [] } },
      { kind: 'table' },
      { kind: 'port_stats', portNo: OFPP.ANY },
      { kind: 'group', groupId: OFPG.ALL },
      { kind: 'group_desc' },
      { kind: 'group_features' },
      { kind: 'port_desc' },
      { kind: 'raw', mpType: OFPMP.METER, body: Buffer.from('0000000100000000', 'hex') },
    ];
    for (const b of bodies) expect(roundTripReq(b, v)).toEqual(b);
  });

  it('uses the 1.3 type codes and sizes', () => {
    expect(writeReq({ kind: 'desc' }, 4)).toEqual({ type: 0, bytes: Buffer.alloc(0) });
    const flow = writeReq({ kind: 'flow', body: { ...flowReq, match: [] } }, 4);
    expect(flow.type).toBe(1);
    // ofp_flow_stats_request: 32 fixed bytes + an empty ofp_match (4 bytes padded to 8).
    expect(flow.bytes.toString('hex')).toBe(
      'ff000000ffffffffffffffff00000000123456789abcdef0ffff000000000000' + '0001000400000000');
    expect(writeReq({ kind: 'aggregate', body: flowReq }, 4).type).toBe(2);
    expect(writeReq({ kind: 'port_stats', portNo: 5 }, 4)).toEqual({ type: 4, bytes: Buffer.from('0000000500000000', 'hex') });
    expect(writeReq({ kind: 'group', groupId: 9 }, 4)).toEqual({ type: 6, bytes: Buffer.from('0000000900000000', 'hex') });
    expect(writeReq({ kind: 'group_desc' }, 4)).toEqual({ type: 7, bytes: Buffer.alloc(0) });
    expect(writeReq({ kind: 'group_features' }, 4)).toEqual({ type: 8, bytes: Buffer.alloc(0) });
    expect(writeReq({ kind: 'port_desc' }, 4)).toEqual({ type: 13, bytes: Buffer.alloc(0) });
  });

  it('adds the 1.5 group_id / port_no to group desc and port desc requests', () => {
    expect(writeReq({ kind: 'group_desc' }, 6).bytes.toString('hex')).toBe('fffffffc00000000');
    expect(writeReq({ kind: 'port_desc' }, 6).bytes.toString('hex')).toBe('ffffffff00000000');
    // A 1.5 request for one group only is kept raw rather than widened to "all groups".
    const one = readMultipartRequestBody(new Reader(Buffer.from('0000000700000000', 'hex')), 7, 6);
    expect(one).toEqual({ kind: 'raw', mpType: 7, body: Buffer.from('0000000700000000', 'hex') });
  });

  it('rejects trailing bytes and short bodies with typed errors', () => {
    expect(codecErrorOf(() => readMultipartRequestBody(new Reader(Buffer.alloc(4)), OFPMP.DESC, 4)).kind).toBe('bad_length');
    expect(codecErrorOf(() => readMultipartRequestBody(new Reader(Buffer.alloc(4)), OFPMP.PORT_STATS, 4)).kind).toBe('truncated');
    expect(codecErrorOf(() => readMultipartRequestBody(new Reader(Buffer.alloc(20)), OFPMP.FLOW, 4)).kind).toBe('truncated');
  });
});

describe('multipart reply bodies', () => {
  const replies = (v: WireVersion): MultipartReplyBody[] => [
    { kind: 'desc', desc: { mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: '3.1.0', serialNum: 'None', dpDesc: 'br0' } },
    { kind: 'flow', flows: [flow1, flow2] },
    { kind: 'flow', flows: [] },
    { kind: 'aggregate', packetCount: 121n, byteCount: 19279n, flowCount: 3 },
    { kind: 'table', tables: [{ tableId: 0, activeCount: 11, lookupCount: 512n, matchedCount: 256n }, { tableId: 1, activeCount: 12, lookupCount: 513n, matchedCount: 257n }] },
    { kind: 'port_stats', ports: [portStats, { ...portStats, portNo: OFPP.LOCAL }] },
    {
      kind: 'group', groups: [
        { groupId: 1, refCount: 2, packetCount: 3n, byteCount: 4n, durationSec: 5, durationNsec: 6, buckets: [{ packetCount: 7n, byteCount: 8n }, { packetCount: 9n, byteCount: 10n }] },
        { groupId: 2, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0, buckets: [] },
      ],
    },
    { kind: 'group_desc', groups: v === 6 ? groupDesc.map((g) => ({ ...g, buckets: g.buckets.map((b, i) => ({ ...b, bucketId: i })) })) : groupDesc },
    { kind: 'group_features', features: { types: 0xf, capabilities: 0xf, maxGroups: [1, 2, 3, 4], actions: [1, 3, 7, 0xf] } },
    { kind: 'port_desc', ports: [port, { ...port, portNo: OFPP.LOCAL, name: 'br0', hwAddr: 'aa:bb:cc:dd:ee:ff' }] },
    { kind: 'raw', mpType: OFPMP.METER_FEATURES, body: Buffer.from('000100000000000600000000f1000000', 'hex') },
  ];

  it.each(V)('round-trips every kind in wire version %i', (v) => {
    for (const b of replies(v)) expect(roundTripRep(b, v)).toEqual(b);
  });

  it('writes the exact 1.3 record sizes', () => {
    const sizes = (v: WireVersion) => Object.fromEntries(replies(v).map((b) => [b.kind + (b.kind === 'flow' ? (b.flows.length ? '' : '0') : ''), writeRep(b, v).bytes.length]));
    const s13 = sizes(4);
    expect(s13.desc).toBe(1056);
    expect(s13.aggregate).toBe(24);
    expect(s13.table).toBe(2 * 24);
    expect(s13.port_stats).toBe(2 * 112);
    expect(s13.group).toBe(40 + 2 * 16 + 40);
    expect(s13.group_features).toBe(40);
    expect(s13.port_desc).toBe(2 * 64);
    expect(s13.flow0).toBe(0);
    // 1.4 ports and port stats carry an Ethernet property.
    const s14 = sizes(5);
    expect(s14.port_desc).toBe(2 * 72);
    expect(s14.port_stats).toBe(2 * 120);
  });

  it('writes 1.5 flow and aggregate counters as OXS stats', () => {
    expect(writeRep({ kind: 'aggregate', packetCount: 121n, byteCount: 19279n, flowCount: 3 }, 6).bytes.toString('hex')).toBe(
      '00000024' + '80020604' + '00000003' + '80020808' + '0000000000000079' + '80020a08' + '0000000000004b4f' + '00000000');
    const one = writeRep({ kind: 'flow', flows: [{ ...flow2, instructions: [] }] }, 6).bytes;
    // 24 fixed bytes, an empty match (8), duration + packets + bytes (4 + 12 + 12 + 12 = 40), no instructions.
    expect(one.length).toBe(24 + 8 + 40);
    expect(one.subarray(32, 36).toString('hex')).toBe('00000028');
    expect(one.subarray(36, 48).toString('hex')).toBe('80020008' + '0000000c' + '14904840');
  });

  it('reads 1.5 OXS stats in any order and skips unknown or masked entries', () => {
    // flow_count, an idle_time, an experimenter-class entry, byte_count, packet_count.
    const stats = '00000038' + '80020604' + '00000007' + '80020208' + '0000000100000002' + 'ffff0004' + 'deadbeef'
      + '80020a08' + '0000000000000064' + '80020808' + '0000000000000005';
    expect(readMultipartReplyBody(new Reader(Buffer.from(stats, 'hex')), OFPMP.AGGREGATE, 6))
      .toEqual({ kind: 'aggregate', flowCount: 7, packetCount: 5n, byteCount: 100n });
    const cut = Buffer.from(stats, 'hex');
    cut.writeUInt16BE(0x60, 2);
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(cut), OFPMP.AGGREGATE, 6)).kind).toBe('truncated');
  });

  it('decodes unknown multipart types as raw', () => {
    const body = Buffer.from('deadbeef', 'hex');
    expect(readMultipartReplyBody(new Reader(body), 0x1234, 4)).toEqual({ kind: 'raw', mpType: 0x1234, body });
  });

  it('rejects strings that do not fit their fixed field (NUL terminator included)', () => {
    const desc = { mfrDesc: 'x'.repeat(256), hwDesc: '', swDesc: '', serialNum: '', dpDesc: '' };
    expect(codecErrorOf(() => writeRep({ kind: 'desc', desc }, 4)).kind).toBe('bad_value');
    const fits = roundTripRep({ kind: 'desc', desc: { ...desc, mfrDesc: 'x'.repeat(255), serialNum: 'y'.repeat(31) } }, 4);
    expect(fits.kind === 'desc' && [fits.desc.mfrDesc.length, fits.desc.serialNum.length]).toEqual([255, 31]);
  });

  it('rejects flow stats records whose length lies', () => {
    const { bytes } = writeRep({ kind: 'flow', flows: [flow1] }, 4);
    const tooLong = Buffer.from(bytes);
    tooLong.writeUInt16BE(bytes.length + 8, 0);
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(tooLong), OFPMP.FLOW, 4)).kind).toBe('bad_length');
    const tooShort = Buffer.from(bytes);
    tooShort.writeUInt16BE(40, 0);
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(tooShort), OFPMP.FLOW, 4)).kind).toBe('bad_length');
    const misaligned = Buffer.from(bytes);
    misaligned.writeUInt16BE(bytes.length - 4, 0);
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(misaligned), OFPMP.FLOW, 4)).kind).toBe('bad_length');
  });

  it('rejects fixed-size record lists cut mid-record', () => {
    const { bytes } = writeRep(replies(4).find((b) => b.kind === 'port_desc')!, 4);
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(bytes.subarray(0, 100)), OFPMP.PORT_DESC, 4)).kind).toBe('bad_length');
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(Buffer.alloc(1000)), OFPMP.DESC, 4)).kind).toBe('truncated');
  });

  it('rejects an unknown group type in a group desc', () => {
    const { bytes } = writeRep({ kind: 'group_desc', groups: [{ groupType: 'all', groupId: 1, buckets: [] }] }, 4);
    bytes[2] = 9;
    expect(codecErrorOf(() => readMultipartReplyBody(new Reader(bytes), OFPMP.GROUP_DESC, 4)).kind).toBe('bad_value');
  });

  it('reads the 1.4 port Ethernet property and keeps unknown properties', () => {
    const { bytes } = writeRep({ kind: 'port_desc', ports: [port] }, 5);
    // Append an experimenter property (type 0xffff, 12 bytes, padded to 16) and fix the length.
    const extra = Buffer.from('ffff000c00002320000000010000000000', 'hex').subarray(0, 16);
    const withProp = Buffer.concat([bytes, extra]);
    withProp.writeUInt16BE(withProp.length, 4);
    const back = readMultipartReplyBody(new Reader(withProp), OFPMP.PORT_DESC, 5);
    expect(back).toEqual({ kind: 'port_desc', ports: [{ ...port, extraProperties: extra }] });
    expect(writeRep(back, 5).bytes.toString('hex')).toBe(withProp.toString('hex'));
  });
});
