// Discord interactions end to end: bodies signed with a real Ed25519 key pair made here,
// PING answered with PONG, commands deferred (type 5) and the result sent as a follow-up
// message to the loopback `/webhooks/{application_id}/{token}`.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCORD_APP, eventually, startGateway, type GatewayHarness } from './harness.js';
import { discordCommand, discordKeys, discordSigned, post } from './signers.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

describe('gateway: Discord', () => {
  it('answers a signed PING with PONG and refuses an unsigned one with 401', async () => {
    const ping = JSON.stringify({ id: 'ping-1', application_id: DISCORD_APP, type: 1, token: 't', version: 1 });
    const ok = await post(h.url('discord'), discordSigned(h.secrets.discordKeys, ping));
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ type: 1 });
    const other = discordKeys();
    const forged = await post(
      h.url('discord'),
      discordSigned(other, JSON.stringify({ id: 'ping-2', application_id: DISCORD_APP, type: 1 })),
    );
    expect(forged.status).toBe(401);
  });

  it('defers a slash command, runs the task and sends the result as a follow-up message', async () => {
    const cmd = discordCommand(h.secrets.discordKeys, {
      applicationId: DISCORD_APP,
      user: '11',
      channel: '100',
      command: 'run task mark',
    });
    const res = await post(h.url('discord'), cmd);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ type: 5, data: { flags: 64 } });
    const follow = await h.fake.waitFor((r) => r.path === `/discord/api/webhooks/${DISCORD_APP}/${cmd.token}`);
    expect(follow.method).toBe('POST');
    expect(String(follow.body.content)).toMatch(/^task mark succeeded/);
    expect(follow.body.allowed_mentions).toEqual({ parse: [] });
    expect(h.markCount()).toBe(1);
    expect(h.runs({ kind: 'task', name: 'mark' })[0]).toMatchObject({
      trigger: 'gateway:discord',
      actor: 'discord:11',
    });
  });

  it('refuses an unknown user and a role without the task inline, and audits both', async () => {
    const unknown = await post(
      h.url('discord'),
      discordCommand(h.secrets.discordKeys, {
        applicationId: DISCORD_APP,
        user: '999',
        channel: '100',
        command: 'run task mark',
      }),
    );
    expect(unknown.json()).toEqual({
      type: 4,
      data: { content: 'You are not allowed to use Caduceus here.', flags: 64, allowed_mentions: { parse: [] } },
    });
    const viewer = await post(
      h.url('discord'),
      discordCommand(h.secrets.discordKeys, {
        applicationId: DISCORD_APP,
        user: '12',
        channel: '100',
        command: 'run skill greet who=x',
      }),
    );
    expect((viewer.json() as { data: { content: string } }).data.content).toBe('Your role may not run skill greet.');
    const rows = h.audit().filter((a) => a.platform === 'discord' && a.decision === 'refused');
    expect(rows.map((r) => r.user).sort()).toEqual(['12', '999']);
    await h.idle();
    expect(h.markCount()).toBe(1);
    expect(h.skillLines()).toEqual([]);
  });

  it('rejects a forged, stale, replayed, malformed or oversized interaction and runs nothing', async () => {
    const runsBefore = h.runs().length;
    const before = h.markCount();
    const forged = discordCommand(discordKeys(), {
      applicationId: DISCORD_APP,
      user: '11',
      channel: '100',
      command: 'run task mark',
    });
    expect((await post(h.url('discord'), forged)).status).toBe(401);
    const stale = discordCommand(
      h.secrets.discordKeys,
      { applicationId: DISCORD_APP, user: '11', channel: '100', command: 'run task mark' },
      Date.now() - 10 * 60_000,
    );
    expect((await post(h.url('discord'), stale)).status).toBe(401);
    const good = discordCommand(h.secrets.discordKeys, {
      applicationId: DISCORD_APP,
      user: '11',
      channel: '100',
      command: 'run task mark',
    });
    const tampered = { ...good, body: String(good.body).replace('"11"', '"12"') };
    expect((await post(h.url('discord'), tampered)).status).toBe(401);
    expect((await post(h.url('discord'), discordSigned(h.secrets.discordKeys, '{"type":2,'))).status).toBe(400);
    expect(
      (
        await post(
          h.url('discord'),
          discordSigned(h.secrets.discordKeys, JSON.stringify({ id: 'big', type: 2, pad: 'x'.repeat(80_000) })),
        )
      ).status,
    ).toBe(413);
    expect((await post(h.url('discord'), good)).status).toBe(200);
    // The same interaction again, even re-signed with a fresh timestamp, is a replay.
    expect((await post(h.url('discord'), good)).status).toBe(409);
    const resigned = discordSigned(h.secrets.discordKeys, String(good.body));
    expect((await post(h.url('discord'), resigned)).status).toBe(409);
    await eventually(() => expect(h.markCount()).toBe(before + 1));
    await h.idle();
    expect(h.markCount()).toBe(before + 1);
    expect(h.runs().length).toBe(runsBefore + 1);
  });
});
