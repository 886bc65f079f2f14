// The query/reply decision for one packet-in from a query slot: which backend its flow is pinned to.

import type { Bucket } from './slot-table.js';

export interface PinInput {
  /** TCP SYN without ACK. Always false for UDP (no handshake to tell a new flow by). */
  isNewConnection: boolean;
  bucket: Bucket;
  /** The backend the registry of recent flows remembers for this flow. */
  remembered: number | undefined;
  canServe: (id: number) => boolean;
  /** The slot's owner, used when the bucket is not a query bucket (a stale packet-in). */
  owner: number | null;
}

/**
 * Which backend a packet of a query slot is pinned to, or null if none can take it.
 * - A new connection goes to the new owner (migration `to`, or the owner when not migrating), if it
 *   can serve; never to the old owner, so a drain gets no new connections.
 * - Otherwise a flow the registry remembers goes back to its backend if that backend can serve;
 *   else to the old owner (migration `from`, or the owner) while it can serve; else the new owner.
 */
export function decidePin(p: PinInput): number | null {
  const b = p.bucket;
  const from = b.kind === 'query' ? b.from : b.kind === 'forward' ? b.backend : p.owner;
  const to = b.kind === 'query' ? b.to : b.kind === 'forward' ? b.backend : p.owner;
  if (p.isNewConnection) return to !== null && p.canServe(to) ? to : null;
  if (p.remembered !== undefined && p.canServe(p.remembered)) return p.remembered;
  if (from !== null && p.canServe(from)) return from;
  if (to !== null && p.canServe(to)) return to;
  return null;
}
