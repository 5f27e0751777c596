// The generic webhook adapter on its own: HMAC over `timestamp.body`, the window, unsigned
// requests, the JSON body, HTTP statuses per outcome, and signed callbacks.

import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, webhook, type WebhookSpec } from '../../../../controllers/gateway/platforms/webhook.js';
import { webhookSigned } from '../signers.js';
import { envRef, recorder, secrets } from './recorder.js';

const NOW = 1_700_000_000_000;
const start = (callbackURL?: string) =>
  webhook.start({ secret: envRef('HOOK'), channels: [], callbackURL } as WebhookSpec, secrets({ HOOK: 'hook-secret' }));
const msgBody = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('webhook verify', () => {
  it('accepts a request signed over timestamp.body and keys replays by the signature', () => {
    const b = msgBody({ user: 'ci', channel: 'main', text: 'status' });
    const h = webhookSigned('hook-secret', b, NOW).headers;
    expect(start().verify(h, b, NOW)).toEqual({ ok: true, replayKey: `webhook:${h['x-caduceus-signature']}` });
    expect(webhook.requiredSecrets({ secret: envRef('HOOK') } as WebhookSpec)).toEqual([
      { field: 'secret', ref: envRef('HOOK') },
    ]);
  });

  it('refuses unsigned requests, malformed and stale timestamps, and signatures of other bytes', () => {
    const b = msgBody({ user: 'ci', channel: 'main', text: 'status' });
    const h = webhookSigned('hook-secret', b, NOW).headers;
    const missing = { ok: false, status: 401, reason: 'missing X-Caduceus-Signature or X-Caduceus-Timestamp' };
    expect(start().verify({}, b, NOW)).toEqual(missing);
    expect(start().verify({ ...h, 'x-caduceus-signature': undefined }, b, NOW)).toEqual(missing);
    expect(start().verify({ ...h, 'x-caduceus-timestamp': 'now' }, b, NOW)).toEqual(missing);
    expect(start().verify(webhookSigned('hook-secret', b, NOW - 301_000).headers, b, NOW)).toEqual({
      ok: false,
      status: 401,
      reason: 'X-Caduceus-Timestamp is more than 5 minutes away',
    });
    const mismatch = { ok: false, status: 401, reason: 'X-Caduceus-Signature does not match' };
    expect(start().verify(h, msgBody({ user: 'ci', channel: 'main', text: 'run task deploy' }), NOW)).toEqual(mismatch);
    expect(start().verify(webhookSigned('other', b, NOW).headers, b, NOW)).toEqual(mismatch);
    expect(start().verify({ ...h, 'x-caduceus-timestamp': String(NOW / 1000 - 1) }, b, NOW)).toEqual(mismatch);
  });

  it('signs callbacks the way it verifies requests', () => {
    const s = signWebhook('k', '{"a":1}', 1_700_000_000_999);
    expect(s).toEqual({
      'x-caduceus-timestamp': '1700000000',
      'x-caduceus-signature': `sha256=${createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex')}`,
    });
  });
});

describe('webhook parse', () => {
  const parse = (o: unknown) => start().parse({}, typeof o === 'string' ? Buffer.from(o) : msgBody(o));

  it('reads user, channel and text, with its own id or one derived from the body', () => {
    expect(parse({ user: 'ci', channel: 7, text: 'status', id: 'req-1' })).toEqual({
      kind: 'message',
      message: { user: 'ci', channel: '7', text: 'status', requestId: 'req-1', replyTo: { id: 'req-1' } },
    });
    const raw = { user: 3, channel: 'main', text: '', id: 'x'.repeat(201) };
    const derived = createHash('sha256').update(JSON.stringify(raw)).digest('hex').slice(0, 16);
    expect(parse(raw)).toEqual({
      kind: 'message',
      message: { user: '3', channel: 'main', text: '', requestId: derived, replyTo: { id: derived } },
    });
    const listId = { user: 'u', channel: 'c', text: 't', id: ['abc'] };
    expect(parse(listId)).toMatchObject({
      message: { requestId: createHash('sha256').update(JSON.stringify(listId)).digest('hex').slice(0, 16) },
    });
    expect(parse({ user: 'u', channel: 'c', text: 't', id: 'y'.repeat(200) })).toMatchObject({
      message: { requestId: 'y'.repeat(200) },
    });
  });

  it('calls a body without user, channel or text malformed', () => {
    const bad = { kind: 'malformed', reason: 'body needs string fields user, channel and text' };
    expect(parse({ user: '', channel: 'c', text: 't' })).toEqual(bad);
    expect(parse({ user: 'u', channel: true, text: 't' })).toEqual(bad);
    expect(parse({ user: 'u', channel: 'c', text: 5 })).toEqual(bad);
    expect(parse({ user: 'u', channel: 'c' })).toEqual(bad);
    expect(parse('nope')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
  });
});

describe('webhook respond and reply', () => {
  const message = { user: 'u', channel: 'c', text: 't', requestId: 'req-9', replyTo: { id: 'req-9' } };
  const respond = (outcome: Parameters<ReturnType<typeof start>['respond']>[1], callback?: string) => {
    const r = recorder();
    expect(start(callback).respond(r.res, outcome, message)).toBeUndefined();
    return [r.status(), r.json()];
  };

  it('maps each outcome to its HTTP status and body', () => {
    expect(respond({ kind: 'accepted', text: 'Working', requestId: 'req-9' }, 'http://127.0.0.1:1/cb')).toEqual([
      202,
      { status: 'accepted', id: 'req-9', message: 'Working', callback: true },
    ]);
    expect(respond({ kind: 'accepted', text: 'Working', requestId: 'req-9' })).toEqual([
      202,
      { status: 'accepted', id: 'req-9', message: 'Working', callback: false },
    ]);
    expect(respond({ kind: 'answer', text: 'help' })).toEqual([200, { status: 'ok', id: 'req-9', text: 'help' }]);
    expect(respond({ kind: 'refused', text: 'slow down', code: 'rate-limited' })).toEqual([
      429,
      { status: 'refused', id: 'req-9', error: 'slow down' },
    ]);
    expect(respond({ kind: 'refused', text: 'what?', code: 'bad-command' })[0]).toBe(400);
    expect(respond({ kind: 'refused', text: 'no', code: 'forbidden' })[0]).toBe(403);
    expect(respond({ kind: 'pong' })).toEqual([200, { status: 'ok' }]);
    // Answers to a request that carried no readable message have no id.
    for (const [outcome, status] of [
      [{ kind: 'answer', text: 'a' }, 200],
      [{ kind: 'refused', text: 'r', code: 'forbidden' }, 403],
    ] as const) {
      const r = recorder();
      start().respond(r.res, outcome);
      expect(r.status()).toBe(status);
      expect(r.json()).not.toHaveProperty('id');
    }
    expect(start().maxReplyChars).toBe(16_000);
  });

  it('posts signed results to the callback URL, and nowhere without one', () => {
    const call = start('http://127.0.0.1:1/cb').reply(message, 'done', 'succeeded');
    const body = JSON.stringify({ id: 'req-9', status: 'succeeded', text: 'done' });
    expect(call?.url).toBe('http://127.0.0.1:1/cb');
    expect(call?.body).toBe(body);
    const ts = String(call?.headers?.['x-caduceus-timestamp']);
    expect(call?.headers?.['x-caduceus-signature']).toBe(
      `sha256=${createHmac('sha256', 'hook-secret').update(`${ts}.${body}`).digest('hex')}`,
    );
    expect(start().reply(message, 'done', 'succeeded')).toBeUndefined();
  });
});
