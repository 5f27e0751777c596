// The whitelist from git, enforced live: commits change who may run what without a
// restart, a removed user's queued request is refused when it would start, platforms
// whose secrets are unset stay stopped (503) while the others serve, per-user rate
// limits, audit levels, reply retries, and pruning the policy stops every platform.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ROLES, eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, slackCommand, telegramUpdate, webhookSigned } from './signers.js';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function ready(g: GatewayHarness): { status: string; reason: string; message: string } | undefined {
  const c = g.app.core.status('GatewayPolicy/team')?.conditions.find((x) => x.type === 'Ready');
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
}

const slackRun = (g: GatewayHarness, user: string, text: string, id: string) =>
  post(
    g.url('slack'),
    slackCommand(g.secrets.slack, { user, channel: 'C1', text, responseUrl: `${g.fake.url}/slack/r/${id}` }),
  );

describe('gateway policy from git', () => {
  it('applies a whitelist change committed to git without a restart', async () => {
    const g = await startGateway();
    h = g;
    const refused = await slackRun(g, 'U4', 'run task mark', 'a1');
    expect((refused.json() as { text: string }).text).toBe('You are not allowed to use Caduceus here.');

    // Add U4 to ops and drop U1 entirely.
    const roles = [{ ...DEFAULT_ROLES[0]!, users: ['slack:U4'] }, DEFAULT_ROLES[1]!];
    await g.commitPolicy({ roles }, 'add U4, remove U1');
    const ok = await slackRun(g, 'U4', 'run task mark', 'a2');
    expect((ok.json() as { text: string }).text).toBe('Working on it: run task mark');
    await g.fake.waitFor((r) => r.path.endsWith('/a2') && String(r.body.text).startsWith('task mark succeeded'));
    const gone = await slackRun(g, 'U1', 'run task mark', 'a3');
    expect((gone.json() as { text: string }).text).toBe('You are not allowed to use Caduceus here.');
    expect(g.markCount()).toBe(1);
    expect(g.runs({ kind: 'task', name: 'mark' }).map((r) => r.actor)).toEqual(['slack:U4']);
  });

  it('refuses a queued request when its user is removed before the work starts', async () => {
    const g = await startGateway({ gateway: { concurrency: 1 } });
    h = g;
    // U1's slow task holds the only slot until the test releases it.
    expect((await slackRun(g, 'U1', 'run task slow', 'q1')).status).toBe(200);
    await eventually(() => expect(existsSync(join(g.markers, 'slow-started'))).toBe(true));
    const queued = await slackRun(g, 'U3', 'run task mark', 'q2');
    expect((queued.json() as { text: string }).text).toBe('Working on it: run task mark');

    const roles = [
      { ...DEFAULT_ROLES[0]!, users: DEFAULT_ROLES[0]!.users.filter((u) => u !== 'slack:U3') },
      DEFAULT_ROLES[1]!,
    ];
    await g.commitPolicy({ roles }, 'remove U3');
    writeFileSync(join(g.markers, 'release'), '');

    const reply = await g.fake.waitFor((r) => r.path.endsWith('/q2'));
    expect(reply.body.text).toBe('You are not allowed to use Caduceus here.');
    await g.fake.waitFor((r) => r.path.endsWith('/q1') && String(r.body.text).startsWith('task slow succeeded'));
    expect(g.markCount()).toBe(0);
    expect(g.runs({ kind: 'task', name: 'mark' })).toEqual([]);
    const row = g.audit().find((a) => a.user === 'U3' && a.decision === 'refused');
    expect(row?.reason).toBe('checked again before start: user slack:U3 is not on the whitelist');
  });

  it('keeps a platform whose secret is unset stopped (503, SecretUnset) while the others serve', async () => {
    const g = await startGateway({ unsetEnv: ['telegramBot'] });
    h = g;
    const res = await post(
      g.url('telegram'),
      telegramUpdate(g.secrets.telegramSecret, { user: 21, chat: -200, text: '/run task mark' }),
    );
    expect(res.status).toBe(503);
    expect(res.text).toMatch(new RegExp(`botToken \\(env ${g.secrets.env.telegramBot}\\) unset`));
    expect(ready(g)).toMatchObject({ status: 'False', reason: 'SecretUnset' });
    expect(ready(g)?.message).toMatch(
      /telegram not started: botToken \(env GW_TG_BOT_\w+\) unset or empty; serving slack at \/gateway\/slack/,
    );
    const observed = g.app.core.status('GatewayPolicy/team')?.observed as {
      platforms: Record<string, { ready: boolean; reason?: string }>;
    };
    expect(observed.platforms.telegram).toMatchObject({ ready: false, reason: 'SecretUnset' });
    expect(observed.platforms.slack).toMatchObject({ ready: true });
    expect((await slackRun(g, 'U1', 'run task mark', 'u1')).status).toBe(200);
    await eventually(() => expect(g.markCount()).toBe(1));
  });

  it('admits nobody when the policy lists no users', async () => {
    const g = await startGateway({
      shape: { roles: [{ name: 'empty', users: [], permissions: { tasks: ['mark'], status: true } }] },
    });
    h = g;
    expect(ready(g)?.message).toMatch(/nobody is admitted/);
    const res = await slackRun(g, 'U1', 'status', 'n1');
    expect((res.json() as { text: string }).text).toBe('You are not allowed to use Caduceus here.');
    const hook = await post(
      g.url('webhook'),
      webhookSigned(g.secrets.webhook, JSON.stringify({ user: 'robot', channel: 'ci', text: 'help' })),
    );
    expect(hook.status).toBe(403);
  });

  it('limits each user to rateLimit.requests per window', async () => {
    const g = await startGateway({ shape: { rateLimit: { requests: 2, per: '1m' } } });
    h = g;
    for (const id of ['l1', 'l2'])
      expect(((await slackRun(g, 'U1', 'help', id)).json() as { text: string }).text).toMatch(/^commands:/);
    const third = await slackRun(g, 'U1', 'run task mark', 'l3');
    expect((third.json() as { text: string }).text).toMatch(/^Too many requests; try again in \d+s\.$/);
    // Another user has a budget of their own.
    expect(((await slackRun(g, 'U3', 'help', 'l4')).json() as { text: string }).text).toMatch(/^commands:/);
    expect(g.audit().find((a) => a.user === 'U1' && a.decision === 'refused')?.reason).toBe(
      'rate limit of 2 per 60000 ms exceeded',
    );
    await g.idle();
    expect(g.markCount()).toBe(0);
  });

  it('retries a failed reply with backoff and records it; records a reply that never got through', async () => {
    const g = await startGateway();
    h = g;
    g.fake.failNext(2, 502);
    await slackRun(g, 'U1', 'run task mark', 'd1');
    const ok = await g.fake.waitFor((r) => r.path.endsWith('/d1'));
    expect(String(ok.body.text)).toMatch(/^task mark succeeded/);
    expect(g.fake.requests.filter((r) => r.path.endsWith('/d1')).map((r) => r.status)).toEqual([502, 502, 200]);
    await eventually(() =>
      expect(g.audit().find((a) => a.decision === 'delivered' && a.level === 'warn')?.reason).toMatch(
        /^delivered after 3 attempts; earlier: HTTP 502/,
      ),
    );

    g.fake.failNext(3, 503);
    await slackRun(g, 'U1', 'run task mark', 'd2');
    await eventually(() => expect(g.fake.requests.filter((r) => r.path.endsWith('/d2')).length).toBe(3));
    const failed = await eventually(() => {
      const row = g.audit().find((a) => a.decision === 'delivery-failed');
      expect(row?.decision).toBe('delivery-failed');
      return row as NonNullable<typeof row>;
    });
    expect(failed).toMatchObject({ level: 'error', platform: 'slack', user: 'U1' });
    expect(failed.reason).toBe(
      'reply not delivered after 3 attempt(s): HTTP 503: ' +
        '{"ok":false,"error_code":503,"description":"injected failure"}',
    );
    // A 4xx other than 429 is final: no retry.
    g.fake.failNext(1, 404);
    await slackRun(g, 'U1', 'run task mark', 'd3');
    await eventually(() => expect(g.audit().filter((a) => a.decision === 'delivery-failed')).toHaveLength(2));
    expect(g.fake.requests.filter((r) => r.path.endsWith('/d3')).length).toBe(1);
  });

  it('respects audit.level refused, but always logs bad signatures', async () => {
    const g = await startGateway({ shape: { audit: 'refused' } });
    h = g;
    await slackRun(g, 'U1', 'run task mark', 'v1');
    await g.fake.waitFor((r) => r.path.endsWith('/v1'));
    await slackRun(g, 'U9', 'run task mark', 'v2');
    expect(
      (
        await post(
          g.url('slack'),
          slackCommand('forged', {
            user: 'U1',
            channel: 'C1',
            text: 'status',
            responseUrl: `${g.fake.url}/slack/r/v3`,
          }),
        )
      ).status,
    ).toBe(401);
    const decisions = g
      .audit()
      .map((a) => a.decision)
      .sort();
    expect(decisions).toEqual(['refused', 'rejected']);
  });

  it('stops every platform when the policy is removed from git', async () => {
    const g = await startGateway();
    h = g;
    expect((await slackRun(g, 'U1', 'help', 'p1')).status).toBe(200);
    await g.commitPolicy(null, 'remove the gateway policy');
    for (const p of ['slack', 'discord', 'telegram', 'webhook']) {
      const res = await fetch(g.url(p), { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    }
    expect((await slackRun(g, 'U1', 'run task mark', 'p2')).status).toBe(404);
    await g.idle();
    expect(g.markCount()).toBe(0);
  });
});
