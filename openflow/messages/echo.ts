// Keepalive: ECHO_REQUEST and ECHO_REPLY carry an arbitrary payload back and forth.
import { defineMessage } from '../registry.js';
import { rest } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    echo_request: MessageBase & { type: 'echo_request'; data: Buffer };
    echo_reply: MessageBase & { type: 'echo_reply'; data: Buffer };
  }
}

export const echoRequest = defineMessage({
  type: 'echo_request', code: 2, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'echo_request', version, xid, data: rest(r) }),
  write(w, msg) { w.bytes(msg.data); },
});

export const echoReply = defineMessage({
  type: 'echo_reply', code: 3, versions: [4, 5, 6],
  read: (r, version, xid) => ({ type: 'echo_reply', version, xid, data: rest(r) }),
  write(w, msg) { w.bytes(msg.data); },
});

export const ECHO_MESSAGES = [echoRequest, echoReply] as const;
