// The group table: GROUP_MOD, with the 1.5 layout (bucket ids, insert/remove bucket, group
// properties such as Open vSwitch's selection method).
import { CodecError, type Reader } from '../buf.js';
import { OFPG15_BUCKET, readBuckets, writeBuckets } from '../buckets.js';
import { readOxmList, writeOxmList } from '../oxm.js';
import { readPropertyList } from '../tlv-list.js';
import { defineMessage } from '../registry.js';
import { GROUP_TYPES, type GroupModCommand, type GroupProperty, type OfMessageMap } from '../types.js';
import { fromTable, toTable } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    group_mod: MessageBase & {
      type: 'group_mod'; command: GroupModCommand; groupType: GroupType; groupId: number; buckets: Bucket[];
      /** OpenFlow 1.5 only: where insert_bucket puts buckets / which remove_bucket removes. */
      commandBucketId?: number;
      /** OpenFlow 1.5 only. */
      properties?: GroupProperty[];
    };
  }
}

/** Netronome experimenter id of the selection-method group property Open vSwitch understands. */
export const NTR_VENDOR_ID = 0x0000154d;
export const NTRT_SELECTION_METHOD = 1;
const NTR_MAX_SELECTION_METHOD_LEN = 16;
const OFPGPT15_EXPERIMENTER = 0xffff;

/** OFPGC_*, index = wire code (insert/remove bucket are 1.5 only). */
const GROUP_MOD_COMMANDS: readonly (GroupModCommand | undefined)[] = ['add', 'modify', 'delete', 'insert_bucket', undefined, 'remove_bucket'];
const GROUP_MOD_COMMANDS_13 = GROUP_MOD_COMMANDS.slice(0, 3);

function readGroupProperties(r: Reader): GroupProperty[] {
  const out: GroupProperty[] = [];
  readPropertyList(r, 'group property', (p, ptype, plen) => {
    // Only a whole one (padding included) is read: a cut-short one stays raw.
    if (ptype !== OFPGPT15_EXPERIMENTER || plen < 40 || ((plen + 7) & ~7) - 4 > p.remaining()) return false;
    if (p.u32() !== NTR_VENDOR_ID || p.u32() !== NTRT_SELECTION_METHOD) return false;
    p.skip(4);
    const name = p.bytes(NTR_MAX_SELECTION_METHOD_LEN);
    const nul = name.indexOf(0);
    if (nul < 0 || !name.subarray(nul).every((b) => b === 0)) return false;
    const method = name.toString('latin1', 0, nul);
    const param = p.u64();
    const fields = readOxmList(p.sub(plen - 40));
    out.push({ type: 'ntr_selection_method', method, param, fields });
    return true;
  }, (raw) => out.push({ type: 'unknown', raw }));
  return out;
}

export const groupMod = defineMessage({
  type: 'group_mod', code: 15, versions: [4, 5, 6],
  read(r, version, xid) {
    const cmd = r.u16();
    const groupType = fromTable(GROUP_TYPES, r.u8(), 'group type');
    r.skip(1);
    const groupId = r.u32();
    if (version < 6) {
      const command = fromTable(GROUP_MOD_COMMANDS_13, cmd, 'group mod command');
      return { type: 'group_mod', version, xid, command, groupType, groupId, buckets: readBuckets(r, r.remaining(), version) };
    }
    const command = fromTable(GROUP_MOD_COMMANDS, cmd, 'group mod command');
    const bucketArrayLen = r.u16();
    r.skip(2);
    const commandBucketId = r.u32();
    const buckets = readBuckets(r, bucketArrayLen, version, groupType);
    const m: OfMessageMap['group_mod'] = { type: 'group_mod', version, xid, command, groupType, groupId, buckets, commandBucketId };
    const properties = readGroupProperties(r);
    if (properties.length > 0) m.properties = properties;
    return m;
  },
  write(w, msg) {
    const version = msg.version;
    const cmd = toTable(GROUP_MOD_COMMANDS, msg.command, 'group mod command');
    if (version < 6 && cmd > 2) throw new CodecError('bad_value', `group mod command ${msg.command} needs OpenFlow 1.5`);
    w.u16(cmd);
    w.u8(toTable(GROUP_TYPES, msg.groupType, 'group type'));
    w.u8(0);
    w.u32(msg.groupId);
    if (version < 6) {
      writeBuckets(w, msg.buckets, version);
      return;
    }
    const lenAt = w.offset;
    w.u16(0); w.u16(0);
    w.u32(msg.commandBucketId ?? OFPG15_BUCKET.ALL);
    const bucketsStart = w.offset;
    writeBuckets(w, msg.buckets, version, msg.groupType);
    w.patchU16(lenAt, w.offset - bucketsStart);
    for (const p of msg.properties ?? []) {
      if (p.type === 'unknown') { w.bytes(p.raw); continue; }
      const start = w.offset;
      w.u16(OFPGPT15_EXPERIMENTER); w.u16(0); w.u32(NTR_VENDOR_ID); w.u32(NTRT_SELECTION_METHOD); w.u32(0);
      const name = Buffer.from(p.method, 'latin1');
      if (name.length >= NTR_MAX_SELECTION_METHOD_LEN || name.includes(0)) {
        throw new CodecError('bad_value', `selection method "${p.method}" must be 1..15 bytes`);
      }
      w.bytes(name);
      w.zeros(NTR_MAX_SELECTION_METHOD_LEN - name.length);
      w.u64(p.param);
      writeOxmList(w, p.fields);
      w.patchU16(start + 2, w.offset - start);
      w.padTo8(start);
    }
  },
});

export const GROUP_MESSAGES = [groupMod] as const;
