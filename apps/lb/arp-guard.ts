// Which ARP answers may say where a backend is. Anyone on a switch port can send an ARP reply, so
// an answer counts only if the controller asked for that address just before (unsolicited answers
// are ignored), and it may move a known backend (another MAC, or another port on a switch that
// already had one) only when the known location has let a whole probe round go unanswered
// (re-resolution), and not again within MOVE_HOLD_MS (a flapping MAC is held, and reported).
// Pure: the app keeps the times and applies the verdict.

/** An answer later than this after the last probe for its address was not asked for. */
export const ARP_ANSWER_WINDOW_MS = 3_000;
/** After a move, the backend stays where it is for this long whatever else answers. */
export const MOVE_HOLD_MS = 10_000;
/** Probes sent since the known location last answered before another may take its place: the
 * probe just sent counts one, so two means a whole earlier round went unanswered. */
const MISSES_FOR_MOVE = 2;

export interface KnownLocation {
  mac: string;
  /** The port the backend was seen behind on the switch this answer came from, if any. */
  port: number | undefined;
  /** Probes sent since the location last answered. */
  misses: number;
}

export interface ArpAnswer {
  now: number;
  /** When the controller last asked for this address (undefined: never). */
  askedAt: number | undefined;
  known: KnownLocation | undefined;
  mac: string;
  port: number;
  /** When the backend last moved (undefined: never). */
  lastMoveAt: number | undefined;
}

export type ArpVerdict =
  | { kind: 'accept'; moves: boolean }
  | { kind: 'ignore'; why: 'unsolicited' }
  | { kind: 'conflict'; why: string };

export function judgeArpAnswer(a: ArpAnswer): ArpVerdict {
  if (a.askedAt === undefined || a.now - a.askedAt > ARP_ANSWER_WINDOW_MS || a.now < a.askedAt) return { kind: 'ignore', why: 'unsolicited' };
  const k = a.known;
  if (!k) return { kind: 'accept', moves: true };
  const sameMac = k.mac === a.mac;
  if (sameMac && (k.port === undefined || k.port === a.port)) return { kind: 'accept', moves: k.port === undefined };
  const where = `MAC ${a.mac} on port ${a.port}`;
  if (k.misses < MISSES_FOR_MOVE) return { kind: 'conflict', why: `${where} answered while the backend still answers at MAC ${k.mac}${k.port === undefined ? '' : ` on port ${k.port}`}` };
  if (a.lastMoveAt !== undefined && a.now - a.lastMoveAt < MOVE_HOLD_MS) return { kind: 'conflict', why: `${where} answered less than ${MOVE_HOLD_MS / 1000} s after the backend last moved` };
  return { kind: 'accept', moves: true };
}
