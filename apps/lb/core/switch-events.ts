// Switch connects and disconnects go to the event log at most PER_WINDOW a window: a flapping
// switch, or a client cycling through fresh datapath ids, must not push the real history out of
// the log. What is held back is counted and written as one event when the next window opens.

import type { LbEvent } from '../model.js';

const WINDOW_MS = 10_000;
const PER_WINDOW = 20;

export type SwitchEvent = Extract<LbEvent, { type: 'switch_up' | 'switch_down' }>;

export class SwitchEventWindow {
  private windowStart = 0;
  private written = 0;
  private heldUp = 0;
  private heldDown = 0;

  /** The events to log for `e` at `now` (none when held back). */
  admit(e: SwitchEvent, now: number): LbEvent[] {
    const out = this.flush(now);
    if (this.written < PER_WINDOW) {
      this.written++;
      out.push(e);
    } else if (e.type === 'switch_up') this.heldUp++;
    else this.heldDown++;
    return out;
  }

  /** Opens a new window once the last one is over, with what it held back as one event (also
   * from the tick, so the count is not left waiting for the next switch event). */
  flush(now: number): LbEvent[] {
    if (now - this.windowStart < WINDOW_MS) return [];
    const out: LbEvent[] = [];
    if (this.heldUp + this.heldDown > 0) {
      out.push({ type: 'error', message: `${this.heldUp} more switch connections and ${this.heldDown} disconnections in ${WINDOW_MS / 1000} s were not logged one by one` });
    }
    this.windowStart = now;
    this.written = 0;
    this.heldUp = 0;
    this.heldDown = 0;
    return out;
  }
}
