// Rate-limited logging through a real pino logger on a fake clock: a burst of identical warnings
// from one switch is one line plus a count; other switches and other messages are not hidden by it.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../controller/log.js';
import { hostOf, LogLimiter } from '../../../controller/log-limit.js';

interface Line { msg: string; suppressed?: number; dpid?: string }

function setup(opts: { burst?: number; maxKeys?: number } = {}): { limiter: LogLimiter; lines: Line[]; advance: (ms: number) => void } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  let now = 1_000_000;
  const log = createLogger({ level: 'info', destination: sink });
  const limiter = new LogLimiter(log, { windowMs: 10_000, ...opts }, () => now);
  return { limiter, lines, advance: (ms) => { now += ms; } };
}

const flushLog = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('LogLimiter', () => {
  it('turns a burst of identical warnings from one switch into one line plus a count', async () => {
    const { limiter, lines, advance } = setup();
    for (let i = 0; i < 5000; i++) limiter.warn('00000000000000aa', { dpid: '00000000000000aa', n: i }, 'malformed message from switch');
    limiter.warn('00000000000000bb', { dpid: '00000000000000bb' }, 'malformed message from switch');
    limiter.warn('00000000000000aa', { dpid: '00000000000000aa' }, 'unframeable input from switch; disconnecting');
    await flushLog();
    expect(lines.map((l) => `${l.dpid} ${l.msg}`)).toEqual([
      '00000000000000aa malformed message from switch',
      '00000000000000bb malformed message from switch',
      '00000000000000aa unframeable input from switch; disconnecting',
    ]);
    advance(10_000);
    limiter.warn('00000000000000aa', { dpid: '00000000000000aa' }, 'malformed message from switch'); // a new window
    await flushLog();
    expect(lines.slice(3).map((l) => [l.msg, l.suppressed])).toEqual([
      ['malformed message from switch (4999 more like this in the last 10 s, not logged one by one)', 4999],
      ['malformed message from switch', undefined],
    ]);
  });

  it('reports the count when the window ends even if nothing else is logged (stop flushes)', async () => {
    const { limiter, lines } = setup({ burst: 3 });
    for (let i = 0; i < 10; i++) limiter.info('', { dpid: `d${i}` }, 'switch connected');
    limiter.stop();
    await flushLog();
    expect(lines.map((l) => l.msg)).toEqual([
      'switch connected', 'switch connected', 'switch connected',
      'switch connected (7 more like this in the last 10 s, not logged one by one)',
    ]);
    expect(lines[3].dpid).toBe('d9'); // the summary carries the last one's fields
  });

  it('bounds the sources it tracks: a flood from many addresses shares one key', async () => {
    const { limiter, lines } = setup({ maxKeys: 10 });
    for (let i = 0; i < 1000; i++) limiter.warn(`10.0.${i >> 8}.${i & 255}`, {}, 'TLS handshake with switch failed');
    limiter.flush();
    await flushLog();
    expect(lines.length).toBe(12); // 10 sources, the first of the rest, one summary
    expect(lines[11].suppressed).toBe(989);
  });

  it('hostOf drops the port, IPv6 included', () => {
    expect(hostOf('10.0.0.1:6653')).toBe('10.0.0.1');
    expect(hostOf('::ffff:127.0.0.1:40000')).toBe('::ffff:127.0.0.1');
  });
});
