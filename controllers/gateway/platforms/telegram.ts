// Telegram bot webhooks. Telegram does not sign bodies: it sends the `secret_token` given
// to setWebhook back in `X-Telegram-Bot-Api-Secret-Token`, which must match exactly.
// Updates carry an increasing `update_id` used against replays. Replies go through the
// Bot API: `POST {api}/bot{token}/sendMessage` with the chat id.

import type { GatewayPolicySpec } from '../../../reconciler/specs.js';
import { createHash } from 'node:crypto';
import { safeEqual } from './signing.js';
import { header, jsonObject, type Parsed, type PlatformAdapter, type PlatformRuntime } from './types.js';
import { sendJson } from '../../../reconciler/http-json.js';

export type TelegramSpec = NonNullable<GatewayPolicySpec['platforms']['telegram']>;

const DEFAULT_BASE = 'https://api.telegram.org';
/** Telegram keeps retrying an undelivered update for up to 24 hours; anything older is a replay. */
export const TELEGRAM_MAX_AGE_MS = 25 * 3_600_000;

function parseTelegram(body: Buffer): Parsed {
  const u = jsonObject(body, 'update');
  if (typeof u === 'string') return { kind: 'malformed', reason: u };
  if (!Number.isSafeInteger(u.update_id)) return { kind: 'malformed', reason: 'update lacks update_id' };
  const m = u.message as
    | {
        message_id?: unknown;
        from?: { id?: unknown; is_bot?: unknown };
        chat?: { id?: unknown; type?: unknown };
        text?: unknown;
      }
    | undefined;
  if (!m || typeof m !== 'object') return { kind: 'ignore', reason: 'update carries no message' };
  if (typeof m.text !== 'string') return { kind: 'ignore', reason: 'message has no text' };
  if (m.from?.is_bot === true) return { kind: 'ignore', reason: 'message from a bot' };
  const user = m.from?.id;
  const chat = m.chat?.id;
  if (
    (typeof user !== 'number' && typeof user !== 'string') ||
    (typeof chat !== 'number' && typeof chat !== 'string')
  ) {
    return { kind: 'malformed', reason: 'message lacks from.id or chat.id' };
  }
  // In groups people talk to each other; only /commands are meant for the bot.
  if (m.chat?.type !== 'private' && !m.text.startsWith('/'))
    return { kind: 'ignore', reason: 'group message that is not a /command' };
  return {
    kind: 'message',
    message: {
      user: String(user),
      channel: String(chat),
      text: m.text,
      requestId: String(u.update_id),
      replyTo: { chatId: String(chat), messageId: String(m.message_id ?? '') },
    },
  };
}

export const telegram: PlatformAdapter<TelegramSpec> = {
  requiredSecrets: (spec) => [
    { field: 'secretToken', ref: spec.secretToken },
    { field: 'botToken', ref: spec.botToken },
  ],
  start(spec, secret): PlatformRuntime {
    const secretToken = secret(spec.secretToken);
    const botToken = secret(spec.botToken);
    const base = (spec.apiBaseURL ?? DEFAULT_BASE).replace(/\/+$/, '');
    return {
      maxReplyChars: 4096,
      verify(headers, body, now) {
        const got = header(headers, 'x-telegram-bot-api-secret-token');
        if (!got) return { ok: false, status: 401, reason: 'missing X-Telegram-Bot-Api-Secret-Token' };
        if (!safeEqual(got, secretToken))
          return { ok: false, status: 401, reason: 'X-Telegram-Bot-Api-Secret-Token does not match' };
        let id: unknown;
        let date: unknown;
        try {
          const u = JSON.parse(body.toString('utf8')) as { update_id?: unknown; message?: { date?: unknown } };
          id = u.update_id;
          date = u.message?.date;
        } catch {
          id = undefined;
        }
        if (typeof date === 'number' && now - date * 1000 > TELEGRAM_MAX_AGE_MS) {
          return { ok: false, status: 401, reason: 'message is older than Telegram retries updates (24 hours)' };
        }
        return {
          ok: true,
          replayKey: Number.isSafeInteger(id)
            ? `telegram:${String(id)}`
            : `telegram-body:${createHash('sha256').update(body).digest('hex')}`,
        };
      },
      parse: (_headers, body) => parseTelegram(body),
      respond(res, outcome) {
        // Telegram only needs a 2xx; every message to the user goes through sendMessage.
        sendJson(res, 200, {});
        return outcome.kind === 'answer' || outcome.kind === 'refused' ? outcome.text : undefined;
      },
      post(channel, text) {
        return {
          url: `${base}/bot${botToken}/sendMessage`,
          body: JSON.stringify({ chat_id: /^-?\d+$/.test(channel) ? Number(channel) : channel, text }),
        };
      },
      reply(message, text) {
        const chatId = message.replyTo.chatId;
        if (!chatId) return undefined;
        const messageId = Number(message.replyTo.messageId);
        return {
          url: `${base}/bot${botToken}/sendMessage`,
          body: JSON.stringify({
            chat_id: /^-?\d+$/.test(chatId) ? Number(chatId) : chatId,
            text,
            ...(Number.isSafeInteger(messageId) && messageId > 0
              ? { reply_parameters: { message_id: messageId, allow_sending_without_reply: true } }
              : {}),
          }),
        };
      },
    };
  },
};
