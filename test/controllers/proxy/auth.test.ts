// The proxy's key check on its own: which Authorization headers yield a token, which
// presented token matches which configured key, and the id a key is recorded under.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bearerToken, keyEntry, matchKey } from '../../../controllers/proxy/auth.js';

const req = (authorization?: string): IncomingMessage =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('bearerToken', () => {
  it('reads the token of a Bearer header, in any case and with extra spacing', () => {
    expect(bearerToken(req('Bearer sk-abc123'))).toBe('sk-abc123');
    expect(bearerToken(req('bearer sk-abc123'))).toBe('sk-abc123');
    expect(bearerToken(req('BEARER  sk-abc123'))).toBe('sk-abc123');
    expect(bearerToken(req('Bearer\tsk-abc123  '))).toBe('sk-abc123');
  });

  it('yields nothing for a missing header, another scheme, an empty token or two tokens', () => {
    expect(bearerToken(req())).toBeUndefined();
    expect(bearerToken(req(''))).toBeUndefined();
    expect(bearerToken(req('Basic dXNlcjpwYXNz'))).toBeUndefined();
    expect(bearerToken(req('Bearer'))).toBeUndefined();
    expect(bearerToken(req('Bearer '))).toBeUndefined();
    expect(bearerToken(req('Bearersk-abc'))).toBeUndefined();
    expect(bearerToken(req('Bearer sk-abc sk-def'))).toBeUndefined();
    expect(bearerToken(req('x Bearer sk-abc'))).toBeUndefined();
    expect(bearerToken(req('Token Bearer sk-abc'))).toBeUndefined();
  });
});

describe('keyEntry and matchKey', () => {
  // Built inside each test, so that every test runs the code under test itself.
  const entries = () => [
    keyEntry({ valueFrom: { env: 'TEAM_KEY' } }, 'sk-team', 0),
    keyEntry({ valueFrom: { file: '/run/secrets/ci key' } }, 'sk-ci', 1),
    keyEntry({ valueFrom: { env: 'TEAM_KEY_COPY' } }, 'sk-team', 2),
  ];

  it('names a key by its position and reference, never by its value', () => {
    const keys = entries();
    expect(keys.map((k) => k.id)).toEqual([
      'key0:env:TEAM_KEY',
      'key1:file:/run/secrets/ci key',
      'key2:env:TEAM_KEY_COPY',
    ]);
    expect(keys[0]?.digest.equals(createHash('sha256').update('sk-team').digest())).toBe(true);
  });

  it('returns the id of the first key whose value matches', () => {
    const keys = entries();
    expect(matchKey(keys, 'sk-ci')).toBe('key1:file:/run/secrets/ci key');
    expect(matchKey(keys, 'sk-team')).toBe('key0:env:TEAM_KEY');
  });

  it('matches nothing for an unknown, empty or prefix value, or with no keys', () => {
    const keys = entries();
    expect(matchKey(keys, 'sk-nope')).toBeUndefined();
    expect(matchKey(keys, '')).toBeUndefined();
    expect(matchKey(keys, 'sk-tea')).toBeUndefined();
    expect(matchKey([], 'sk-team')).toBeUndefined();
  });
});
