// Barriers: the switch answers BARRIER_REQUEST once everything sent before it is done.
import { defineMessage } from '../registry.js';
import { headerOnly } from './body.js';

declare module '../types.js' {
  interface OfMessageMap {
    barrier_request: MessageBase & { type: 'barrier_request' };
    barrier_reply: MessageBase & { type: 'barrier_reply' };
  }
}

export const barrierRequest = defineMessage({
  type: 'barrier_request', code: 20, versions: [4, 5, 6],
  ...headerOnly('barrier_request'),
});

export const barrierReply = defineMessage({
  type: 'barrier_reply', code: 21, versions: [4, 5, 6],
  ...headerOnly('barrier_reply'),
});

export const BARRIER_MESSAGES = [barrierRequest, barrierReply] as const;
