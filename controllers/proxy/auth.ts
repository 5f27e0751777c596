// Bearer key checks. Keys are resolved from their references at reconcile time and kept
// only as SHA-256 digests; a presented key is hashed and compared to every digest with
// timingSafeEqual, so neither the match nor its position leaks through timing.

import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describeRef } from '../../reconciler/secrets.js';
import type { KeyRef } from '../../reconciler/specs.js';

export interface KeyEntry {
  /** A name safe to log and to record as the run's actor: the reference, never the value. */
  id: string;
  digest: Buffer;
}

// One-shot hash: no Hash object per request (this runs on every request).
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

export function keyEntry(ref: KeyRef, value: string, index: number): KeyEntry {
  return { id: `key${index}:${describeRef(ref).replace(' ', ':')}`, digest: sha256(value) };
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Returns the id of the matching key, or undefined. Every digest is compared. */
export function matchKey(keys: readonly KeyEntry[], presented: string): string | undefined {
  const d = sha256(presented);
  let found: string | undefined;
  for (const k of keys) {
    if (timingSafeEqual(d, k.digest) && found === undefined) found = k.id;
  }
  return found;
}
