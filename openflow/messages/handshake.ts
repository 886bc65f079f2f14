// The handshake: HELLO (version negotiation) and the switch's features.
import { CodecError } from '../buf.js';
import { defineMessage } from '../registry.js';
import { readPropertyList } from '../tlv-list.js';
import type { OfMessageMap, WireVersion } from '../types.js';
import { done, headerOnly } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    /**
     * HELLO decodes for any header version (version negotiation needs it), so `version` may be
     * outside 4..6 here. `versions`: the bitmap's versions among 4..6 (null: no bitmap element).
     * `bitmapVersions`: every version in the bitmap, set only when it has others. `elements`: the
     * other hello elements, raw.
     */
    hello: MessageBase & { type: 'hello'; versions: WireVersion[] | null; bitmapVersions?: number[]; elements?: Buffer };
    features_request: MessageBase & { type: 'features_request' };
    features_reply: MessageBase & { type: 'features_reply'; datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number; capabilities: number };
  }
}

const OFPHET_VERSIONBITMAP = 1;

export const hello = defineMessage({
  type: 'hello', code: 0, versions: 'any',
  read(r, version, xid) {
    const bitmaps: number[][] = [];
    let others: Buffer[] | undefined;
    // Hello elements are a property list; the first version bitmap is read, the rest kept raw.
    readPropertyList(r, 'hello element', (e, etype, elen) => {
      if (etype !== OFPHET_VERSIONBITMAP || bitmaps.length > 0) return false;
      const body = e.sub(elen - 4);
      const versions: number[] = [];
      for (let word = 0; body.remaining() >= 4; word++) {
        const bits = body.u32();
        for (let bit = 0; bit < 32; bit++) if ((bits >>> bit) & 1) versions.push(word * 32 + bit);
      }
      bitmaps.push(versions);
      return true;
    }, (raw) => (others ??= []).push(raw));
    const m: OfMessageMap['hello'] = { type: 'hello', version, xid, versions: null };
    if (bitmaps.length > 0) {
      const all = bitmaps[0];
      const ours = all.filter((v): v is WireVersion => v >= 4 && v <= 6);
      m.versions = ours;
      if (ours.length !== all.length) m.bitmapVersions = all;
    }
    if (others) m.elements = Buffer.concat(others);
    return m;
  },
  write(w, msg) {
    const bits = msg.bitmapVersions ?? msg.versions;
    if (bits !== null) {
      const maxV = bits.reduce((a, b) => Math.max(a, b), 0);
      const words = new Array<number>(Math.floor(maxV / 32) + 1).fill(0);
      for (const v of bits) {
        if (!Number.isInteger(v) || v < 0 || v > 255) throw new CodecError('bad_value', `hello version ${v}`);
        words[v >>> 5] |= 1 << (v & 31);
      }
      const elemStart = w.offset;
      w.u16(OFPHET_VERSIONBITMAP);
      w.u16(4 + 4 * words.length);
      for (const x of words) w.u32(x >>> 0);
      w.padTo8(elemStart);
    }
    if (msg.elements) w.bytes(msg.elements);
  },
});

export const featuresRequest = defineMessage({
  type: 'features_request', code: 5, versions: [4, 5, 6],
  ...headerOnly('features_request'),
});

export const featuresReply = defineMessage({
  type: 'features_reply', code: 6, versions: [4, 5, 6],
  read(r, version, xid) {
    const datapathId = r.u64();
    const nBuffers = r.u32();
    const nTables = r.u8();
    const auxiliaryId = r.u8();
    r.skip(2);
    const capabilities = r.u32();
    r.skip(4);
    done(r, 'features reply');
    return { type: 'features_reply', version, xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
  },
  write(w, msg) {
    w.u64(msg.datapathId); w.u32(msg.nBuffers); w.u8(msg.nTables); w.u8(msg.auxiliaryId); w.u16(0);
    w.u32(msg.capabilities); w.u32(0);
  },
});

export const HANDSHAKE_MESSAGES = [hello, featuresRequest, featuresReply] as const;
