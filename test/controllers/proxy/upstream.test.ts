// The proxy forwarding ordinary models to an upstream (a loopback server speaking the
// Chat Completions protocol), driven by the official OpenAI SDK: key replacement, skill
// injection, streaming passthrough, tool calls, upstream errors, timeouts, rate limits.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { harness, freePort, proxyYaml, skillYaml, type Harness } from './harness.js';
import { startFakeUpstream, UPSTREAM_KEY, type FakeUpstream } from './fake-upstream.js';
import { waitFor } from '../../helpers/wait.js';

const KEY = 'sk-client-key-upstream-1';
let h: Harness;
let up: FakeUpstream;
let client: OpenAI;
let base: string;

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

beforeAll(async () => {
  process.env.PROXY_UP_CLIENT_KEY = KEY;
  process.env.PROXY_UP_UPSTREAM_KEY = UPSTREAM_KEY;
  up = await startFakeUpstream();
  h = await harness();
  const [port, limitedPort] = [await freePort(), await freePort()];
  await h.load({
    'skills/deploy.yaml': skillYaml(
      'deploy',
      'echo deployed',
      '  params:\n    - name: env\n      type: string\n      required: true\n',
    ),
    'proxy.yaml': proxyYaml(
      'main',
      `port: ${port}
keys:
  - valueFrom: {env: PROXY_UP_CLIENT_KEY}
upstream:
  baseURL: ${up.url}
  apiKey: {valueFrom: {env: PROXY_UP_UPSTREAM_KEY}}
  timeout: 500ms
injectSkills: true
projectContext: "Project Caduceus: be brief."`,
    ),
    'limited.yaml': proxyYaml(
      'limited',
      `port: ${limitedPort}\nkeys:\n  - valueFrom: {env: PROXY_UP_CLIENT_KEY}\nlimits:\n  requestsPerMinute: 2`,
    ),
  });
  const r = await h.reconcile('main');
  expect(r.conditions.get('Ready')?.reason).toBe('Listening');
  expect(JSON.stringify(r.observed)).not.toContain(UPSTREAM_KEY);
  expect(JSON.stringify(r.observed)).not.toContain(KEY);
  expect((await h.reconcile('limited')).conditions.get('Ready')?.status).toBe('True');
  base = String(r.observed.address);
  client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await h.stop();
  await up.close();
});

describe('proxy forwarding to an upstream', () => {
  it('lists skill models first, then the upstream models', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(['skill/deploy', 'gpt-test']);
  });

  it('forwards a completion with the upstream key in place of the client key and the skills injected', async () => {
    const before = up.seen.length;
    const res = await client.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(res.data.choices[0]?.message.content).toBe('echo: hello there');
    expect(res.data.usage?.total_tokens).toBe(8);
    expect(res.response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.response.headers.get('x-upstream-request-id')).toBe('upstream-req-1');
    const sent = up.seen.slice(before).find((s) => s.path === '/v1/chat/completions');
    expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(sent?.headers)).not.toContain(KEY);
    expect(sent?.headers['x-request-id']).toBe(res.response.headers.get('x-request-id'));
    const messages = sent?.body?.messages as Array<{ role: string; content: string }>;
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('Project Caduceus: be brief.');
    expect(messages[0]?.content).toContain('skill/deploy');
    expect(messages[0]?.content).toContain('env: string (required)');
    expect(messages[1]).toEqual({ role: 'user', content: 'hello there' });
  });

  it('passes a stream through chunk by chunk, ending with [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    });
    const deltas: string[] = [];
    for await (const c of stream) deltas.push(c.choices[0]?.delta.content ?? '');
    expect(deltas.filter(Boolean).length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe('echo: one two three');
    const raw = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    expect((await raw.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('sends stream headers as soon as the upstream does, before its first chunk, then the whole stream', async () => {
    const raw = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'headers-first', messages: [{ role: 'user', content: 'a b' }], stream: true }),
    });
    // fetch resolved on the headers while the upstream still holds every chunk.
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    up.releaseStreams();
    const text = await raw.text();
    const deltas = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map(
        (e) =>
          (JSON.parse(e.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]
            ?.delta.content ?? '',
      );
    expect(deltas.join('')).toBe('echo: a b');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('relays a large stream byte for byte to a client that reads slowly', async () => {
    const raw = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'big', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const reader = (raw.body as ReadableStream<Uint8Array>).getReader();
    const parts: Uint8Array[] = [];
    for (let n = 0; ; n++) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      // Pauses now and then, so the proxy's socket buffer fills and it has to wait for drain.
      if (n % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const text = Buffer.concat(parts).toString('utf8');
    const events = text.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(513);
    expect(
      events
        .slice(0, -1)
        .every(
          (e) =>
            (JSON.parse(e.slice('data: '.length)) as { choices: Array<{ delta: { content: string } }> }).choices[0]
              ?.delta.content.length === 8000,
        ),
    ).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('cancels the upstream stream when the client goes away after the headers', async () => {
    // A proxy with the default 60 s upstream timeout, so only the cancellation can end the call.
    await h.load({
      'patient-stream.yaml': proxyYaml(
        'patient-stream',
        `port: ${await freePort()}\nkeys: [{valueFrom: {env: PROXY_UP_CLIENT_KEY}}]\n` +
          `upstream:\n  baseURL: ${up.url}\n  apiKey: {valueFrom: {env: PROXY_UP_UPSTREAM_KEY}}`,
      ),
    });
    const address = String((await h.reconcile('patient-stream')).observed.address);
    const before = up.abandoned();
    const heldBefore = up.held();
    const ac = new AbortController();
    const raw = await fetch(`${address}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'headers-first', messages: [{ role: 'user', content: 'x' }], stream: true }),
      signal: ac.signal,
    });
    expect(raw.status).toBe(200);
    // The upstream holds the stream open (headers sent, no chunk): only the client going away ends it.
    expect(up.held()).toBe(heldBefore + 1);
    expect(up.abandoned()).toBe(before);
    ac.abort();
    await waitFor(() => up.abandoned() > before, 5000, 'the proxy to drop the upstream stream');
    expect(up.abandoned()).toBe(before + 1);
    up.releaseStreams();
  });

  it('passes tool calls through unchanged, plain and streamed', async () => {
    const plain = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
    });
    expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
    expect(plain.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    const sent = up.seen.at(-1);
    expect(sent?.body?.tools).toEqual(tools);

    const runner = client.chat.completions.stream({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('keeps the status, body and headers of an upstream error', async () => {
    const err = (await client.chat.completions
      .create({ model: 'broken', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.code).toBe('upstream_exploded');
    expect(err.type).toBe('server_error');
    expect(err.headers?.get('x-upstream-marker')).toBe('kept');
  });

  it('answers 504 when the upstream does not answer within upstream.timeout', async () => {
    const err = (await client.chat.completions
      .create({ model: 'slow', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(504);
    expect(err.code).toBe('upstream_timeout');
    expect(err.headers?.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('answers 502 in the OpenAI shape when the upstream is down, and skills keep working', async () => {
    const port = await freePort();
    process.env.PROXY_DOWN_KEY = KEY;
    await h.load({
      'down.yaml': proxyYaml(
        'down',
        `port: ${await freePort()}\nkeys: [{valueFrom: {env: PROXY_DOWN_KEY}}]\n` +
          `upstream:\n  baseURL: http://127.0.0.1:${port}/v1`,
      ),
    });
    const r = await h.reconcile('down');
    const c = new OpenAI({ apiKey: KEY, baseURL: `${String(r.observed.address)}/v1`, maxRetries: 0 });
    const err = (await c.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_unavailable');
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(['skill/deploy']);
    const ok = await c.chat.completions.create({
      model: 'skill/deploy',
      messages: [{ role: 'user', content: 'prod' }],
    });
    expect(ok.choices[0]?.message.content?.trim()).toBe('deployed');
  });

  it('cancels the upstream request when the client goes away', async () => {
    // A proxy with the default 60 s upstream timeout, so only the cancellation can end the call.
    await h.load({
      'patient.yaml': proxyYaml(
        'patient',
        `port: ${await freePort()}\nkeys: [{valueFrom: {env: PROXY_UP_CLIENT_KEY}}]\n` +
          `upstream:\n  baseURL: ${up.url}\n  apiKey: {valueFrom: {env: PROXY_UP_UPSTREAM_KEY}}`,
      ),
    });
    const patient = new OpenAI({
      apiKey: KEY,
      baseURL: `${String((await h.reconcile('patient')).observed.address)}/v1`,
      maxRetries: 0,
    });
    const before = up.abandoned();
    const heldBefore = up.held();
    const ac = new AbortController();
    const pending = patient.chat.completions
      .create({ model: 'hold', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal })
      .catch((e: unknown) => e);
    // The request has reached the upstream, which holds it until released or abandoned.
    await waitFor(() => up.held() > heldBefore, 5000, 'the request to reach the upstream');
    expect(up.abandoned()).toBe(before);
    ac.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await waitFor(() => up.abandoned() > before, 5000, 'the proxy to drop the upstream request');
    expect(up.abandoned()).toBe(before + 1);
  });

  it('limits requests per key per minute with 429 and retry-after', async () => {
    const addr = String((await h.reconcile('limited')).observed.address);
    const c = new OpenAI({ apiKey: KEY, baseURL: `${addr}/v1`, maxRetries: 0 });
    await c.models.list();
    await c.models.list();
    const err = (await c.models.list().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The limit is per Proxy and key: the main proxy still answers.
    expect((await client.models.list()).data.length).toBe(2);
  });

  it('records upstream latency and streaming time to first byte', async () => {
    const text = await h.metrics.metrics();
    expect(text).toMatch(/caduceus_proxy_upstream_duration_seconds_count\{proxy="main",status="200"\} [1-9]/);
    expect(text).toMatch(/caduceus_proxy_stream_first_byte_seconds_count\{proxy="main",target="upstream"\} [1-9]/);
    // `slow` is not a model the upstream lists: its label is `other`, never what the client sent.
    expect(text).toMatch(/caduceus_proxy_requests_total\{proxy="main",model="other",status="504"\} 1/);
  });
});
