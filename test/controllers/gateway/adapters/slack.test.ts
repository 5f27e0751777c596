// The Slack adapter on its own: v0 signatures and the five-minute window, slash commands
// and block_actions read from the form body, the HTTP answers, and replies only ever sent
// to response_urls on Slack's own host (or the configured base).

import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { slack, type SlackSpec } from '../../../../controllers/gateway/platforms/slack.js';
import { slackSigned } from '../signers.js';
import { envRef, recorder, secrets } from './recorder.js';

const SECRET = 'slack-signing-secret';
const NOW = 1_700_000_000_000;
const start = (apiBaseURL?: string) =>
  slack.start({ signingSecret: envRef('SLACK'), channels: [], apiBaseURL } as SlackSpec, secrets({ SLACK: SECRET }));

const form = (fields: Record<string, string>) => Buffer.from(new URLSearchParams(fields).toString());
const command = {
  command: '/caduceus',
  user_id: 'U1',
  channel_id: 'C1',
  text: 'run task build',
  response_url: 'https://hooks.slack.com/commands/T1/1/abc',
  trigger_id: 'trig-1',
};
const headersOf = (body: Buffer, now = NOW) => slackSigned(SECRET, body, now).headers as IncomingHttpHeaders;

describe('Slack verify', () => {
  it('accepts a request signed with the signing secret, keyed for replays by its signature', () => {
    const body = form(command);
    const h = headersOf(body);
    expect(start().verify(h, body, NOW)).toEqual({ ok: true, replayKey: `slack:${h['x-slack-signature']}` });
    expect(start().verify(h, body, NOW + 299_000).ok).toBe(true);
    expect(slack.requiredSecrets({ signingSecret: envRef('SLACK') } as SlackSpec)).toEqual([
      { field: 'signingSecret', ref: envRef('SLACK') },
    ]);
  });

  it('refuses a missing or malformed timestamp or signature', () => {
    const body = form(command);
    const h = headersOf(body);
    const missing = { ok: false, status: 401, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
    expect(start().verify({ ...h, 'x-slack-signature': undefined }, body, NOW)).toEqual(missing);
    expect(start().verify({ ...h, 'x-slack-request-timestamp': undefined }, body, NOW)).toEqual(missing);
    expect(start().verify({ ...h, 'x-slack-request-timestamp': 'soon' }, body, NOW)).toEqual(missing);
  });

  it('refuses a stale timestamp before checking the signature', () => {
    const body = form(command);
    expect(start().verify(headersOf(body, NOW - 301_000), body, NOW)).toEqual({
      ok: false,
      status: 401,
      reason: 'X-Slack-Request-Timestamp is more than 5 minutes away',
    });
  });

  it('refuses a signature over other bytes, another timestamp or another secret', () => {
    const body = form(command);
    const h = headersOf(body);
    const mismatch = { ok: false, status: 401, reason: 'X-Slack-Signature does not match' };
    expect(start().verify(h, form({ ...command, text: 'run task deploy' }), NOW)).toEqual(mismatch);
    expect(start().verify({ ...h, 'x-slack-request-timestamp': String(NOW / 1000 + 1) }, body, NOW)).toEqual(mismatch);
    expect(start().verify(slackSigned('other', body, NOW).headers, body, NOW)).toEqual(mismatch);
    expect(start().verify({ ...h, 'x-slack-signature': String(h['x-slack-signature']).slice(3) }, body, NOW)).toEqual(
      mismatch,
    );
  });
});

describe('Slack parse', () => {
  it('reads a slash command', () => {
    expect(start().parse({}, form(command))).toEqual({
      kind: 'message',
      message: {
        user: 'U1',
        channel: 'C1',
        text: 'run task build',
        requestId: 'trig-1',
        replyTo: { responseUrl: command.response_url, mode: 'slash' },
      },
    });
    const { text: _t, trigger_id: _i, ...bare } = command;
    expect(start().parse({}, form(bare))).toMatchObject({ kind: 'message', message: { text: '', requestId: '' } });
  });

  it('calls a slash command malformed when it lacks the command, user, channel or response_url', () => {
    const malformed = { kind: 'malformed', reason: 'slash command lacks command, user_id, channel_id or response_url' };
    for (const field of ['command', 'user_id', 'channel_id', 'response_url'] as const) {
      expect(start().parse({}, form({ ...command, [field]: '' }))).toEqual(malformed);
    }
  });

  it('answers the SSL check with a ping', () => {
    expect(start().parse({}, form({ ssl_check: '1', token: 't' }))).toEqual({ kind: 'ping' });
    expect(start().parse({}, form({ ...command, ssl_check: '0' })).kind).toBe('message');
  });

  it('reads the value of a block_actions button, the channel from the container when needed', () => {
    const payload = {
      type: 'block_actions',
      user: { id: 'U2' },
      container: { channel_id: 'C2' },
      response_url: 'https://hooks.slack.com/actions/T1/2/def',
      actions: [{ value: 'run task retry', action_id: 'a' }],
      trigger_id: 'trig-2',
    };
    const message = {
      user: 'U2',
      channel: 'C2',
      text: 'run task retry',
      requestId: 'trig-2',
      replyTo: { responseUrl: payload.response_url, mode: 'interactive' },
    };
    expect(start().parse({}, form({ payload: JSON.stringify(payload) }))).toEqual({ kind: 'message', message });
    const withChannel = { ...payload, channel: { id: 'C3' }, trigger_id: undefined };
    expect(start().parse({}, form({ payload: JSON.stringify(withChannel) }))).toEqual({
      kind: 'message',
      message: { ...message, channel: 'C3', requestId: '' },
    });
  });

  it('calls other payloads malformed or ignored, saying why', () => {
    const parse = (payload: string) => start().parse({}, form({ payload }));
    expect(parse('{not json')).toEqual({ kind: 'malformed', reason: 'interactivity payload is not JSON' });
    expect(parse('null')).toEqual({ kind: 'malformed', reason: 'interactivity payload is not an object' });
    expect(parse('"text"')).toEqual({ kind: 'malformed', reason: 'interactivity payload is not an object' });
    expect(parse('{"type":"view_submission"}')).toEqual({
      kind: 'ignore',
      reason: 'interactivity type view_submission is not handled',
    });
    const lacking = {
      kind: 'malformed',
      reason: 'block_actions payload lacks user.id, channel, response_url or actions[0].value',
    };
    const full = {
      type: 'block_actions',
      user: { id: 'U' },
      channel: { id: 'C' },
      response_url: 'https://x/',
      actions: [{ value: 'v' }],
    };
    expect(parse(JSON.stringify(full)).kind).toBe('message');
    expect(parse(JSON.stringify({ ...full, user: {} }))).toEqual(lacking);
    expect(parse(JSON.stringify({ ...full, user: undefined }))).toEqual(lacking);
    expect(parse(JSON.stringify({ ...full, actions: undefined }))).toEqual(lacking);
    // An empty channel id counts as none: the container's channel is used.
    expect(parse(JSON.stringify({ ...full, channel: { id: '' }, container: { channel_id: 'C7' } }))).toMatchObject({
      message: { channel: 'C7' },
    });
    expect(parse(JSON.stringify({ ...full, channel: undefined }))).toEqual(lacking);
    expect(parse(JSON.stringify({ ...full, response_url: 7 }))).toEqual(lacking);
    expect(parse(JSON.stringify({ ...full, actions: [] }))).toEqual(lacking);
    expect(parse(JSON.stringify({ ...full, actions: [{ value: '' }] }))).toEqual(lacking);
  });
});

describe('Slack respond and reply', () => {
  const slash = {
    user: 'U1',
    channel: 'C1',
    text: 't',
    requestId: 'r',
    replyTo: { responseUrl: command.response_url, mode: 'slash' },
  };
  const interactive = { ...slash, replyTo: { ...slash.replyTo, mode: 'interactive' } };

  it('answers a slash command in the HTTP body, ephemerally', () => {
    const r = recorder();
    expect(start().respond(r.res, { kind: 'answer', text: 'hello' }, slash)).toBeUndefined();
    expect(r.status()).toBe(200);
    expect(r.json()).toEqual({ response_type: 'ephemeral', text: 'hello' });
    expect(start().maxReplyChars).toBe(3000);
  });

  it('answers pings, ignored requests and interactivity with an empty 200; interactivity replies later', () => {
    for (const outcome of [{ kind: 'pong' }, { kind: 'ignored' }] as const) {
      const r = recorder();
      expect(start().respond(r.res, outcome, interactive)).toBeUndefined();
      expect([r.status(), r.body()]).toEqual([200, '']);
    }
    for (const outcome of [{ kind: 'pong' }, { kind: 'ignored' }] as const) {
      for (const message of [slash, undefined]) {
        const r = recorder();
        expect(start().respond(r.res, outcome, message)).toBeUndefined();
        expect([r.status(), r.body()]).toEqual([200, '']);
      }
    }
    const plain = recorder();
    expect(start().respond(plain.res, { kind: 'answer', text: 'hi' })).toBeUndefined();
    expect(plain.json()).toEqual({ response_type: 'ephemeral', text: 'hi' });
    const r = recorder();
    expect(start().respond(r.res, { kind: 'refused', text: 'no', code: 'forbidden' }, interactive)).toBe('no');
    expect([r.status(), r.body()]).toEqual([200, '']);
  });

  it('posts replies to a response_url on the Slack host only', () => {
    const reply = (url: string, base?: string) =>
      start(base).reply({ ...slash, replyTo: { responseUrl: url, mode: 'slash' } }, 'done', 'succeeded');
    expect(reply(command.response_url)).toEqual({
      url: command.response_url,
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: 'done' }),
    });
    expect(reply('https://evil.example.com/commands/1')).toBeUndefined();
    expect(reply('https://hooks.slack.com.evil.example.com/x')).toBeUndefined();
    expect(reply('http://hooks.slack.com/commands/1')).toBeUndefined();
    expect(reply('https://user:pw@hooks.slack.com/commands/1')).toBeUndefined();
    expect(reply('https://user@hooks.slack.com/commands/1')).toBeUndefined();
    expect(reply('not a url')).toBeUndefined();
    expect(start().reply({ ...slash, replyTo: { mode: 'slash' } }, 'done', 'failed')).toBeUndefined();
  });

  it('takes a configured base with or without its final slash, and only paths under it', () => {
    const reply = (url: string, base: string) =>
      start(base).reply({ ...slash, replyTo: { responseUrl: url, mode: 'slash' } }, 'done', 'succeeded')?.url;
    expect(reply('http://127.0.0.1:8080/slack/r/1', 'http://127.0.0.1:8080/slack')).toBe(
      'http://127.0.0.1:8080/slack/r/1',
    );
    expect(reply('http://127.0.0.1:8080/slack/r/1', 'http://127.0.0.1:8080/slack/')).toBe(
      'http://127.0.0.1:8080/slack/r/1',
    );
    expect(reply('http://127.0.0.1:8080/slackish/r/1', 'http://127.0.0.1:8080/slack')).toBeUndefined();
    expect(reply('http://127.0.0.1:8080/other/r/1', 'http://127.0.0.1:8080/slack')).toBeUndefined();
    expect(reply('http://127.0.0.1:9090/slack/r/1', 'http://127.0.0.1:8080/slack')).toBeUndefined();
    expect(reply('http://127.0.0.1:8080/slack/r/1', 'not a base')).toBeUndefined();
  });
});
