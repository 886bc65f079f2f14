import { describe, expect, it } from 'vitest';
import { checkReply, formatReply, httpResponse, isHttpRequestLine, LineBuffer } from '../../tools/traffic/protocol.js';

describe('traffic protocol', () => {
  it('splits a stream into lines across chunk boundaries, dropping CR before LF', () => {
    const b = new LineBuffer();
    expect(b.push('ab')).toEqual([]);
    expect(b.push(Buffer.from('c\r\nde\nf'))).toEqual(['abc', 'de']);
    expect(b.rest).toBe('f');
    expect(b.push('\n\n')).toEqual(['f', '']);
  });

  it('refuses a line longer than the limit', () => {
    const b = new LineBuffer();
    expect(() => b.push('x'.repeat(11), 10)).toThrow(/longer than 10/);
    expect(new LineBuffer().push(`${'x'.repeat(20)}\n`, 10)).toEqual(['x'.repeat(20)]);
  });

  it('accepts the echo of our request and reports the backend', () => {
    expect(checkReply(formatReply('b1', 'L3 17'), 'L3 17', undefined)).toEqual({ ok: true, backend: 'b1' });
    expect(checkReply('b1 L3 17', 'L3 17', 'b1')).toEqual({ ok: true, backend: 'b1' });
  });

  it('flags a reply from another backend than the first as wrong-backend', () => {
    expect(checkReply('b2 L3 17', 'L3 17', 'b1')).toEqual({ ok: false, kind: 'wrong-backend', backend: 'b2', expected: 'b1' });
  });

  it('flags a mismatched or unparsable echo as bad-echo, even from another backend', () => {
    expect(checkReply('b1 L3 16', 'L3 17', 'b1')).toMatchObject({ ok: false, kind: 'bad-echo', backend: 'b1', expected: 'L3 17' });
    expect(checkReply('b2 L3 16', 'L3 17', 'b1')).toMatchObject({ ok: false, kind: 'bad-echo', backend: 'b2' });
    expect(checkReply('garbage', 'L3 17', undefined)).toMatchObject({ ok: false, kind: 'bad-echo', backend: undefined });
    expect(checkReply(' L3 17', 'L3 17', undefined)).toMatchObject({ ok: false, kind: 'bad-echo' });
  });

  it('recognises HTTP requests and names the backend in the answer', () => {
    expect(isHttpRequestLine('GET / HTTP/1.1')).toBe(true);
    expect(isHttpRequestLine('L0 1')).toBe(false);
    expect(httpResponse('b7')).toMatch(/^HTTP\/1\.0 200 OK\r\n[\s\S]*\r\n\r\nhello from b7\n$/);
  });
});
