// The Discord adapter on its own: Ed25519 over timestamp+body (the timestamp checked only
// once the signature holds), interactions read for the configured application only, the
// interaction responses, and follow-ups to {api}/webhooks/{application}/{token}.

import type { IncomingHttpHeaders } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { discord, type DiscordSpec } from '../../../../controllers/gateway/platforms/discord.js';
import { discordKeys, discordSigned, type DiscordKeys } from '../signers.js';
import { envRef, recorder, secrets } from './recorder.js';

const NOW = 1_700_000_000_000;
let keys: DiscordKeys;
beforeAll(() => {
  keys = discordKeys();
});
const start = (apiBaseURL?: string, applicationId: unknown = '4000') =>
  discord.start(
    { publicKey: envRef('DISCORD'), applicationId, channels: [], apiBaseURL } as unknown as DiscordSpec,
    secrets({ DISCORD: keys.publicKeyHex }),
  );

const interaction = (over: Record<string, unknown> = {}) => ({
  id: 'i-1',
  application_id: '4000',
  type: 2,
  token: 'tok-1',
  channel_id: 'CH1',
  member: { user: { id: 'U1' } },
  data: { name: 'caduceus', options: [{ name: 'command', type: 3, value: 'run task build' }] },
  ...over,
});
const signed = (body: string, now = NOW) => {
  const s = discordSigned(keys, body, now);
  return { body: Buffer.from(body), headers: s.headers as IncomingHttpHeaders };
};

describe('Discord verify', () => {
  it('accepts a signed interaction and keys replays by its id, else by its signature', () => {
    const { body, headers } = signed(JSON.stringify(interaction()));
    expect(start().verify(headers, body, NOW)).toEqual({ ok: true, replayKey: 'discord:i-1' });
    const noId = signed(JSON.stringify({ type: 1 }));
    const sig = String(noId.headers['x-signature-ed25519']);
    expect(start().verify({ ...noId.headers, 'x-signature-ed25519': sig.toUpperCase() }, noId.body, NOW)).toEqual({
      ok: true,
      replayKey: `discord-sig:${sig.toLowerCase()}`,
    });
    const numericId = signed(JSON.stringify({ id: 7 }));
    expect(start().verify(numericId.headers, numericId.body, NOW)).toMatchObject({
      replayKey: `discord-sig:${numericId.headers['x-signature-ed25519']}`,
    });
    const notJson = signed('not json');
    expect(start().verify(notJson.headers, notJson.body, NOW)).toMatchObject({
      ok: true,
      replayKey: `discord-sig:${notJson.headers['x-signature-ed25519']}`,
    });
    expect(discord.requiredSecrets({ publicKey: envRef('DISCORD') } as DiscordSpec)).toEqual([
      { field: 'publicKey', ref: envRef('DISCORD') },
    ]);
  });

  it('refuses a missing signature or timestamp, and a malformed timestamp', () => {
    const { body, headers } = signed(JSON.stringify(interaction()));
    const missing = { ok: false, status: 401, reason: 'missing X-Signature-Ed25519 or X-Signature-Timestamp' };
    expect(start().verify({ ...headers, 'x-signature-ed25519': undefined }, body, NOW)).toEqual(missing);
    expect(start().verify({ ...headers, 'x-signature-timestamp': undefined }, body, NOW)).toEqual(missing);
    expect(start().verify({ ...headers, 'x-signature-timestamp': '17e8' }, body, NOW)).toEqual(missing);
  });

  it('refuses a signature over other bytes, another timestamp, or a malformed signature', () => {
    const { body, headers } = signed(JSON.stringify(interaction()));
    const invalid = { ok: false, status: 401, reason: 'invalid request signature' };
    expect(start().verify(headers, Buffer.from(JSON.stringify(interaction({ id: 'i-2' }))), NOW)).toEqual(invalid);
    expect(start().verify({ ...headers, 'x-signature-timestamp': String(NOW / 1000 + 1) }, body, NOW)).toEqual(invalid);
    expect(start().verify({ ...headers, 'x-signature-ed25519': 'abcd' }, body, NOW)).toEqual(invalid);
    expect(start().verify({ ...headers, 'x-signature-ed25519': 'zz'.repeat(64) }, body, NOW)).toEqual(invalid);
  });

  it('refuses a correctly signed but stale timestamp', () => {
    const { body, headers } = signed(JSON.stringify(interaction()), NOW - 301_000);
    expect(start().verify(headers, body, NOW)).toEqual({
      ok: false,
      status: 401,
      reason: 'X-Signature-Timestamp is more than 5 minutes away',
    });
    const edge = signed(JSON.stringify(interaction()), NOW - 299_000);
    expect(start().verify(edge.headers, edge.body, NOW).ok).toBe(true);
  });
});

describe('Discord parse', () => {
  const parse = (o: unknown, applicationId?: unknown) =>
    start(undefined, applicationId).parse({}, Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)));

  it('reads a slash command with its sub-commands and option values as text', () => {
    expect(parse(interaction())).toEqual({
      kind: 'message',
      message: {
        user: 'U1',
        channel: 'CH1',
        text: 'caduceus run task build',
        requestId: 'i-1',
        replyTo: { token: 'tok-1' },
      },
    });
    const nested = {
      name: 'caduceus',
      options: [
        {
          name: 'run',
          type: 2,
          options: [{ name: 'task', type: 1, options: [{ name: 'name', type: 3, value: 'build' }] }],
        },
        { name: 'empty', type: 3, value: '' },
        { name: 'n', type: 4, value: 3 },
        { name: 'flag', type: 5 },
      ],
    };
    expect(parse(interaction({ data: nested }))).toMatchObject({ message: { text: 'caduceus run task build 3' } });
    expect(parse(interaction({ data: { name: 7 } }))).toMatchObject({ message: { text: '' } });
    // A sub-command without a name adds no word; its options still do.
    const nameless = { name: 'c', options: [{ type: 1, options: [{ name: 'v', type: 3, value: 'x' }] }] };
    expect(parse(interaction({ data: nameless }))).toMatchObject({ message: { text: 'c x' } });
    expect(parse(interaction({ data: undefined }))).toMatchObject({ message: { text: '' } });
  });

  it('reads a button by its custom_id, a DM user and channel object, for a numeric application id', () => {
    const button = interaction({
      type: 3,
      member: undefined,
      user: { id: 'U9' },
      channel_id: undefined,
      channel: { id: 'DM1' },
      data: { custom_id: 'run task again' },
    });
    expect(parse(button, 4000)).toEqual({
      kind: 'message',
      message: { user: 'U9', channel: 'DM1', text: 'run task again', requestId: 'i-1', replyTo: { token: 'tok-1' } },
    });
    expect(parse(interaction({ type: 3, data: { custom_id: 5 } }))).toMatchObject({ message: { text: '' } });
  });

  it('pings, ignores other types, and refuses another application or missing ids', () => {
    expect(parse({ type: 1 })).toEqual({ kind: 'ping' });
    expect(parse({ type: 4 })).toEqual({ kind: 'ignore', reason: 'interaction type 4 is not handled' });
    expect(parse(interaction({ application_id: '4001' }))).toEqual({
      kind: 'malformed',
      reason: 'interaction for application 4001, not 4000',
    });
    const lacking = { kind: 'malformed', reason: 'interaction lacks id, token, user id or channel id' };
    expect(parse(interaction({ member: undefined }))).toEqual(lacking);
    expect(parse(interaction({ channel_id: undefined }))).toEqual(lacking);
    expect(parse(interaction({ token: 5 }))).toEqual(lacking);
    expect(parse(interaction({ id: 5 }))).toEqual(lacking);
    expect(parse('[]')).toEqual({ kind: 'malformed', reason: 'interaction is not a JSON object' });
    expect(parse('{')).toEqual({ kind: 'malformed', reason: 'interaction is not JSON' });
  });
});

describe('Discord respond and reply', () => {
  const respond = (outcome: Parameters<ReturnType<typeof start>['respond']>[1]) => {
    const r = recorder();
    expect(start().respond(r.res, outcome)).toBeUndefined();
    expect(r.status()).toBe(200);
    return r.json();
  };

  it('answers PONG, a deferred ephemeral response, and ephemeral messages without mentions', () => {
    expect(respond({ kind: 'pong' })).toEqual({ type: 1 });
    expect(respond({ kind: 'accepted', text: 'x', requestId: 'r' })).toEqual({ type: 5, data: { flags: 64 } });
    expect(respond({ kind: 'ignored' })).toEqual({
      type: 4,
      data: { content: 'This interaction is not supported.', flags: 64 },
    });
    expect(respond({ kind: 'answer', text: 'a'.repeat(2100) })).toEqual({
      type: 4,
      data: { content: 'a'.repeat(2000), flags: 64, allowed_mentions: { parse: [] } },
    });
    expect(start().maxReplyChars).toBe(2000);
  });

  it('sends follow-ups to the application webhook of the interaction token', () => {
    const message = { user: 'U1', channel: 'C', text: 't', requestId: 'i', replyTo: { token: 'to/k' } };
    const body = JSON.stringify({ content: 'done', flags: 64, allowed_mentions: { parse: [] } });
    expect(start().reply(message, 'done', 'succeeded')).toEqual({
      url: 'https://discord.com/api/v10/webhooks/4000/to%2Fk',
      body,
    });
    expect(start('http://127.0.0.1:9/api//').reply(message, 'done', 'succeeded')?.url).toBe(
      'http://127.0.0.1:9/api/webhooks/4000/to%2Fk',
    );
    expect(start().reply({ ...message, replyTo: {} }, 'done', 'failed')).toBeUndefined();
  });
});
