// Group buckets. Versions 4/5 use the 1.3 ofp_bucket (len, weight, watch_port, watch_group, pad,
// actions); version 6 uses the 1.5 ofp15_bucket (len, action_array_len, bucket_id, actions,
// then weight/watch properties).
import { CodecError, type Reader, type Writer } from './buf.js';
import { readActions, writeActions } from './actions.js';
import { readPropertyList } from './tlv-list.js';
import { OFPG, OFPP, type Bucket, type GroupType, type WireVersion } from './types.js';

export const OFPGBPT15 = { WEIGHT: 0, WATCH_PORT: 1, WATCH_GROUP: 2, EXPERIMENTER: 0xffff } as const;
export const OFPG15_BUCKET = { MAX: 0xffffff00, FIRST: 0xfffffffd, LAST: 0xfffffffe, ALL: 0xffffffff } as const;

function readBucket13(r: Reader, version: WireVersion): Bucket {
  const len = r.u16();
  if (len < 16 || (len & 7) !== 0) throw new CodecError('bad_length', `bucket length ${len}`);
  const weight = r.u16();
  const watchPort = r.u32();
  const watchGroup = r.u32();
  r.skip(4);
  return { weight, watchPort, watchGroup, actions: readActions(r, len - 16, version) };
}

function readBucket15(r: Reader, version: WireVersion, groupType: GroupType | undefined): Bucket {
  const start = r.offset;
  const len = r.u16();
  const actionsLen = r.u16();
  if (len < 8 || (len & 7) !== 0 || actionsLen > len - 8) {
    throw new CodecError('bad_length', `bucket length ${len}, action array length ${actionsLen}`);
  }
  const bucketId = r.u32();
  const actions = readActions(r, actionsLen, version);
  // Open vSwitch's default when a select bucket carries no weight property is 1.
  const b: Bucket = { weight: groupType === 'select' ? 1 : 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions, bucketId };
  let extra: Buffer[] | undefined;
  readPropertyList(r.sub(start + len - r.offset), 'bucket property', (props, ptype, plen) => {
    if (plen !== 8) return false;
    if (ptype === OFPGBPT15.WEIGHT) b.weight = props.u16();
    else if (ptype === OFPGBPT15.WATCH_PORT) b.watchPort = props.u32();
    else if (ptype === OFPGBPT15.WATCH_GROUP) b.watchGroup = props.u32();
    else return false;
    return true;
  }, (raw) => (extra ??= []).push(raw));
  if (extra) b.extraProperties = Buffer.concat(extra);
  return b;
}

/**
 * Reads `len` bytes of buckets. `groupType` (optional) only matters for version 6: a select
 * bucket without a weight property gets weight 1, as Open vSwitch assumes.
 */
export function readBuckets(r: Reader, len: number, version: WireVersion, groupType?: GroupType): Bucket[] {
  const sub = r.sub(len);
  const out: Bucket[] = [];
  while (sub.remaining() > 0) {
    out.push(version >= 6 ? readBucket15(sub, version, groupType) : readBucket13(sub, version));
  }
  return out;
}

/**
 * Writes buckets. For version 6, `groupType` decides the properties the way Open vSwitch does:
 * weight for select groups (and for others when non-zero), watch port/group when
 * not ANY. A 1.5 bucket without `bucketId` gets its index in the list.
 */
export function writeBuckets(w: Writer, buckets: Bucket[], version: WireVersion, groupType?: GroupType): void {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    const start = w.offset;
    if (version >= 6) {
      w.u16(0);
      w.u16(0);
      w.u32(b.bucketId ?? i);
      const actionsStart = w.offset;
      writeActions(w, b.actions, version);
      w.patchU16(start + 2, w.offset - actionsStart);
      if (groupType === 'select' || b.weight !== 0) {
        w.u16(OFPGBPT15.WEIGHT); w.u16(8); w.u16(b.weight); w.u16(0);
      }
      if (b.watchPort !== OFPP.ANY) { w.u16(OFPGBPT15.WATCH_PORT); w.u16(8); w.u32(b.watchPort); }
      if (b.watchGroup !== OFPG.ANY) { w.u16(OFPGBPT15.WATCH_GROUP); w.u16(8); w.u32(b.watchGroup); }
      if (b.extraProperties) w.bytes(b.extraProperties);
      w.padTo8(start);
    } else {
      w.u16(0);
      w.u16(b.weight);
      w.u32(b.watchPort);
      w.u32(b.watchGroup);
      w.u32(0);
      writeActions(w, b.actions, version);
    }
    w.patchU16(start, w.offset - start);
  }
}
