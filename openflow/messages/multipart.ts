// Multipart (stats) requests and replies: a 16-byte header (type, flags) then a body of the kind
// the multipart type says; the bodies are openflow/multipart.ts's.
import type { Reader, Writer } from '../buf.js';
import {
  readMultipartReplyBody, readMultipartRequestBody, writeMultipartReplyBody, writeMultipartRequestBody,
} from '../multipart.js';
import { defineMessage } from '../registry.js';

declare module '../types.js' {
  interface OfMessageMap {
    multipart_request: MessageBase & { type: 'multipart_request'; flags: number; body: MultipartRequestBody };
    multipart_reply: MessageBase & { type: 'multipart_reply'; flags: number; body: MultipartReplyBody };
  }
}

function readHead(r: Reader): { mpType: number; flags: number; body: Reader } {
  const mpType = r.u16();
  const flags = r.u16();
  r.skip(4);
  return { mpType, flags, body: r.sub(r.remaining()) };
}

/** The header `readHead` reads; `writeBody` writes the body and says its multipart type. */
function writeHead(w: Writer, flags: number, writeBody: () => number): void {
  const at = w.offset;
  w.u16(0); w.u16(flags); w.u32(0);
  w.patchU16(at, writeBody());
}

export const multipartRequest = defineMessage({
  type: 'multipart_request', code: 18, versions: [4, 5, 6],
  read(r, version, xid) {
    const { mpType, flags, body } = readHead(r);
    return { type: 'multipart_request', version, xid, flags, body: readMultipartRequestBody(body, mpType, version) };
  },
  write: (w, msg) => writeHead(w, msg.flags, () => writeMultipartRequestBody(w, msg.body, msg.version)),
});

export const multipartReply = defineMessage({
  type: 'multipart_reply', code: 19, versions: [4, 5, 6],
  read(r, version, xid) {
    const { mpType, flags, body } = readHead(r);
    return { type: 'multipart_reply', version, xid, flags, body: readMultipartReplyBody(body, mpType, version) };
  },
  write: (w, msg) => writeHead(w, msg.flags, () => writeMultipartReplyBody(w, msg.body, msg.version)),
});

export const MULTIPART_MESSAGES = [multipartRequest, multipartReply] as const;
