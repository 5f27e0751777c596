// The generic signed webhook end to end: HMAC-SHA256 over `timestamp.body`, a 202 for
// accepted work, HTTP statuses for refusals, and the result POSTed to callbackURL with a
// signature the receiver can check.

import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, webhookSigned } from './signers.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const body = (o: Record<string, unknown>): string => JSON.stringify(o);

describe('gateway: generic webhook', () => {
  it('accepts a signed command with 202 and POSTs the signed result to callbackURL', async () => {
    const res = await post(
      h.url('webhook'),
      webhookSigned(h.secrets.webhook, body({ id: 'job-1', user: 'robot', channel: 'ci', text: 'run task mark' })),
    );
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted', id: 'job-1' });
    const cb = await h.fake.waitFor((r) => r.path === '/callback' && r.body.id === 'job-1');
    expect(cb.body).toMatchObject({ id: 'job-1', status: 'succeeded' });
    const ts = String(cb.headers['x-caduceus-timestamp']);
    const expected = `sha256=${createHmac('sha256', h.secrets.webhook).update(`${ts}.${cb.raw}`).digest('hex')}`;
    expect(cb.headers['x-caduceus-signature']).toBe(expected);
    expect(h.markCount()).toBe(1);
  });

  it('answers refusals with 403 and bad commands with 400, audited, running nothing', async () => {
    const unknown = await post(
      h.url('webhook'),
      webhookSigned(h.secrets.webhook, body({ user: 'mallory', channel: 'ci', text: 'run task mark' })),
    );
    expect(unknown.status).toBe(403);
    const role = await post(
      h.url('webhook'),
      webhookSigned(h.secrets.webhook, body({ user: 'viewer', channel: 'ci', text: 'run task slow' })),
    );
    expect(role.status).toBe(403);
    const bad = await post(
      h.url('webhook'),
      webhookSigned(h.secrets.webhook, body({ user: 'robot', channel: 'ci', text: 'rm -rf /' })),
    );
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ status: 'refused', error: expect.stringMatching(/unknown command "rm"/) });
    expect(h.audit().filter((a) => a.platform === 'webhook' && a.decision === 'refused')).toHaveLength(3);
    await h.idle();
    expect(h.markCount()).toBe(1);
  });

  it('rejects bad signatures, stale timestamps, replays, malformed and oversized bodies', async () => {
    const before = h.markCount();
    const ok = body({ id: 'job-2', user: 'robot', channel: 'ci', text: 'run task mark' });
    expect((await post(h.url('webhook'), webhookSigned('wrong', ok))).status).toBe(401);
    expect((await post(h.url('webhook'), webhookSigned(h.secrets.webhook, ok, Date.now() - 301_000))).status).toBe(401);
    expect((await post(h.url('webhook'), webhookSigned(h.secrets.webhook, '[1,2'))).status).toBe(400);
    expect(
      (await post(h.url('webhook'), webhookSigned(h.secrets.webhook, body({ user: 'robot', channel: 'ci' })))).status,
    ).toBe(400);
    expect(
      (
        await post(
          h.url('webhook'),
          webhookSigned(h.secrets.webhook, body({ user: 'robot', channel: 'ci', text: 'x'.repeat(66 * 1024) })),
        )
      ).status,
    ).toBe(413);
    const signed = webhookSigned(h.secrets.webhook, ok);
    expect((await post(h.url('webhook'), signed)).status).toBe(202);
    expect((await post(h.url('webhook'), signed)).status).toBe(409);
    await eventually(() => expect(h.markCount()).toBe(before + 1));
    await h.idle();
    expect(h.markCount()).toBe(before + 1);
  });
});
