import { describe, expect, test } from 'vitest';
import { Reader, Writer } from '../../../openflow/buf.js';
import { readBuckets, writeBuckets } from '../../../openflow/buckets.js';
import { OFPG, OFPP, type Bucket } from '../../../openflow/types.js';

const out = (port: number) => ({ type: 'output' as const, port, maxLen: 0 });

describe('1.3 buckets', () => {
  test('round-trip with weight and watch fields', () => {
    const buckets: Bucket[] = [
      { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(1)] },
      { weight: 3, watchPort: 2, watchGroup: 7, actions: [{ type: 'set_field', field: { kind: 'basic', name: 'eth_dst', value: '02:00:00:00:00:02' } }, out(2)] },
      { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [] },
    ];
    for (const v of [4, 5] as const) {
      const w = new Writer();
      writeBuckets(w, buckets, v);
      const b = w.finish();
      expect(b.readUInt16BE(0)).toBe(32);
      expect(b.subarray(0, 16).toString('hex')).toBe('00200001ffffffffffffffff00000000');
      expect(readBuckets(new Reader(b), b.length, v)).toEqual(buckets);
    }
  });
});

describe('1.5 buckets', () => {
  test('select buckets carry bucket id and weight property', () => {
    const buckets: Bucket[] = [
      { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(1)], bucketId: 0 },
      { weight: 5, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(2)], bucketId: 9 },
    ];
    const w = new Writer();
    writeBuckets(w, buckets, 6, 'select');
    const b = w.finish();
    // len 8 + 16 (output) + 8 (weight prop) = 32; action_array_len 16; bucket_id 0
    expect(b.subarray(0, 8).toString('hex')).toBe('0020001000000000');
    expect(b.subarray(24, 32).toString('hex')).toBe('0000000800010000');
    expect(readBuckets(new Reader(b), b.length, 6, 'select')).toEqual(buckets);
  });

  test('fast-failover watch properties and unknown properties', () => {
    const buckets: Bucket[] = [
      { weight: 0, watchPort: 4, watchGroup: 8, actions: [out(4)], bucketId: 1, extraProperties: Buffer.from('ffff000c0000232000000001' + '00000000', 'hex') },
    ];
    const w = new Writer();
    writeBuckets(w, buckets, 6, 'ff');
    const b = Buffer.from(w.finish());
    expect(b.length % 8).toBe(0);
    const back = readBuckets(new Reader(b), b.length, 6, 'ff');
    expect(back).toEqual(buckets);
    const w2 = new Writer();
    writeBuckets(w2, back, 6, 'ff');
    expect(w2.finish().equals(b)).toBe(true);
  });

  test('missing bucket ids default to the index; select without weight prop decodes weight 1', () => {
    const w = new Writer();
    writeBuckets(w, [{ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [] }, { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [] }], 6, 'all');
    const b = w.finish();
    expect(b.toString('hex')).toBe('00080000000000000008000000000001');
    expect(readBuckets(new Reader(b), b.length, 6, 'select').map((x) => [x.bucketId, x.weight])).toEqual([[0, 1], [1, 1]]);
  });
});
