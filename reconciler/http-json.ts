// Writes a JSON response: the one way every HTTP route of Caduceus answers in JSON (the
// `up` server, the git webhook, the gateway platforms, the proxy), with an explicit
// content-length so keep-alive clients need no chunked framing.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface JsonResponseOptions {
  /** Extra headers (retry-after, …). */
  headers?: OutgoingHttpHeaders;
  /** Indented with a final newline, for people reading it with curl. */
  pretty?: boolean;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, opts: JsonResponseOptions = {}): void {
  const text = opts.pretty ? `${JSON.stringify(body, null, 2)}\n` : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...opts.headers,
  });
  res.end(text);
}
