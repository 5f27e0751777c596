// Constant-time comparison and HMAC-SHA256 shared by everything that checks a signed
// request: the git webhook here and the gateway's platform adapters. Every compare of
// attacker-supplied bytes against a secret goes through timingSafeEqual.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** Equal-length constant-time compare; different lengths are unequal (length is not secret). */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  // Buffer.from reads a string as UTF-8 and copies a Buffer: one form for both.
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Hex HMAC-SHA256 of the parts, in order, as GitHub, Gitea, Slack and our webhook sign. */
export function hmacSha256Hex(secret: string, ...parts: Array<string | Buffer>): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}
