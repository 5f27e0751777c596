// Slack slash commands end to end: requests signed with the v0 scheme reach the real
// gateway route of a running Caduceus; the answer comes within the HTTP response and the
// result is POSTed to the loopback response_url.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type GatewayHarness } from './harness.js';
import { post, slackCommand, slackSigned } from './signers.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const responseUrl = (id: string): string => `${h.fake.url}/slack/commands/T0001/${id}`;

describe('gateway: Slack', () => {
  it('runs the task for a whitelisted user, acks at once and posts the result to response_url', async () => {
    const res = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U1',
        channel: 'C1',
        text: 'run task mark',
        responseUrl: responseUrl('ok1'),
      }),
    );
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ response_type: 'ephemeral', text: 'Working on it: run task mark' });
    const reply = await h.fake.waitFor((r) => r.path === '/slack/commands/T0001/ok1');
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(reply.body.text)).toMatch(/^task mark succeeded/);
    expect(h.markCount()).toBe(1);
    const run = h.runs({ kind: 'task', name: 'mark' })[0];
    expect(run).toMatchObject({ trigger: 'gateway:slack', actor: 'slack:U1', status: 'succeeded' });
    // 'delivered' is recorded once the reply's POST has been answered, just after the fake saw it.
    await eventually(() => {
      const decisions = h
        .audit()
        .filter((a) => a.user === 'U1')
        .map((a) => a.decision);
      expect(decisions).toEqual(expect.arrayContaining(['accepted', 'completed', 'delivered']));
    });
  });

  it('runs a skill by its alias with key=value parameters under the canonical name', async () => {
    const res = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U1',
        channel: 'C1',
        text: 'run skill hello who="Ada Lovelace"',
        responseUrl: responseUrl('sk1'),
      }),
    );
    expect(res.status).toBe(200);
    const reply = await h.fake.waitFor((r) => r.path.endsWith('/sk1'));
    expect(String(reply.body.text)).toMatch(/^skill greet@1.0.0 succeeded[^\n]*\nhi Ada Lovelace/);
    expect(h.skillLines()).toEqual(['hi Ada Lovelace']);
    expect(h.runs({ kind: 'skill', name: 'greet' })[0]).toMatchObject({ actor: 'slack:U1', trigger: 'gateway:slack' });
  });

  it('refuses an unknown user with a short reply and an audit record, and runs nothing', async () => {
    const before = h.markCount();
    const res = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U999',
        channel: 'C1',
        text: 'run task mark',
        responseUrl: responseUrl('no1'),
      }),
    );
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ response_type: 'ephemeral', text: 'You are not allowed to use Caduceus here.' });
    const row = h.audit().find((a) => a.user === 'U999');
    expect(row).toMatchObject({
      decision: 'refused',
      platform: 'slack',
      channel: 'C1',
      command: 'run task mark',
      level: 'warn',
    });
    expect(row?.reason).toBe('user slack:U999 is not on the whitelist');
    await h.idle();
    expect(h.markCount()).toBe(before);
    expect(h.runs({ kind: 'task', name: 'mark' }).filter((r) => r.actor === 'slack:U999')).toEqual([]);
  });

  it('refuses a role that does not name the task, and a channel not on the list', async () => {
    const before = h.markCount();
    const wrongRole = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U2',
        channel: 'C1',
        text: 'run task mark',
        responseUrl: responseUrl('r1'),
      }),
    );
    expect(wrongRole.json()).toEqual({ response_type: 'ephemeral', text: 'Your role may not run task mark.' });
    const wrongChannel = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U1',
        channel: 'C9',
        text: 'run task mark',
        responseUrl: responseUrl('r2'),
      }),
    );
    expect(wrongChannel.json()).toEqual({
      response_type: 'ephemeral',
      text: 'This channel is not allowed to use Caduceus.',
    });
    expect(h.audit().filter((a) => a.decision === 'refused' && (a.user === 'U2' || a.channel === 'C9'))).toHaveLength(
      2,
    );
    await h.idle();
    expect(h.markCount()).toBe(before);
  });

  it('answers help and status inline for whitelisted users', async () => {
    const help = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, { user: 'U2', channel: 'C1', text: 'help', responseUrl: responseUrl('h1') }),
    );
    expect((help.json() as { text: string }).text).toMatch(/run task NAME[\s\S]*you may run no tasks/);
    const status = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, { user: 'U2', channel: 'C1', text: 'status', responseUrl: responseUrl('s1') }),
    );
    expect((status.json() as { text: string }).text).toMatch(/^revision [0-9a-f]{8}; gateway: slack ready/);
  });

  it('rejects bad signatures, stale timestamps, replays, malformed and oversized bodies and runs nothing', async () => {
    const before = h.markCount();
    const runsBefore = h.runs().length;
    const good = slackCommand(h.secrets.slack, {
      user: 'U1',
      channel: 'C1',
      text: 'run task mark',
      responseUrl: responseUrl('x1'),
    });

    const forged = slackCommand('not-the-secret', {
      user: 'U1',
      channel: 'C1',
      text: 'run task mark',
      responseUrl: responseUrl('x2'),
    });
    expect((await post(h.url('slack'), forged)).status).toBe(401);
    const tampered = { ...good, body: String(good.body).replace('run+task+mark', 'run+task+slow') };
    expect((await post(h.url('slack'), tampered)).status).toBe(401);
    const unsigned = { body: good.body, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    expect((await post(h.url('slack'), unsigned)).status).toBe(401);
    const stale = slackCommand(
      h.secrets.slack,
      { user: 'U1', channel: 'C1', text: 'run task mark', responseUrl: responseUrl('x3') },
      Date.now() - 6 * 60_000,
    );
    expect((await post(h.url('slack'), stale)).status).toBe(401);
    const malformed = slackSigned(h.secrets.slack, 'text=run+task+mark&user_id=U1');
    expect((await post(h.url('slack'), malformed)).status).toBe(400);
    const huge = slackSigned(h.secrets.slack, `command=%2Fcaduceus&text=${'a'.repeat(70 * 1024)}`);
    expect((await post(h.url('slack'), huge)).status).toBe(413);

    expect((await post(h.url('slack'), good)).status).toBe(200);
    expect((await post(h.url('slack'), good)).status).toBe(409);
    await eventually(() => expect(h.markCount()).toBe(before + 1));
    await h.idle();
    expect(h.markCount()).toBe(before + 1);
    expect(h.runs().length).toBe(runsBefore + 1);
    const rejected = h.audit().filter((a) => a.decision === 'rejected' && a.platform === 'slack');
    expect(rejected.map((a) => a.reason.slice(0, 8))).toEqual(
      expect.arrayContaining(['HTTP 401', 'HTTP 400', 'HTTP 413', 'HTTP 409']),
    );
    expect(rejected.every((a) => a.level === 'warn')).toBe(true);
  });
});

describe('gateway: Slack interactivity', () => {
  it('runs the command carried by a block action and answers through response_url only', async () => {
    const payload = {
      type: 'block_actions',
      user: { id: 'U1', username: 'someone' },
      channel: { id: 'C1', name: 'ops' },
      trigger_id: 'trig-button',
      response_url: `${h.fake.url}/slack/actions/T0001/b1`,
      actions: [{ action_id: 'run', block_id: 'b', type: 'button', value: 'run skill greet who=button' }],
    };
    const res = await post(
      h.url('slack'),
      slackSigned(h.secrets.slack, new URLSearchParams({ payload: JSON.stringify(payload) }).toString()),
    );
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    await h.fake.waitFor(
      (r) => r.path === '/slack/actions/T0001/b1' && r.body.text === 'Working on it: run skill greet who=button',
    );
    const result = await h.fake.waitFor(
      (r) => r.path === '/slack/actions/T0001/b1' && String(r.body.text).startsWith('skill greet'),
    );
    expect(String(result.body.text)).toMatch(/hi button/);
  });

  it('never posts a reply to a response_url outside the configured Slack API base', async () => {
    const before = h.fake.requests.length;
    const res = await post(
      h.url('slack'),
      slackCommand(h.secrets.slack, {
        user: 'U1',
        channel: 'C1',
        text: 'run skill greet who=elsewhere',
        responseUrl: `${h.fake.url}/elsewhere/evil`,
      }),
    );
    expect(res.status).toBe(200);
    await eventually(() => expect(h.skillLines()).toContain('hi elsewhere'));
    await h.idle();
    expect(h.fake.requests.slice(before).some((r) => r.path === '/elsewhere/evil')).toBe(false);
  });
});
