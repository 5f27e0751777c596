// Slack slash commands and interactivity. Slack signs every request with the app's
// signing secret: `X-Slack-Signature` = `v0=` + hex HMAC-SHA256 over `v0:{timestamp}:{body}`,
// with `X-Slack-Request-Timestamp` in Unix seconds; anything older than five minutes is
// refused. Slack wants an answer within 3 s, so work is acknowledged at once and the
// result is POSTed to the request's `response_url`.

import type { GatewayPolicySpec } from '../../../reconciler/specs.js';
import { freshTimestamp, hmacSha256Hex, safeEqual } from './signing.js';
import { header, type Parsed, type PlatformAdapter, type PlatformRuntime } from './types.js';
import { sendJson } from '../../../reconciler/http-json.js';

export type SlackSpec = NonNullable<GatewayPolicySpec['platforms']['slack']>;

export const SLACK_WINDOW_MS = 5 * 60_000;
const DEFAULT_BASE = 'https://hooks.slack.com/';
/** The Web API, for chat.postMessage; apiBaseURL replaces it too (tests). */
const WEB_API = 'https://slack.com/api/';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Slack hands us the reply URL; we only ever POST to Slack's own host (or the configured base). */
function allowedResponseUrl(url: string, base: string): boolean {
  try {
    const u = new URL(url);
    const b = new URL(base.endsWith('/') ? base : `${base}/`);
    return u.origin === b.origin && u.pathname.startsWith(b.pathname) && !u.username && !u.password;
  } catch {
    return false;
  }
}

function parseSlack(body: Buffer): Parsed {
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('ssl_check') === '1') return { kind: 'ping' };
  const payload = form.get('payload');
  if (payload !== null) {
    let p: unknown;
    try {
      p = JSON.parse(payload);
    } catch {
      return { kind: 'malformed', reason: 'interactivity payload is not JSON' };
    }
    if (typeof p !== 'object' || p === null)
      return { kind: 'malformed', reason: 'interactivity payload is not an object' };
    const o = p as {
      type?: unknown;
      user?: { id?: unknown };
      channel?: { id?: unknown };
      container?: { channel_id?: unknown };
      response_url?: unknown;
      actions?: Array<{ value?: unknown; action_id?: unknown }>;
      trigger_id?: unknown;
    };
    if (o.type !== 'block_actions')
      return { kind: 'ignore', reason: `interactivity type ${String(o.type)} is not handled` };
    const user = str(o.user?.id);
    const channel = str(o.channel?.id) ?? str(o.container?.channel_id);
    const responseUrl = str(o.response_url);
    const text = str(o.actions?.[0]?.value);
    if (!user || !channel || !responseUrl || !text)
      return {
        kind: 'malformed',
        reason: 'block_actions payload lacks user.id, channel, response_url or actions[0].value',
      };
    return {
      kind: 'message',
      message: {
        user,
        channel,
        text,
        requestId: str(o.trigger_id) ?? '',
        replyTo: { responseUrl, mode: 'interactive' },
      },
    };
  }
  const user = str(form.get('user_id'));
  const channel = str(form.get('channel_id'));
  const responseUrl = str(form.get('response_url'));
  if (!form.get('command') || !user || !channel || !responseUrl)
    return { kind: 'malformed', reason: 'slash command lacks command, user_id, channel_id or response_url' };
  return {
    kind: 'message',
    message: {
      user,
      channel,
      text: form.get('text') ?? '',
      requestId: str(form.get('trigger_id')) ?? '',
      replyTo: { responseUrl, mode: 'slash' },
    },
  };
}

export const slack: PlatformAdapter<SlackSpec> = {
  requiredSecrets: (spec) => [{ field: 'signingSecret', ref: spec.signingSecret }],
  start(spec, secret): PlatformRuntime {
    const signingSecret = secret(spec.signingSecret);
    const base = spec.apiBaseURL ?? DEFAULT_BASE;
    // Read when posting, so an unset optional token stops posts only, never the slash commands.
    const botToken = (): string | undefined => (spec.botToken ? secret(spec.botToken) : undefined);
    const webApi = spec.apiBaseURL
      ? spec.apiBaseURL.endsWith('/')
        ? spec.apiBaseURL
        : `${spec.apiBaseURL}/`
      : WEB_API;
    return {
      maxReplyChars: 3000,
      verify(headers, body, now) {
        const ts = header(headers, 'x-slack-request-timestamp');
        const sig = header(headers, 'x-slack-signature');
        const fresh = freshTimestamp(ts, now, SLACK_WINDOW_MS);
        if (fresh === 'missing' || !sig)
          return { ok: false, status: 401, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
        if (fresh === 'stale')
          return { ok: false, status: 401, reason: 'X-Slack-Request-Timestamp is more than 5 minutes away' };
        const expected = `v0=${hmacSha256Hex(signingSecret, `v0:${ts}:`, body)}`;
        if (!safeEqual(sig, expected)) return { ok: false, status: 401, reason: 'X-Slack-Signature does not match' };
        return { ok: true, replayKey: `slack:${sig}` };
      },
      parse: (_headers, body) => parseSlack(body),
      respond(res, outcome, message) {
        if (outcome.kind === 'pong' || outcome.kind === 'ignored') {
          res.writeHead(200).end();
          return undefined;
        }
        // Interactivity ignores the HTTP body: everything goes through response_url.
        if (message?.replyTo.mode === 'interactive') {
          res.writeHead(200).end();
          return outcome.text;
        }
        sendJson(res, 200, { response_type: 'ephemeral', text: outcome.text });
        return undefined;
      },
      reply(message, text) {
        const url = message.replyTo.responseUrl;
        if (!url || !allowedResponseUrl(url, base)) return undefined;
        return { url, body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }) };
      },
      post(channel, text) {
        const token = botToken();
        if (!token) return undefined;
        return {
          url: new URL('chat.postMessage', webApi).toString(),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ channel, text }),
          // The Web API answers 200 with {"ok": false, "error": …} when it refuses.
          refusal: (answer) => {
            try {
              const r = JSON.parse(answer) as { ok?: unknown; error?: unknown };
              return r.ok === true
                ? undefined
                : `Slack refused chat.postMessage: ${String(r.error ?? 'no error given')}`;
            } catch {
              return 'Slack answered chat.postMessage with something that is not JSON';
            }
          },
        };
      },
    };
  },
};
