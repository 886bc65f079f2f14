import { describe, expect, it, vi } from 'vitest';
import { OfRequestError, OfTimeoutError, OfDisconnectedError, OfProtocolError } from '../../../controller/errors.js';
import { OFPMPF_REPLY_MORE, RequestTracker, XidAllocator } from '../../../controller/requests.js';
import type { MultipartReplyBody, OfMessage, Port } from '../../../openflow/types.js';

const port = (n: number): Port => ({
  portNo: n, hwAddr: '00:00:00:00:00:01', name: `p${n}`, config: 0, state: 0, curr: 0, advertised: 0,
  supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
});
const mpReply = (xid: number, more: boolean, ports: Port[]): OfMessage => ({
  type: 'multipart_reply', version: 4, xid, flags: more ? OFPMPF_REPLY_MORE : 0, body: { kind: 'port_desc', ports },
});

describe('XidAllocator', () => {
  it('counts up, wraps past 2^32-1 and never yields 0', () => {
    const a = new XidAllocator(0xfffffffe);
    expect([a.next(), a.next(), a.next(), a.next()]).toEqual([0xfffffffe, 0xffffffff, 1, 2]);
    expect(new XidAllocator(0).next()).toBe(1);
  });
});

describe('RequestTracker', () => {
  it('resolves a request with the reply carrying its xid and ignores other xids', async () => {
    const t = new RequestTracker();
    const p = t.expectReply(7, 'barrier_request', 1000);
    expect(t.handle({ type: 'barrier_reply', version: 4, xid: 8 })).toBe(false);
    expect(t.handle({ type: 'barrier_reply', version: 4, xid: 7 })).toBe(true);
    await expect(p).resolves.toMatchObject({ type: 'barrier_reply', xid: 7 });
    expect(t.size).toBe(0);
  });

  it('fails a request answered by OFPT_ERROR with a typed OfRequestError', async () => {
    const t = new RequestTracker();
    const p = t.expectReply(3, 'flow_mod', 1000);
    t.handle({ type: 'error', version: 4, xid: 3, errType: 'flow_mod_failed', code: 5, codeName: 'bad_command', data: Buffer.from('x') });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfRequestError);
    expect(err).toMatchObject({ errType: 'flow_mod_failed', code: 5, codeName: 'bad_command', xid: 3, requestType: 'flow_mod' });
  });

  it('assembles multipart replies across the MORE flag, in order', async () => {
    const t = new RequestTracker();
    const p = t.expectMultipart(9, 'multipart_request', 1000);
    expect(t.handle(mpReply(9, true, [port(1), port(2)]))).toBe(true);
    expect(t.handle(mpReply(9, true, [port(3)]))).toBe(true);
    expect(t.size).toBe(1);
    t.handle(mpReply(9, false, [port(4)]));
    const parts: MultipartReplyBody[] = await p;
    expect(parts.flatMap((b) => (b.kind === 'port_desc' ? b.ports.map((x) => x.portNo) : []))).toEqual([1, 2, 3, 4]);
    expect(t.size).toBe(0);
  });

  it('rejects a multipart request answered by another message type', async () => {
    const t = new RequestTracker();
    const p = t.expectMultipart(2, 'multipart_request', 1000);
    t.handle({ type: 'barrier_reply', version: 4, xid: 2 });
    await expect(p).rejects.toBeInstanceOf(OfProtocolError);
  });

  it('times out with OfTimeoutError and forgets the xid', async () => {
    vi.useFakeTimers();
    try {
      const t = new RequestTracker();
      const p = t.expectReply(1, 'echo_request', 50);
      const caught = p.catch((e: unknown) => e);
      vi.advanceTimersByTime(60);
      expect(await caught).toBeInstanceOf(OfTimeoutError);
      expect(t.has(1)).toBe(false);
      expect(t.handle({ type: 'echo_reply', version: 4, xid: 1, data: Buffer.alloc(0) })).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('routes errors of watched (no-reply) xids and rejects everything on failAll', async () => {
    const t = new RequestTracker();
    const seen: OfRequestError[] = [];
    t.watch(11, 'flow_mod', (e) => seen.push(e));
    expect(t.handle({ type: 'barrier_reply', version: 4, xid: 11 })).toBe(false);
    t.handle({ type: 'error', version: 4, xid: 11, errType: 'bad_match', code: 1, data: Buffer.alloc(0) });
    expect(seen).toHaveLength(1);
    const p = t.expectReply(12, 'barrier_request', 0);
    t.failAll(new OfDisconnectedError('gone'));
    await expect(p).rejects.toBeInstanceOf(OfDisconnectedError);
    expect(t.size).toBe(0);
  });
});
