// A generic signed webhook for anything that is not a chat platform (CI, scripts, other
// bots). The sender signs `{timestamp}.{body}` with HMAC-SHA256 and the shared secret:
// `X-Caduceus-Signature: sha256=<hex>`, `X-Caduceus-Timestamp: <unix seconds>`, five-minute
// window. The body is JSON `{user, channel, text, id?}`. Results are POSTed to the
// policy's callbackURL, signed the same way so the receiver can verify them.

import { createHash } from 'node:crypto';
import type { GatewayPolicySpec } from '../../../reconciler/specs.js';
import { freshTimestamp, hmacSha256Hex, safeEqual } from './signing.js';
import { header, jsonObject, type Parsed, type PlatformAdapter, type PlatformRuntime } from './types.js';
import { sendJson } from '../../../reconciler/http-json.js';

export type WebhookSpec = NonNullable<GatewayPolicySpec['platforms']['webhook']>;

export const WEBHOOK_WINDOW_MS = 5 * 60_000;

/** Signature headers for `body` at `now`; used by senders (tests, scripts) and by our callbacks. */
export function signWebhook(secret: string, body: string, now = Date.now()): Record<string, string> {
  const ts = String(Math.floor(now / 1000));
  return { 'x-caduceus-timestamp': ts, 'x-caduceus-signature': `sha256=${hmacSha256Hex(secret, `${ts}.`, body)}` };
}

function parseWebhook(body: Buffer): Parsed {
  const o = jsonObject(body, 'body');
  if (typeof o === 'string') return { kind: 'malformed', reason: o };
  const idOf = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
  const user = idOf(o.user);
  const channel = idOf(o.channel);
  if (!user || !channel || typeof o.text !== 'string')
    return { kind: 'malformed', reason: 'body needs string fields user, channel and text' };
  const requestId =
    typeof o.id === 'string' && o.id.length <= 200
      ? o.id
      : createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { kind: 'message', message: { user, channel, text: o.text, requestId, replyTo: { id: requestId } } };
}

export const webhook: PlatformAdapter<WebhookSpec> = {
  requiredSecrets: (spec) => [{ field: 'secret', ref: spec.secret }],
  start(spec, secret): PlatformRuntime {
    const key = secret(spec.secret);
    const callbackURL = spec.callbackURL;
    return {
      maxReplyChars: 16_000,
      verify(headers, body, now) {
        const ts = header(headers, 'x-caduceus-timestamp');
        const sig = header(headers, 'x-caduceus-signature');
        const fresh = freshTimestamp(ts, now, WEBHOOK_WINDOW_MS);
        if (fresh === 'missing' || !sig)
          return { ok: false, status: 401, reason: 'missing X-Caduceus-Signature or X-Caduceus-Timestamp' };
        if (fresh === 'stale')
          return { ok: false, status: 401, reason: 'X-Caduceus-Timestamp is more than 5 minutes away' };
        const expected = `sha256=${hmacSha256Hex(key, `${ts}.`, body)}`;
        if (!safeEqual(sig, expected)) return { ok: false, status: 401, reason: 'X-Caduceus-Signature does not match' };
        return { ok: true, replayKey: `webhook:${sig}` };
      },
      parse: (_headers, body) => parseWebhook(body),
      respond(res, outcome, message) {
        switch (outcome.kind) {
          case 'accepted':
            sendJson(res, 202, {
              status: 'accepted',
              id: outcome.requestId,
              message: outcome.text,
              callback: callbackURL !== undefined,
            });
            break;
          case 'answer':
            sendJson(res, 200, { status: 'ok', id: message?.requestId, text: outcome.text });
            break;
          case 'refused':
            sendJson(res, outcome.code === 'rate-limited' ? 429 : outcome.code === 'bad-command' ? 400 : 403, {
              status: 'refused',
              id: message?.requestId,
              error: outcome.text,
            });
            break;
          default:
            sendJson(res, 200, { status: 'ok' });
        }
        return undefined;
      },
      post(channel, text) {
        if (!callbackURL) return undefined;
        const body = JSON.stringify({ channel, status: 'delivery', text });
        return { url: callbackURL, headers: signWebhook(key, body), body };
      },
      reply(message, text, status) {
        if (!callbackURL) return undefined;
        const body = JSON.stringify({ id: message.replyTo.id, status, text });
        return { url: callbackURL, headers: signWebhook(key, body), body };
      },
    };
  },
};
