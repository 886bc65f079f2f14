import { describe, expect, it } from 'vitest';
import { OfFramer, type FrameEvent } from '../../../openflow/framing.js';

/** A message with a real header and `bodyLen` bytes of recognisable body. */
function msg(type: number, xid: number, bodyLen: number): Buffer {
  const b = Buffer.alloc(8 + bodyLen);
  b[0] = 4;
  b[1] = type;
  b.writeUInt16BE(8 + bodyLen, 2);
  b.writeUInt32BE(xid, 4);
  for (let i = 0; i < bodyLen; i++) b[8 + i] = (xid + i) & 0xff;
  return b;
}

function frames(events: FrameEvent[]): Buffer[] {
  return events.map((e) => {
    if (!e.ok) throw new Error(`unexpected error ${e.error.kind}: ${e.error.message}`);
    return e.frame;
  });
}

const sample = [msg(0, 1, 0), msg(10, 2, 100), msg(2, 3, 7), msg(14, 0xdeadbeef, 1000), msg(3, 5, 1)];
const stream = Buffer.concat(sample);

describe('OfFramer', () => {
  it('returns every message of one chunk as views without copying', () => {
    const f = new OfFramer();
    const out = frames(f.push(stream));
    expect(out).toEqual(sample);
    expect(f.buffered).toBe(0);
    // views into the pushed chunk, not copies
    expect(out.every((b) => b.buffer === stream.buffer)).toBe(true);
  });

  it('reassembles the stream cut once at every byte position', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new OfFramer();
      const a = frames(f.push(stream.subarray(0, cut)));
      expect(f.buffered).toBe(cut - a.reduce((n, b) => n + b.length, 0));
      const b = frames(f.push(stream.subarray(cut)));
      expect([...a, ...b]).toEqual(sample);
      expect(f.buffered).toBe(0);
    }
  });

  it('reassembles the stream cut twice at every pair of positions (short stream)', () => {
    const small = Buffer.concat([msg(0, 1, 0), msg(5, 2, 9), msg(6, 3, 3)]);
    const expected = [msg(0, 1, 0), msg(5, 2, 9), msg(6, 3, 3)];
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const f = new OfFramer();
        const got = [
          ...frames(f.push(small.subarray(0, i))),
          ...frames(f.push(small.subarray(i, j))),
          ...frames(f.push(small.subarray(j))),
        ];
        expect(got).toEqual(expected);
        expect(f.buffered).toBe(0);
      }
    }
  });

  it('reassembles the stream fed one byte at a time and in random chunk sizes', () => {
    const f = new OfFramer();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...frames(f.push(stream.subarray(i, i + 1))));
    expect(got).toEqual(sample);

    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 200) + 1;
    for (let round = 0; round < 50; round++) {
      const g = new OfFramer();
      const out: Buffer[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = rnd();
        out.push(...frames(g.push(stream.subarray(off, off + n))));
        off += n;
      }
      expect(out).toEqual(sample);
    }
  });

  it('accepts a message of the largest u16 length', () => {
    const big = msg(10, 9, 0xffff - 8);
    const f = new OfFramer();
    expect(frames(f.push(big.subarray(0, 30000)))).toEqual([]);
    expect(f.buffered).toBe(30000);
    expect(frames(f.push(big.subarray(30000)))).toEqual([big]);
  });

  it('ignores empty chunks', () => {
    const f = new OfFramer();
    expect(f.push(Buffer.alloc(0))).toEqual([]);
    f.push(stream.subarray(0, 3));
    expect(f.push(Buffer.alloc(0))).toEqual([]);
    expect(f.buffered).toBe(3);
  });

  for (const badLen of [0, 1, 7]) {
    it(`fails with bad_length on a header length of ${badLen}, after the good frames before it`, () => {
      const bad = msg(13, 0x01020304, 0);
      bad.writeUInt16BE(badLen, 2);
      const data = Buffer.concat([sample[0], sample[1], bad, sample[2]]);
      for (let cut = 0; cut <= data.length; cut++) {
        const f = new OfFramer();
        const events = [...f.push(data.subarray(0, cut)), ...f.push(data.subarray(cut))];
        expect(events.slice(0, 2)).toEqual([{ ok: true, frame: sample[0] }, { ok: true, frame: sample[1] }]);
        expect(events).toHaveLength(3);
        const last = events[2];
        expect(last.ok).toBe(false);
        if (!last.ok) {
          expect(last.error.kind).toBe('bad_length');
          expect(last.error).toMatchObject({ version: 4, msgType: 13, xid: 0x01020304 });
        }
        expect(f.failed).toBe(true);
        expect(f.push(sample[3])).toEqual([]);
      }
    });
  }

  it('waits for the whole header before judging it, then reports its xid', () => {
    const bad = msg(2, 77, 0);
    bad.writeUInt16BE(3, 2);
    const f = new OfFramer();
    expect(f.push(bad.subarray(0, 4))).toEqual([]);
    expect(f.failed).toBe(false);
    const ev = f.push(bad.subarray(4));
    expect(ev).toEqual([{ ok: false, error: expect.objectContaining({ kind: 'bad_length', xid: 77, msgType: 2 }) }]);
  });

  it('refuses a message longer than maxBuffered as too_large, wherever the stream is cut', () => {
    const big = msg(10, 42, 600);
    const data = Buffer.concat([sample[0], big]);
    for (let cut = 0; cut <= data.length; cut += 13) {
      const f = new OfFramer({ maxBuffered: 512 });
      const events = [...f.push(data.subarray(0, cut)), ...f.push(data.subarray(cut))];
      expect(events[0]).toEqual({ ok: true, frame: sample[0] });
      expect(events[1]).toEqual({ ok: false, error: expect.objectContaining({ kind: 'too_large', xid: 42, version: 4 }) });
      expect(events).toHaveLength(2);
      expect(f.failed).toBe(true);
      expect(f.buffered).toBeLessThanOrEqual(512);
    }
  });

  it('never buffers more than maxBuffered while a lying length keeps it waiting', () => {
    // header says 4000 bytes; sender trickles garbage forever
    const liar = msg(10, 1, 0);
    liar.writeUInt16BE(4000, 2);
    const f = new OfFramer({ maxBuffered: 4096 });
    f.push(liar);
    for (let i = 0; i < 100; i++) {
      const ev = f.push(Buffer.alloc(100, 0xee));
      if (ev.length) {
        // the lie is eventually "satisfied": the 4000 bytes become one frame, the rest is a new header
        expect(ev[0].ok).toBe(true);
        if (ev[0].ok) expect(ev[0].frame.length).toBe(4000);
        // 0xeeee as a length is over maxBuffered
        expect(ev[1]).toEqual({ ok: false, error: expect.objectContaining({ kind: 'too_large' }) });
        break;
      }
      expect(f.buffered).toBeLessThanOrEqual(4096);
    }
    expect(f.failed).toBe(true);
  });

  it('handles many messages per chunk', () => {
    const many: Buffer[] = [];
    for (let i = 0; i < 5000; i++) many.push(msg(10, i, i % 97));
    const all = Buffer.concat(many);
    const f = new OfFramer();
    const got: Buffer[] = [];
    for (let off = 0; off < all.length; off += 65536) got.push(...frames(f.push(all.subarray(off, off + 65536))));
    expect(got).toHaveLength(5000);
    expect(got).toEqual(many);
  });

  it('rejects a maxBuffered below one header', () => {
    expect(() => new OfFramer({ maxBuffered: 4 })).toThrow(RangeError);
  });
});
