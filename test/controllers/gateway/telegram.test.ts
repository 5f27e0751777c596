// Telegram bot webhooks end to end: updates carry the secret token in
// X-Telegram-Bot-Api-Secret-Token, replies go to the loopback Bot API's sendMessage.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, telegramUpdate } from './signers.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

describe('gateway: Telegram', () => {
  it('runs the task for a whitelisted user and replies with sendMessage to the chat', async () => {
    const upd = telegramUpdate(h.secrets.telegramSecret, { user: 21, chat: -200, text: '/run@CaduceusBot task mark' });
    const res = await post(h.url('telegram'), upd);
    expect(res.status).toBe(200);
    const sent = await h.fake.waitFor(
      (r) =>
        r.path === `/telegram/bot${h.secrets.telegramBot}/sendMessage` && String(r.body.text).startsWith('task mark'),
    );
    expect(sent.body).toMatchObject({
      chat_id: -200,
      reply_parameters: { message_id: upd.updateId + 5, allow_sending_without_reply: true },
    });
    expect(String(sent.body.text)).toMatch(/^task mark succeeded/);
    expect(h.markCount()).toBe(1);
    expect(h.runs({ kind: 'task', name: 'mark' })[0]).toMatchObject({
      trigger: 'gateway:telegram',
      actor: 'telegram:21',
    });
  });

  it('refuses an unknown user with a short sendMessage reply and an audit record', async () => {
    const res = await post(
      h.url('telegram'),
      telegramUpdate(h.secrets.telegramSecret, { user: 777, chat: -200, text: '/run task mark' }),
    );
    expect(res.status).toBe(200);
    const sent = await h.fake.waitFor((r) => r.body.text === 'You are not allowed to use Caduceus here.');
    expect(sent.body.chat_id).toBe(-200);
    expect(h.audit().find((a) => a.user === '777' && a.decision === 'refused')).toMatchObject({
      platform: 'telegram',
      channel: '-200',
      command: '/run task mark',
    });
    await h.idle();
    expect(h.markCount()).toBe(1);
  });

  it('ignores chatter in groups that is not a /command', async () => {
    const n = h.fake.requests.length;
    const res = await post(
      h.url('telegram'),
      telegramUpdate(h.secrets.telegramSecret, { user: 777, chat: -200, text: 'lunch?' }),
    );
    expect(res.status).toBe(200);
    await h.idle();
    expect(h.fake.requests.length).toBe(n);
  });

  it('rejects a wrong or missing secret token, a replay, malformed and oversized bodies; runs nothing', async () => {
    const before = h.markCount();
    const runsBefore = h.runs().length;
    expect(
      (await post(h.url('telegram'), telegramUpdate('wrong_token', { user: 21, chat: -200, text: '/run task mark' })))
        .status,
    ).toBe(401);
    const good = telegramUpdate(h.secrets.telegramSecret, { user: 21, chat: -200, text: '/run task mark' });
    expect(
      (await post(h.url('telegram'), { body: good.body, headers: { 'content-type': 'application/json' } })).status,
    ).toBe(401);
    expect(
      (await post(h.url('telegram'), { body: '{"update_id": 5, "message": ', headers: good.headers })).status,
    ).toBe(400);
    expect(
      (
        await post(h.url('telegram'), {
          body: JSON.stringify({ update_id: 6, pad: 'y'.repeat(70_000) }),
          headers: good.headers,
        })
      ).status,
    ).toBe(413);
    const old = telegramUpdate(h.secrets.telegramSecret, { user: 21, chat: -200, text: '/run task mark' });
    const stale = {
      ...old,
      body: String(old.body).replace(/"date":\d+/, `"date":${Math.floor(Date.now() / 1000) - 26 * 3600}`),
    };
    expect((await post(h.url('telegram'), stale)).status).toBe(401);
    expect((await post(h.url('telegram'), good)).status).toBe(200);
    expect((await post(h.url('telegram'), good)).status).toBe(409);
    await eventually(() => expect(h.markCount()).toBe(before + 1));
    await h.idle();
    expect(h.markCount()).toBe(before + 1);
    expect(h.runs().length).toBe(runsBefore + 1);
    expect(
      h.audit().filter((a) => a.platform === 'telegram' && a.decision === 'rejected').length,
    ).toBeGreaterThanOrEqual(6);
  });
});
