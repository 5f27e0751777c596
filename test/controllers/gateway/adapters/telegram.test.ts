// The Telegram adapter on its own: the secret token header, updates older than Telegram's
// retries, replay keys by update_id (else by the body's bytes), which messages are for the
// bot, and sendMessage calls that reply to the message.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { telegram, type TelegramSpec } from '../../../../controllers/gateway/platforms/telegram.js';
import { envRef, recorder, secrets } from './recorder.js';

const NOW = 1_700_000_000_000;
const start = (apiBaseURL?: string) =>
  telegram.start(
    { secretToken: envRef('TG_SECRET'), botToken: envRef('TG_BOT'), channels: [], apiBaseURL } as TelegramSpec,
    secrets({ TG_SECRET: 'tg-secret', TG_BOT: '123:bot' }),
  );
const HEADERS = { 'x-telegram-bot-api-secret-token': 'tg-secret' };
const update = (message: Record<string, unknown> | undefined, updateId: unknown = 77) => ({
  update_id: updateId,
  message,
});
const msg = (over: Record<string, unknown> = {}) => ({
  message_id: 5,
  from: { id: 21, is_bot: false },
  chat: { id: -200, type: 'group' },
  date: NOW / 1000,
  text: '/run task build',
  ...over,
});
const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('Telegram verify', () => {
  it('accepts the exact secret token and keys replays by update_id', () => {
    expect(start().verify(HEADERS, body(update(msg())), NOW)).toEqual({ ok: true, replayKey: 'telegram:77' });
    expect(telegram.requiredSecrets({ secretToken: envRef('A'), botToken: envRef('B') } as TelegramSpec)).toEqual([
      { field: 'secretToken', ref: envRef('A') },
      { field: 'botToken', ref: envRef('B') },
    ]);
  });

  it('keys an update without an integer update_id by the sha256 of its bytes', () => {
    for (const raw of [body(update(msg(), '77')), body(update(msg(), 1.5)), Buffer.from('not json')]) {
      expect(start().verify(HEADERS, raw, NOW)).toEqual({
        ok: true,
        replayKey: `telegram-body:${createHash('sha256').update(raw).digest('hex')}`,
      });
    }
  });

  it('refuses a missing or different secret token', () => {
    const b = body(update(msg()));
    expect(start().verify({}, b, NOW)).toEqual({
      ok: false,
      status: 401,
      reason: 'missing X-Telegram-Bot-Api-Secret-Token',
    });
    const wrong = { ok: false, status: 401, reason: 'X-Telegram-Bot-Api-Secret-Token does not match' };
    expect(start().verify({ 'x-telegram-bot-api-secret-token': 'tg-secreT' }, b, NOW)).toEqual(wrong);
    expect(start().verify({ 'x-telegram-bot-api-secret-token': 'tg-secret ' }, b, NOW)).toEqual(wrong);
    expect(start().verify({ 'x-telegram-bot-api-secret-token': '123:bot' }, b, NOW)).toEqual(wrong);
  });

  it('refuses a message older than Telegram retries updates, and takes one just inside', () => {
    const day = 25 * 3_600_000;
    expect(start().verify(HEADERS, body(update(msg({ date: (NOW - day - 1000) / 1000 }))), NOW)).toEqual({
      ok: false,
      status: 401,
      reason: 'message is older than Telegram retries updates (24 hours)',
    });
    expect(start().verify(HEADERS, body(update(msg({ date: (NOW - day) / 1000 }))), NOW).ok).toBe(true);
    expect(start().verify(HEADERS, body(update(msg({ date: 'old' }))), NOW).ok).toBe(true);
    // Only a numeric date counts: text is not read as seconds.
    expect(start().verify(HEADERS, body(update(msg({ date: '1' }))), NOW).ok).toBe(true);
    // An update without a message (an edit, a callback) still has its update_id as replay key.
    expect(start().verify(HEADERS, body({ update_id: 78, edited_message: msg() }), NOW)).toEqual({
      ok: true,
      replayKey: 'telegram:78',
    });
    expect(start().verify(HEADERS, body(update(msg({ date: (NOW + day * 2) / 1000 }))), NOW).ok).toBe(true);
  });
});

describe('Telegram parse', () => {
  const parse = (o: unknown) => start().parse(HEADERS, typeof o === 'string' ? Buffer.from(o) : body(o));

  it('reads a /command in a group and any text in a private chat', () => {
    expect(parse(update(msg()))).toEqual({
      kind: 'message',
      message: {
        user: '21',
        channel: '-200',
        text: '/run task build',
        requestId: '77',
        replyTo: { chatId: '-200', messageId: '5' },
      },
    });
    const dm = msg({ chat: { id: 'chan', type: 'private' }, from: { id: 'u' }, text: 'status', message_id: undefined });
    expect(parse(update(dm))).toEqual({
      kind: 'message',
      message: {
        user: 'u',
        channel: 'chan',
        text: 'status',
        requestId: '77',
        replyTo: { chatId: 'chan', messageId: '' },
      },
    });
  });

  it('ignores group chatter, bots, and updates without a text message', () => {
    expect(parse(update(msg({ text: 'hello all' })))).toEqual({
      kind: 'ignore',
      reason: 'group message that is not a /command',
    });
    expect(parse(update(msg({ from: { id: 9, is_bot: true } })))).toEqual({
      kind: 'ignore',
      reason: 'message from a bot',
    });
    expect(parse(update(msg({ from: { id: 9, is_bot: 'true' } }))).kind).toBe('message');
    expect(parse(update(undefined))).toEqual({ kind: 'ignore', reason: 'update carries no message' });
    expect(parse(update('text'))).toEqual({ kind: 'ignore', reason: 'update carries no message' });
    expect(parse(update(msg({ text: undefined })))).toEqual({ kind: 'ignore', reason: 'message has no text' });
  });

  it('calls updates without update_id, sender or chat malformed', () => {
    expect(parse(update(msg(), '1'))).toEqual({ kind: 'malformed', reason: 'update lacks update_id' });
    expect(parse(update(msg(), 2 ** 60))).toEqual({ kind: 'malformed', reason: 'update lacks update_id' });
    const lacking = { kind: 'malformed', reason: 'message lacks from.id or chat.id' };
    expect(parse(update(msg({ from: {} })))).toEqual(lacking);
    expect(parse(update(msg({ from: undefined })))).toEqual(lacking);
    expect(parse(update(msg({ chat: undefined })))).toEqual(lacking);
    expect(parse(update(msg({ from: { id: true } })))).toEqual(lacking);
    expect(parse(update(msg({ chat: { type: 'private' } })))).toEqual(lacking);
    expect(parse(update(msg({ chat: { id: null, type: 'private' } })))).toEqual(lacking);
    expect(parse('[1]')).toEqual({ kind: 'malformed', reason: 'update is not a JSON object' });
  });
});

describe('Telegram respond and reply', () => {
  it('answers 200 {} and hands answers and refusals to sendMessage', () => {
    for (const [outcome, text] of [
      [{ kind: 'answer', text: 'a' }, 'a'],
      [{ kind: 'refused', text: 'r', code: 'forbidden' }, 'r'],
      [{ kind: 'accepted', text: 'x', requestId: '1' }, undefined],
      [{ kind: 'pong' }, undefined],
    ] as const) {
      const r = recorder();
      expect(start().respond(r.res, outcome)).toBe(text);
      expect([r.status(), r.json()]).toEqual([200, {}]);
    }
    expect(start().maxReplyChars).toBe(4096);
  });

  it('calls sendMessage with a numeric chat id and a reply to the message when there is one', () => {
    const m = (chatId: string, messageId: string) => ({
      user: 'u',
      channel: chatId,
      text: 't',
      requestId: '1',
      replyTo: { chatId, messageId },
    });
    expect(start().reply(m('-200', '5'), 'done', 'succeeded')).toEqual({
      url: 'https://api.telegram.org/bot123:bot/sendMessage',
      body: JSON.stringify({
        chat_id: -200,
        text: 'done',
        reply_parameters: { message_id: 5, allow_sending_without_reply: true },
      }),
    });
    expect(JSON.parse(start('http://127.0.0.1:9//').reply(m('@chan', ''), 'x', 'failed')?.body ?? '')).toEqual({
      chat_id: '@chan',
      text: 'x',
    });
    expect(JSON.parse(start().reply(m('12345', '0'), 'x', 'failed')?.body ?? '')).toEqual({
      chat_id: 12345,
      text: 'x',
    });
    expect(start('http://127.0.0.1:9//').reply(m('1', '0'), 'x', 'failed')?.url).toBe(
      'http://127.0.0.1:9/bot123:bot/sendMessage',
    );
    expect(JSON.parse(start().reply(m('12a', '1.5'), 'x', 'failed')?.body ?? '')).toEqual({
      chat_id: '12a',
      text: 'x',
    });
    expect(JSON.parse(start().reply(m('a12', '-3'), 'x', 'failed')?.body ?? '')).toEqual({ chat_id: 'a12', text: 'x' });
    expect(start().reply({ ...m('1', '1'), replyTo: {} }, 'x', 'failed')).toBeUndefined();
  });
});
