// The shapes every management route speaks, whichever app plugs it in: a request (method, path
// below /api, query, parsed JSON body) in, a status and a JSON body out. No sockets here.

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ApiRequest {
  method: string;
  /** The path below /api, e.g. "/services/web/backends". */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The JSON body of every error response. */
export interface ApiErrorBody { error: string }

/** An HttpError keeps its status; anything else is ours (500). Apps map their own errors first. */
export function errorResponse(err: unknown): ApiResponse {
  if (err instanceof HttpError) return { status: err.status, body: { error: oneLine(err.message) } satisfies ApiErrorBody };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: `internal error: ${oneLine(message)}` } satisfies ApiErrorBody };
}

/** Error texts go into one JSON string and one terminal line. */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim();
}
