// The signature schemes the adapters share. The constant-time compare and the HMAC live in
// reconciler/signatures.ts (the git webhook uses them too) and are re-exported here.

import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export { safeEqual, hmacSha256Hex } from '../../../reconciler/signatures.js';

/** A Unix-seconds timestamp header within `windowMs` of now (either side); past it the request is stale. */
export function freshTimestamp(value: string | undefined, now: number, windowMs: number): 'ok' | 'missing' | 'stale' {
  if (!value || !/^\d{1,12}$/.test(value)) return 'missing';
  return Math.abs(now - Number(value) * 1000) > windowMs ? 'stale' : 'ok';
}

/** An Ed25519 public key from the 64 hex characters Discord shows in the developer portal. */
export function ed25519PublicKeyFromHex(hex: string): KeyObject {
  const clean = hex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(clean)) throw new Error('the Ed25519 public key must be 64 hex characters');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(clean, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

export function ed25519Verify(key: KeyObject, message: Buffer, signatureHex: string): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  try {
    return verify(null, message, key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}
