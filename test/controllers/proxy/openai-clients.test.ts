// What OpenAI clients expect beyond chat, driven by the official `openai` SDK with its
// default retries: a failed skill runs once (the SDK is told not to retry), the other
// endpoints reach the upstream (/v1/responses plain and streamed, /v1/embeddings,
// /v1/completions, /v1/models/{id}), skill models refuse what they cannot do, CORS stays
// off unless origins are listed, and the `model` metric label never takes client input.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { harness, freePort, proxyYaml, skillYaml, type Harness } from './harness.js';
import { startFakeUpstream, UPSTREAM_KEY, type FakeUpstream } from './fake-upstream.js';
import { RunStore } from '../../../reconciler/state/runs.js';

const KEY = 'sk-client-key-openai-clients';
let h: Harness;
let up: FakeUpstream;
let base: string;
let client: OpenAI;

beforeAll(async () => {
  process.env.PROXY_OC_KEY = KEY;
  process.env.PROXY_OC_UPSTREAM = UPSTREAM_KEY;
  up = await startFakeUpstream();
  h = await harness();
  await h.load({
    'skills/fails.yaml': skillYaml('fails', 'echo broken >&2; exit 4'),
    'skills/answer.yaml': skillYaml('answer', 'echo 42'),
    'proxy.yaml': proxyYaml(
      'oc',
      `port: ${await freePort()}
keys: [{valueFrom: {env: PROXY_OC_KEY}}]
upstream:
  baseURL: ${up.url}
  apiKey: {valueFrom: {env: PROXY_OC_UPSTREAM}}
cors:
  allowedOrigins: [https://app.example.com]`,
    ),
  });
  const r = await h.reconcile('oc');
  expect(r.conditions.get('Ready')).toMatchObject({ status: 'True' });
  base = String(r.observed.address);
  // The SDK's defaults: two retries with backoff on 5xx, 408, 409, 429 and connection errors.
  client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1` });
});
afterAll(async () => {
  await h.stop();
  await up.close();
});

describe('OpenAI clients against the proxy', () => {
  it('runs a failing skill once: the 500 says x-should-retry: false and the SDK does not retry', async () => {
    const runs = new RunStore(h.deps.store);
    const before = runs.list({ limit: 100 }).filter((r) => r.name === 'fails').length;
    const err = (await client.chat.completions
      .create({ model: 'skill/fails', messages: [{ role: 'user', content: '{}' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.headers?.get('x-should-retry')).toBe('false');
    expect(err.message).toContain('broken');
    expect(runs.list({ limit: 100 }).filter((r) => r.name === 'fails').length - before).toBe(1);
  });

  it('refuses n > 1 and tools on a skill model with a 400 naming the parameter', async () => {
    const n = (await client.chat.completions
      .create({ model: 'skill/answer', messages: [{ role: 'user', content: '{}' }], n: 2 })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(n).toBeInstanceOf(OpenAI.BadRequestError);
    expect([n.param, n.code]).toEqual(['n', 'unsupported_parameter']);
    expect(n.message).toContain('skill/answer is a skill, which gives one answer');
    const tools = (await client.chat.completions
      .create({
        model: 'skill/answer',
        messages: [{ role: 'user', content: '{}' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect([tools.status, tools.param, tools.code]).toEqual([400, 'tools', 'unsupported_parameter']);
    const ok = await client.chat.completions.create({
      model: 'skill/answer',
      messages: [{ role: 'user', content: '{}' }],
      n: 1,
    });
    expect(ok.choices[0]?.message.content).toBe('42\n');
  });

  it('passes /v1/responses to the upstream, plain and streamed, with the upstream key', async () => {
    const res = await client.responses.create({ model: 'gpt-test', input: 'hello' });
    expect(res.output_text).toBe('responded: hello');
    const last = up.seen.at(-1);
    expect(last).toMatchObject({ method: 'POST', path: '/v1/responses', body: { model: 'gpt-test', input: 'hello' } });
    expect(last?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);

    const stream = await client.responses.create({ model: 'gpt-test', input: 'one two', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(text).toBe('responded: one two');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('passes /v1/embeddings, /v1/completions and /v1/models/{id} to the upstream', async () => {
    const emb = await client.embeddings.create({ model: 'gpt-test', input: ['a', 'b'] });
    expect(emb.data.map((d) => d.index)).toEqual([0, 1]);
    expect(up.seen.at(-1)).toMatchObject({ path: '/v1/embeddings', body: { input: ['a', 'b'] } });
    const cmpl = await client.completions.create({ model: 'gpt-test', prompt: 'say' });
    expect(cmpl.choices[0]?.text).toBe('completed: say');
    const model = await client.models.retrieve('gpt-test');
    expect(model).toMatchObject({ id: 'gpt-test', owned_by: 'upstream' });
    expect(up.seen.at(-1)).toMatchObject({ method: 'GET', path: '/v1/models/gpt-test' });
    const missing = (await client.models.retrieve('gpt-none').catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe('model_not_found');
  });

  it('refuses a skill model on the passthrough endpoints, pointing at chat completions', async () => {
    const err = (await client.embeddings
      .create({ model: 'skill/answer', input: 'x' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect([err.status, err.param, err.code]).toEqual([400, 'model', 'unsupported_model']);
    expect(err.message).toContain('/v1/chat/completions');
  });

  it('answers CORS only for the listed origin: preflight before the key check, headers on the answer', async () => {
    const allowed = 'https://app.example.com';
    const pre = await fetch(`${base}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: allowed,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os');
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');

    const get = await fetch(`${base}/v1/models`, { headers: { origin: allowed, authorization: `Bearer ${KEY}` } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(allowed);

    const other = await fetch(`${base}/v1/models`, {
      headers: { origin: 'https://evil.example', authorization: `Bearer ${KEY}` },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const otherPre = await fetch(`${base}/v1/models`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(otherPre.status).toBe(403);
    expect(otherPre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('labels requests by served skill, listed upstream model or "other", never by what the client typed', async () => {
    await client.models.list(); // the upstream's list is what upstream labels come from
    for (let i = 0; i < 5; i++)
      await client.chat.completions
        .create({ model: `made-up-${i}-${Math.random()}`, messages: [{ role: 'user', content: 'x' }] })
        .catch(() => undefined);
    await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
    const series = (await h.metrics.getSingleMetric('caduceus_proxy_requests_total')?.get())?.values ?? [];
    const labels = new Set(series.map((v) => String(v.labels.model)));
    expect(
      [...labels].filter((l) => !['skill/fails', 'skill/answer', 'gpt-test', 'gpt-none', 'other', 'none'].includes(l)),
    ).toEqual([]);
    expect(labels).toContain('other');
    expect(labels).toContain('gpt-test');
  });
});

describe('a proxy without cors', () => {
  it('sends no CORS header and refuses every preflight', async () => {
    const port = await freePort();
    await h.load({ 'proxy.yaml': proxyYaml('oc', `port: ${port}\nkeys: [{valueFrom: {env: PROXY_OC_KEY}}]`) });
    const r = await h.reconcile('oc');
    const address = String(r.observed.address);
    const pre = await fetch(`${address}/v1/models`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com' },
    });
    expect(pre.status).toBe(403);
    const get = await fetch(`${address}/v1/models`, {
      headers: { origin: 'https://app.example.com', authorization: `Bearer ${KEY}` },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});
