// The traffic tools' wire protocol, shared by server and client: newline-framed requests, replies
// "<backend name> <request>" (so a client sees who answered and that the answer is its own), and
// the check a client applies to every reply.

/** A backend name is one word: the first space of a reply ends it. */
export const BACKEND_NAME_RE = /^[A-Za-z0-9_.:@+-]{1,64}$/;
/** Longer lines are not ours: the server drops such a connection instead of buffering without bound. */
export const MAX_LINE_BYTES = 16 * 1024;

export function formatReply(name: string, request: string): string {
  return `${name} ${request}`;
}

export function httpResponse(name: string): string {
  return `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello from ${name}\n`;
}

export function isHttpRequestLine(line: string): boolean {
  return line.startsWith('GET ');
}

/** Splits a byte stream into lines (LF, optional CR before it). */
export class LineBuffer {
  private pending = '';

  /** Appends a chunk and returns the lines it completed; throws if a line grows past maxBytes. */
  push(chunk: Buffer | string, maxBytes = MAX_LINE_BYTES): string[] {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const lines: string[] = [];
    let start = 0;
    for (let nl = this.pending.indexOf('\n', start); nl !== -1; nl = this.pending.indexOf('\n', start)) {
      const end = nl > start && this.pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(this.pending.slice(start, end));
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length > maxBytes) throw new Error(`line longer than ${maxBytes} bytes`);
    return lines;
  }

  /** Bytes received after the last complete line. */
  get rest(): string {
    return this.pending;
  }
}

export type ReplyCheck =
  | { ok: true; backend: string }
  | { ok: false; kind: 'bad-echo'; backend: string | undefined; expected: string; got: string }
  | { ok: false; kind: 'wrong-backend'; backend: string; expected: string };

/**
 * Checks one reply against the request it answers and, once the flow has a backend, against that
 * backend (stickiness). An unparsable or mismatched echo wins over a backend change: a reply that
 * is not the answer to our request says nothing reliable about who sent it.
 */
export function checkReply(reply: string, request: string, expectedBackend: string | undefined): ReplyCheck {
  const sp = reply.indexOf(' ');
  if (sp <= 0) return { ok: false, kind: 'bad-echo', backend: undefined, expected: request, got: reply };
  const backend = reply.slice(0, sp);
  if (reply.slice(sp + 1) !== request) return { ok: false, kind: 'bad-echo', backend, expected: request, got: reply };
  if (expectedBackend !== undefined && backend !== expectedBackend) return { ok: false, kind: 'wrong-backend', backend, expected: expectedBackend };
  return { ok: true, backend };
}
