// What apps see: the App callbacks and the per-switch handle they send through.
import type { SwitchCapabilities } from './capabilities.js';

export type { SwitchCapabilities } from './capabilities.js';
import type { MessageOf, MultipartReplyBody, MultipartRequestBody, OfMessage, Port, WireVersion } from '../openflow/types.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A message as apps write it: the handle fills in version (and xid unless given). */
export type OfMessageInput = DistributiveOmit<OfMessage, 'version' | 'xid'> & { xid?: number };


export interface SwitchHandle {
  readonly dpid: bigint;
  /** 16 lowercase hex digits. */
  readonly dpidHex: string;
  readonly version: WireVersion;
  readonly ports: ReadonlyMap<number, Port>;
  readonly capabilities: SwitchCapabilities;
  readonly connectedAt: Date;
  /** Remote address "host:port" of the connection. */
  readonly remote: string;
  readonly connected: boolean;
  /** Queue one message; false if dropped (send queue over its bound, or disconnected). */
  send(msg: OfMessageInput): boolean;
  /** Queue several messages as one socket write; all or none. */
  sendBatch(msgs: readonly OfMessageInput[]): boolean;
  /**
   * Hot path: append one message already encoded by the caller. `fill` writes exactly `length`
   * bytes at `buf[at]` and must put `xid` in the header. False if dropped (backpressure).
   */
  sendPrebuilt(length: number, fill: (buf: Buffer, at: number, xid: number) => void): boolean;
  /** Send and wait for the reply with the same xid; OFPT_ERROR rejects with OfRequestError. */
  request(msg: OfMessageInput, timeoutMs?: number): Promise<OfMessage>;
  /** A multipart request; resolves with every reply part's body, in order. */
  multipart(body: MultipartRequestBody, timeoutMs?: number): Promise<MultipartReplyBody[]>;
  barrier(timeoutMs?: number): Promise<void>;
  /**
   * Apply messages all-or-nothing: an atomic, ordered bundle where the switch supports bundles,
   * else the messages in order followed by a barrier. Rejects with the switch's first error.
   * Waits for the send queue to drain rather than dropping, so large batches are fine.
   */
  transaction(msgs: readonly OfMessageInput[], timeoutMs?: number): Promise<void>;
  /** Bytes queued towards the switch and not yet written to the socket. */
  queueDepth(): number;
  /** Resolves when the send queue is below its bound (immediately if it already is). */
  drain(): Promise<void>;
  /** Close this connection (apps see switchDown). */
  close(reason?: string): void;
}

/**
 * An app. Callbacks may be async; a throw or rejection is logged and never reaches the runtime.
 * On reconnection (same datapath id) apps see switchDown for the old handle, then switchUp for the
 * new one; handles are per connection, so look switches up by dpid.
 */
export interface App {
  readonly name: string;
  switchUp?(sw: SwitchHandle): void | Promise<void>;
  switchDown?(sw: SwitchHandle, reason: string): void;
  /**
   * The switch left and did not come back within the controller's grace period
   * (`forgetSwitchAfterMs`): free everything kept for this datapath id. The reconciler has
   * already dropped its desired state for it, so an app declares it again at the next switchUp.
   */
  switchGone?(dpid: bigint): void;
  packetIn?(sw: SwitchHandle, msg: MessageOf<'packet_in'>): void;
  flowRemoved?(sw: SwitchHandle, msg: MessageOf<'flow_removed'>): void;
  /** Called after the handle's `ports` map was updated. */
  portStatus?(sw: SwitchHandle, msg: MessageOf<'port_status'>): void;
  /** An OFPT_ERROR that answers no pending request (e.g. a fire-and-forget flow mod). */
  error?(sw: SwitchHandle, msg: MessageOf<'error'>): void;
}

export function dpidToHex(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}
