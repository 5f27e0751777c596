// The proxy serving skills, driven by the official OpenAI SDK: the model list, a skill run
// as a chat completion (plain and streamed), the skill's params, failures, and the error
// shapes of bad requests. Skills really run through the execution controller.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { harness, freePort, proxyYaml, skillYaml, type Harness } from './harness.js';
import { createLogger } from '../../../reconciler/log.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { waitFor } from '../../helpers/wait.js';

const KEY = 'sk-test-proxy-key-0001';
let h: Harness;
let client: OpenAI;
let base: string;
const logLines: string[] = [];

beforeAll(async () => {
  process.env.PROXY_TEST_KEY = KEY;
  h = await harness({ log: createLogger({ level: 'debug', format: 'json', write: (l) => logLines.push(l) }) });
  const port = await freePort();
  await h.load({
    'skills/echo.yaml': skillYaml(
      'echo',
      'printf "said: %s" "$PARAM_TEXT"',
      '  params:\n    - name: text\n      type: string\n      required: true\n',
    ),
    'skills/greet.yaml': skillYaml(
      'greet',
      'printf "hello %s x%s" "$PARAM_WHO" "$PARAM_TIMES"',
      '  params:\n    - name: who\n      type: string\n      required: true\n' +
        '    - name: times\n      type: number\n      default: 1\n',
    ),
    'skills/fails.yaml': skillYaml('fails', 'echo boom >&2; exit 3'),
    'skills/zeta.yaml': skillYaml('zeta', 'echo z'),
    'skills/steps.yaml': `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: steps
spec:
  version: "1.0.0"
  description: Two steps
  steps:
    - name: prepare
      run: echo preparing
    - name: answer
      run: echo answered
`,
    'skills/sleepy.yaml': skillYaml('sleepy', 'sleep 5; echo woke'),
    'proxy.yaml': proxyYaml('main', `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_TEST_KEY}\npreload: [zeta]`),
  });
  const r = await h.reconcile('main');
  expect(r.conditions.get('Ready')).toMatchObject({ status: 'True', reason: 'Listening' });
  base = String(r.observed.address);
  expect(base).toBe(`http://127.0.0.1:${port}`);
  client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await h.stop();
});

describe('proxy serving skills', () => {
  it('lists one skill/<name> model per skill, preloaded skills first, owned by caduceus', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(['skill/zeta', 'skill/echo', 'skill/fails', 'skill/greet', 'skill/sleepy', 'skill/steps']);
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'caduceus' });
    expect(typeof page.data[0]?.created).toBe('number');
    const one = await client.models.retrieve('skill/echo');
    expect(one.id).toBe('skill/echo');
  });

  it('runs a skill with params from a JSON object in the last user message and answers a chat.completion', async () => {
    const res = await client.chat.completions
      .create({
        model: 'skill/greet',
        messages: [
          { role: 'user', content: 'ignored' },
          { role: 'user', content: '{"who": "ada", "times": 2}' },
        ],
      })
      .withResponse();
    expect(res.data.object).toBe('chat.completion');
    expect(res.data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'hello ada x2' });
    expect(res.data.choices[0]?.finish_reason).toBe('stop');
    expect(res.response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('takes params from metadata.params and plain text for a skill with one string param', async () => {
    const viaMeta = await client.chat.completions.create({
      model: 'skill/greet',
      messages: [{ role: 'user', content: 'hi' }],
      metadata: { params: '{"who":"bob"}' },
    });
    expect(viaMeta.choices[0]?.message.content).toBe('hello bob x1');
    const viaText = await client.chat.completions.create({
      model: 'skill/echo',
      messages: [{ role: 'user', content: 'plain words' }],
    });
    expect(viaText.choices[0]?.message.content).toBe('said: plain words');
  });

  it('streams a skill run as chat.completion.chunk events ending with [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'skill/echo',
      messages: [{ role: 'user', content: '{"text":"streamed"}' }],
      stream: true,
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'skill/echo')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('said: streamed');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');

    // The raw wire: SSE data lines, the last one [DONE].
    const raw = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'skill/echo',
        messages: [{ role: 'user', content: '{"text":"x"}' }],
        stream: true,
      }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await raw.text();
    expect(text.trimEnd().split('\n\n').at(-1)).toBe('data: [DONE]');
  });

  it('streams the run progress as chunks with a caduceus_progress field before the output', async () => {
    const stream = await client.chat.completions.create({
      model: 'skill/steps',
      messages: [{ role: 'user', content: '{}' }],
      stream: true,
    });
    const chunks: Array<Record<string, unknown>> = [];
    for await (const c of stream) chunks.push(c as unknown as Record<string, unknown>);
    const progress = chunks
      .filter((c) => c.caduceus_progress)
      .map((c) => (c.caduceus_progress as { message?: string }).message ?? '');
    expect(progress.some((m) => m.includes('prepare'))).toBe(true);
    const firstContent = chunks.findIndex(
      (c) => ((c.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? '') !== '',
    );
    expect(firstContent).toBeGreaterThan(chunks.findIndex((c) => c.caduceus_progress));
    expect(
      (
        (chunks[firstContent]?.choices as Array<{ delta: { content: string } }> | undefined)?.[0]?.delta.content ?? ''
      ).trim(),
    ).toBe('answered');
  });

  it('cancels the skill run when the client goes away; records the key id as the actor, never the key', async () => {
    const runs = new RunStore(h.deps.store);
    const ac = new AbortController();
    const pending = client.chat.completions
      .create({ model: 'skill/sleepy', messages: [{ role: 'user', content: '{}' }] }, { signal: ac.signal })
      .catch((e: unknown) => e);
    // The skill (sleep 5) is running when the client goes away.
    const started = await waitFor(
      () => runs.list({ name: 'sleepy', limit: 1 }).find((x) => x.status === 'running'),
      15_000,
      'the sleepy run to start',
    );
    ac.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    const run = await waitFor(
      () => runs.list({ limit: 50 }).find((x) => x.id === started.id && x.status !== 'running'),
      15_000,
      'the sleepy run to end',
    );
    expect(run.status).toBe('cancelled');
    expect(JSON.stringify(run)).toContain('key0:env:PROXY_TEST_KEY');
    expect(JSON.stringify(runs.list({ limit: 50 }))).not.toContain(KEY);
  });

  it('answers a failed skill with a 500 skill_error carrying the run output, plain and streamed', async () => {
    const err = await client.chat.completions
      .create({ model: 'skill/fails', messages: [{ role: 'user', content: '{}' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const api = err as InstanceType<typeof OpenAI.APIError>;
    expect(api.status).toBe(500);
    expect(api.type).toBe('skill_error');
    expect(api.code).toBe('skill_failed');
    expect(api.message).toContain('boom');

    const stream = await client.chat.completions.create({
      model: 'skill/fails',
      messages: [{ role: 'user', content: '{}' }],
      stream: true,
    });
    const streamed = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.APIError);
    expect((streamed as InstanceType<typeof OpenAI.APIError>).message).toContain('skill fails failed');
  });

  it('rejects params the skill does not take with a 400 naming the field', async () => {
    const err = (await client.chat.completions
      .create({ model: 'skill/greet', messages: [{ role: 'user', content: '{"who":"a","colour":"red"}' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('messages[0].content.colour');
    const missing = (await client.chat.completions
      .create({ model: 'skill/greet', messages: [{ role: 'user', content: '{}' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(missing.status).toBe(400);
    expect(missing.code).toBe('missing_required_parameter');
    expect(missing.param).toBe('messages[0].content.who');
  });

  it('answers an unknown skill model with 404 model_not_found', async () => {
    const err = (await client.chat.completions
      .create({ model: 'skill/nope', messages: [{ role: 'user', content: '{}' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    expect(err.param).toBe('model');
    // Without an upstream, any other model is unknown too.
    const other = (await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(other.status).toBe(404);
  });

  it('refuses a missing or wrong key with 401 invalid_api_key and never echoes the key', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-zzzz', baseURL: `${base}/v1`, maxRetries: 0 });
    const err = (await wrong.models.list().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('invalid_api_key');
    expect(JSON.stringify(err.error)).not.toContain('sk-wrong-key-zzzz');
    const none = await fetch(`${base}/v1/models`);
    expect(none.status).toBe(401);
    expect(none.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    const body = (await none.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('answers malformed JSON and missing fields with 400 in the OpenAI error shape', async () => {
    const post = (body: string): Promise<Response> =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-request-id': 'client-id-42' },
        body,
      });
    const bad = await post('{"model": ');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-request-id')).toBe('client-id-42');
    expect(((await bad.json()) as { error: { type: string; code: string } }).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_json',
    });
    const noModel = await post('{"messages": []}');
    expect(((await noModel.json()) as { error: { param: string } }).error.param).toBe('model');
    const noMessages = await post('{"model": "skill/echo"}');
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as { error: { param: string } }).error.param).toBe('messages');
  });

  it('answers a body over limits.maxBodyBytes with 413', async () => {
    const big = 'x'.repeat(11 * 1024 * 1024);
    const err = (await client.chat.completions
      .create({ model: 'skill/echo', messages: [{ role: 'user', content: big }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(413);
    expect(err.code).toBe('request_too_large');
    // The connection is still usable afterwards.
    expect((await client.models.list()).data.length).toBe(6);
  });

  it('never writes a key to the log', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(KEY);
      expect(line).not.toContain('sk-wrong-key-zzzz');
    }
  });

  it('counts requests by model and status and records latency on the shared registry', async () => {
    const text = await h.metrics.metrics();
    expect(text).toMatch(/caduceus_proxy_requests_total\{proxy="main",model="skill\/greet",status="200"\} [1-9]/);
    expect(text).toMatch(/caduceus_proxy_requests_total\{proxy="main",model="skill\/fails",status="500"\} 1/);
    expect(text).toMatch(/caduceus_proxy_request_duration_seconds_count\{proxy="main",route="skill"\} [1-9]/);
    expect(text).toMatch(/caduceus_proxy_stream_first_byte_seconds_count\{proxy="main",target="skill"\} [1-9]/);
  });
});
