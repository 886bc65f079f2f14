// The echo keepalive's rules, on a fake clock: only replies to our own echo requests keep a switch.
import { describe, expect, it } from 'vitest';
import { EchoMonitor } from '../../../controller/keepalive.js';

describe('EchoMonitor', () => {
  it('sends one echo per interval and is satisfied by its reply', () => {
    const m = new EchoMonitor(100, 1000, 0);
    expect(m.tick(50).kind).toBe('none');
    expect(m.tick(100).kind).toBe('send');
    m.sent(7, 100);
    expect(m.tick(150).kind).toBe('none'); // one in flight at a time
    expect(m.reply(7, 130)).toBe(30);
    expect(m.tick(150).kind).toBe('none');
    expect(m.tick(200).kind).toBe('send');
  });

  it('declares the switch dead when the oldest echo has waited the timeout, whatever else arrives', () => {
    const m = new EchoMonitor(100, 1000, 0);
    m.sent(1, 100);
    // Nothing but replies counts: no method exists for "some byte arrived", on purpose.
    expect(m.tick(1099).kind).toBe('none');
    expect(m.tick(1100)).toEqual({ kind: 'dead', waitedMs: 1000, unanswered: 1 });
  });

  it('ignores replies to echoes it never sent, and a reply settles the older ones', () => {
    const m = new EchoMonitor(100, 1000, 0);
    m.sent(1, 100);
    m.sent(2, 200); // a probe
    expect(m.reply(99, 250)).toBeUndefined();
    expect(m.unanswered).toBe(2);
    expect(m.reply(2, 300)).toBe(100);
    expect(m.unanswered).toBe(0);
    expect(m.lastReplyAt).toBe(300);
    expect(m.reply(1, 310)).toBeUndefined(); // already settled
  });

  it('bounds the echoes in flight', () => {
    const m = new EchoMonitor(100, 1000, 0);
    let accepted = 0;
    for (let i = 1; i <= 20; i++) if (m.sent(i, i)) accepted++;
    expect(accepted).toBe(8);
  });
});
