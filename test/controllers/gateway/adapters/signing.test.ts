// The signature primitives every signed request goes through: constant-time compare,
// HMAC-SHA256 over parts, the timestamp window and Ed25519 keys and signatures.

import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ed25519PublicKeyFromHex,
  ed25519Verify,
  freshTimestamp,
  hmacSha256Hex,
  safeEqual,
} from '../../../../controllers/gateway/platforms/signing.js';

describe('safeEqual and hmacSha256Hex', () => {
  it('compares strings and buffers by their bytes, different lengths being unequal', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual(Buffer.from('abc'), 'abc')).toBe(true);
    expect(safeEqual('abc', Buffer.from('abc'))).toBe(true);
    expect(safeEqual(Buffer.from('é'), 'é')).toBe(true);
    expect(safeEqual(Buffer.from([1, 2]), Buffer.from([1, 3]))).toBe(false);
  });

  it('signs the parts in order as one message', () => {
    const expected = createHmac('sha256', 'k').update('v0:1:body').digest('hex');
    expect(hmacSha256Hex('k', 'v0:1:', Buffer.from('body'))).toBe(expected);
    expect(hmacSha256Hex('k', 'v0:1:body')).toBe(expected);
    expect(hmacSha256Hex('k', 'body', 'v0:1:')).not.toBe(expected);
    expect(hmacSha256Hex('other', 'v0:1:body')).not.toBe(expected);
  });
});

describe('freshTimestamp', () => {
  const now = 1_700_000_000_000;
  it('accepts Unix seconds within the window on either side, the edge included', () => {
    expect(freshTimestamp('1700000000', now, 300_000)).toBe('ok');
    expect(freshTimestamp('1699999700', now, 300_000)).toBe('ok');
    expect(freshTimestamp('1700000300', now, 300_000)).toBe('ok');
  });

  it('calls anything further away stale, in the past or the future', () => {
    expect(freshTimestamp('1699999699', now, 300_000)).toBe('stale');
    expect(freshTimestamp('1700000301', now, 300_000)).toBe('stale');
    expect(freshTimestamp('1', now, 300_000)).toBe('stale');
  });

  it('calls a missing or malformed timestamp missing', () => {
    for (const bad of [
      undefined,
      '',
      'abc',
      '17e8',
      '1700000000a',
      'a1700000000',
      '-5',
      '1.5',
      ' 1700000000',
      '1234567890123',
    ]) {
      expect(freshTimestamp(bad, now, 300_000)).toBe('missing');
    }
    expect(freshTimestamp('123456789012', 123456789012_000, 0)).toBe('ok');
  });
});

describe('Ed25519', () => {
  const pair = () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('hex');
    return { hex, privateKey };
  };

  it('reads a key from 64 hex characters, either case, around whitespace', () => {
    const { hex, privateKey } = pair();
    const msg = Buffer.from('1700000000{"type":1}');
    const sig = sign(null, msg, privateKey).toString('hex');
    for (const form of [hex, hex.toUpperCase(), `  ${hex}\n`]) {
      expect(ed25519Verify(ed25519PublicKeyFromHex(form), msg, sig)).toBe(true);
    }
  });

  it('refuses a key that is not exactly 64 hex characters', () => {
    const { hex } = pair();
    for (const bad of [hex.slice(1), `${hex}0`, `x${hex}`, `${hex.slice(1)}g`, '']) {
      expect(() => ed25519PublicKeyFromHex(bad)).toThrow(new Error('the Ed25519 public key must be 64 hex characters'));
    }
  });

  it('verifies only the signature of that message by that key, and malformed signatures fail', () => {
    const { hex, privateKey } = pair();
    const key = ed25519PublicKeyFromHex(hex);
    const msg = Buffer.from('1700000000{"type":2}');
    const sig = sign(null, msg, privateKey).toString('hex');
    expect(ed25519Verify(key, msg, sig.toUpperCase())).toBe(true);
    expect(ed25519Verify(key, Buffer.from('1700000001{"type":2}'), sig)).toBe(false);
    expect(ed25519Verify(ed25519PublicKeyFromHex(pair().hex), msg, sig)).toBe(false);
    expect(ed25519Verify(key, msg, `${sig}zz`)).toBe(false);
    expect(ed25519Verify(key, msg, `${sig}00`)).toBe(false);
    expect(ed25519Verify(key, msg, sig.slice(2))).toBe(false);
    expect(ed25519Verify(key, msg, `zz${sig.slice(2)}`)).toBe(false);
    expect(ed25519Verify(key, msg, '')).toBe(false);
    expect(ed25519Verify(key, msg, '0'.repeat(128))).toBe(false);
  });
});
