// Cross-origin requests from browsers. Off unless the Proxy lists allowed origins
// (spec.cors.allowedOrigins): then a listed Origin gets the Access-Control headers and
// its preflight is answered before any key check (browsers send no key on a preflight).
// Any other origin gets no CORS header, so the browser refuses to hand it the answer.

import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_AGE_S = 600;

/** Returns true when the request was a preflight and has been answered. */
export function handleCors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  const ok = typeof origin === 'string' && allowed.includes(origin);
  if (ok) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader(
      'access-control-expose-headers',
      'x-request-id, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, retry-after',
    );
  }
  res.setHeader('vary', 'Origin');
  if (req.method !== 'OPTIONS') return false;
  if (!ok) {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('cross-origin requests from this origin are not allowed (spec.cors.allowedOrigins)\n');
    return true;
  }
  const headers = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': typeof headers === 'string' ? headers : 'authorization, content-type',
    'access-control-max-age': String(MAX_AGE_S),
  });
  res.end();
  return true;
}
