// Liveness of a switch, judged by echo replies only. Any other byte proves nothing: a peer that
// sends a HELLO (or one byte) every few seconds but never answers an echo request is not a switch
// we can program, and must not hold a datapath id forever. No I/O and no clock here (the caller
// passes `now`), so the rules are testable without timers.

export type KeepaliveAction =
  | { kind: 'none' }
  | { kind: 'send' }
  /** The oldest unanswered echo request has waited this long: drop the switch. */
  | { kind: 'dead'; waitedMs: number; unanswered: number };

/** More outstanding echoes than this are not needed to judge a peer (regular one plus probes). */
const MAX_OUTSTANDING = 8;

export class EchoMonitor {
  /** xid → when it was sent, oldest first (Map keeps insertion order). */
  private readonly outstanding = new Map<number, number>();
  private lastSentAt: number;
  private _lastReplyAt: number;

  constructor(private readonly intervalMs: number, private readonly timeoutMs: number, now: number) {
    // The handshake's own replies are as good as an echo: count from its start.
    this.lastSentAt = now;
    this._lastReplyAt = now;
  }

  get lastReplyAt(): number {
    return this._lastReplyAt;
  }

  get unanswered(): number {
    return this.outstanding.size;
  }

  /** What the periodic keepalive check should do at `now`. */
  tick(now: number): KeepaliveAction {
    const oldest = this.outstanding.values().next();
    if (!oldest.done && now - oldest.value >= this.timeoutMs) {
      return { kind: 'dead', waitedMs: now - oldest.value, unanswered: this.outstanding.size };
    }
    // One regular echo in flight at a time; the next goes an interval after the last was sent.
    if (this.outstanding.size === 0 && now - this.lastSentAt >= this.intervalMs) return { kind: 'send' };
    return { kind: 'none' };
  }

  /** Record an echo request we sent. False when too many are already unanswered (do not send). */
  sent(xid: number, now: number): boolean {
    if (this.outstanding.size >= MAX_OUTSTANDING) return false;
    this.outstanding.set(xid, now);
    this.lastSentAt = now;
    return true;
  }

  /**
   * An echo reply arrived. Returns the round-trip time when it answers one of ours, else
   * undefined (a reply to nothing we asked proves nothing). A reply also settles every echo sent
   * before the one it answers: the switch answers in order, so those were answered or lost.
   */
  reply(xid: number, now: number): number | undefined {
    const sentAt = this.outstanding.get(xid);
    if (sentAt === undefined) return undefined;
    for (const [x, t] of this.outstanding) {
      if (t <= sentAt) this.outstanding.delete(x);
    }
    this._lastReplyAt = now;
    return now - sentAt;
  }
}
