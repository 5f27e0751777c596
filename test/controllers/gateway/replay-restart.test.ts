// Replay protection survives a restart: a signed request accepted by one `caduceus up`
// is refused by the next one started on the same state directory and repository, with
// the same 409 the check gives within one process, and nothing runs a second time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, slackCommand, telegramUpdate, webhookSigned } from './signers.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

describe('gateway: replay protection across restarts', () => {
  it('refuses after a restart the exact signed requests the previous app accepted, and runs nothing', async () => {
    const hook = webhookSigned(
      h.secrets.webhook,
      JSON.stringify({ id: 'job-r1', user: 'robot', channel: 'ci', text: 'run task mark' }),
    );
    const slack = slackCommand(h.secrets.slack, {
      user: 'U1',
      channel: 'C1',
      text: 'run task mark',
      responseUrl: `${h.fake.url}/slack/respond/r1`,
    });
    const tg = telegramUpdate(h.secrets.telegramSecret, { user: 21, chat: -200, text: '/run task mark' });
    expect((await post(h.url('webhook'), hook)).status).toBe(202);
    expect((await post(h.url('slack'), slack)).status).toBe(200);
    expect((await post(h.url('telegram'), tg)).status).toBe(200);
    await eventually(() => expect(h.markCount()).toBe(3));
    await eventually(() => expect(h.runs({ kind: 'task', name: 'mark' })).toHaveLength(3));
    const firstUrl = h.app.url;

    await h.restart();
    expect(h.app.url).not.toBe(firstUrl);

    // Within one process these answer 409; a fresh process must answer the same.
    expect((await post(h.url('webhook'), hook)).status).toBe(409);
    expect((await post(h.url('slack'), slack)).status).toBe(409);
    expect((await post(h.url('telegram'), tg)).status).toBe(409);
    const rejected = h
      .audit()
      .filter((a) => a.decision === 'rejected' && a.reason.startsWith('HTTP 409: replayed request'));
    expect(rejected.map((a) => a.platform).sort()).toEqual(['slack', 'telegram', 'webhook']);

    // The new app does serve: a newly signed request runs, and only that one.
    const fresh = webhookSigned(
      h.secrets.webhook,
      JSON.stringify({ id: 'job-r2', user: 'robot', channel: 'ci', text: 'run task mark' }),
    );
    expect((await post(h.url('webhook'), fresh)).status).toBe(202);
    await eventually(() => expect(h.markCount()).toBe(4));
    await h.idle();
    expect(h.markCount()).toBe(4);
    expect(h.runs({ kind: 'task', name: 'mark' })).toHaveLength(4);
    expect(h.runs({ kind: 'task', name: 'mark' }).filter((r) => r.trigger === 'gateway:webhook')).toHaveLength(2);
  });
});
