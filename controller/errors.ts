// Typed failures of requests sent to a switch.
import type { ErrorTypeName, MessageOf, OfMessageType } from '../openflow/types.js';

/** The switch answered a request with OFPT_ERROR. */
export class OfRequestError extends Error {
  readonly errType: ErrorTypeName | number;
  readonly code: number;
  readonly codeName: string | undefined;
  /** The start of the offending message, as the switch echoed it. */
  readonly data: Buffer;
  readonly xid: number;

  constructor(msg: MessageOf<'error'>, readonly requestType?: OfMessageType) {
    const what = `${String(msg.errType)}/${msg.codeName ?? msg.code}`;
    super(`switch rejected ${requestType ?? 'request'} (xid ${msg.xid}): ${what}`);
    this.name = 'OfRequestError';
    this.errType = msg.errType;
    this.code = msg.code;
    this.codeName = msg.codeName;
    this.data = msg.data;
    this.xid = msg.xid;
  }
}

export class OfTimeoutError extends Error {
  constructor(readonly requestType: OfMessageType | string, readonly timeoutMs: number, readonly xid: number) {
    super(`${requestType} (xid ${xid}) got no reply within ${timeoutMs} ms`);
    this.name = 'OfTimeoutError';
  }
}

export class OfDisconnectedError extends Error {
  constructor(reason: string) {
    super(`switch disconnected: ${reason}`);
    this.name = 'OfDisconnectedError';
  }
}

/** The connection's send queue is over its bound; the message was not queued. */
export class OfBackpressureError extends Error {
  constructor(readonly queued: number, readonly bound: number) {
    super(`send queue full (${queued} bytes queued, bound ${bound})`);
    this.name = 'OfBackpressureError';
  }
}

export class OfProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OfProtocolError';
  }
}
