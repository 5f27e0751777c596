// The proxy's caduceus/agent model, called with the official openai package: the client's
// messages run through the agent loop (a real skill runs as a tool call against the
// scripted model), the answer comes back plain or streamed with the run's usage, the run
// is recorded with trigger proxy and the key as actor, failures are OpenAI errors the SDK
// does not retry, and the Runtime's concurrency limit applies to these runs.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { harness, freePort, proxyYaml, skillYaml, type Harness } from './harness.js';
import { register as agentRegister } from '../../../controllers/agent/index.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import {
  MODEL_KEY,
  startScriptedModel,
  toolResults,
  type Script,
  type ScriptedModel,
} from '../agent/scripted-model.js';
import { doc } from '../../helpers/config.js';
import { waitFor } from '../../helpers/wait.js';

const KEY = 'sk-test-agent-proxy-0001';
const LLM_ENV = 'PROXY_AGENT_TEST_LLM_KEY';

let h: Harness;
let model: ScriptedModel;
let client: OpenAI;
let base: string;
/** The script of the test in progress; the model server answers through it. */
let script: Script = () => ({ content: 'unscripted' });

const greet = skillYaml(
  'greet',
  'printf "hello %s" "$PARAM_WHO"',
  '  params:\n    - name: who\n      type: string\n      required: true\n',
);

async function load(opts: { enabled?: boolean; concurrency?: Record<string, number> } = {}): Promise<void> {
  await h.load({
    'runtime.yaml': doc('Runtime', 'default', {
      ...(opts.concurrency ? { concurrency: { default: 1, ...opts.concurrency } } : {}),
      llm: { baseURL: model.url, model: 'scripted-1', apiKey: { valueFrom: { env: LLM_ENV } }, maxRetries: 0 },
    }),
    'skills/greet.yaml': greet,
    'proxy.yaml': proxyYaml(
      'main',
      `port: ${new URL(base).port}\nkeys:\n  - valueFrom: {env: PROXY_AGENT_TEST_KEY}\n` +
        `agent:\n  enabled: ${opts.enabled ?? true}\n  tools: [skills]`,
    ),
  });
  const r = await h.reconcile('main');
  expect(r.conditions.get('Ready')).toMatchObject({ status: 'True', reason: 'Listening' });
}

beforeAll(async () => {
  process.env.PROXY_AGENT_TEST_KEY = KEY;
  process.env[LLM_ENV] = MODEL_KEY;
  model = await startScriptedModel((req, n) => script(req, n));
  h = await harness({ also: [agentRegister] });
  base = `http://127.0.0.1:${await freePort()}`;
  await load();
  client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1` });
});

afterEach(async () => {
  model.requests.length = 0;
  await load();
});

afterAll(async () => {
  await h?.stop();
  await model?.close();
  delete process.env.PROXY_AGENT_TEST_KEY;
  delete process.env[LLM_ENV];
});

/** Greets with the skill in the first turn, then answers with what the skill said. */
const greetThenAnswer: Script = (req) =>
  toolResults(req).length === 0
    ? { toolCalls: [{ name: 'greet', arguments: { who: 'Ada' } }], usage: { prompt_tokens: 20, completion_tokens: 4 } }
    : {
        content: `The skill said: ${toolResults(req)[0]?.content ?? '?'}`,
        usage: { prompt_tokens: 30, completion_tokens: 8 },
      };

describe('proxy: the caduceus/agent model', () => {
  it('is listed first and can be retrieved when the Proxy enables it', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(['caduceus/agent', 'skill/greet']);
    expect(await client.models.retrieve('caduceus/agent')).toMatchObject({
      id: 'caduceus/agent',
      object: 'model',
      owned_by: 'caduceus',
    });
  });

  it('runs the loop on the client messages and answers a chat.completion with the run usage', async () => {
    script = greetThenAnswer;
    const { data: completion, response } = await client.chat.completions
      .create({
        model: 'caduceus/agent',
        messages: [
          { role: 'developer', content: 'Answer in one line.' },
          { role: 'user', content: [{ type: 'text', text: 'Greet Ada with the greet skill' }] },
        ],
      })
      .withResponse();
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('caduceus/agent');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'The skill said: hello Ada' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 });

    // The model saw the client's messages after the project's system prompt, and the skill's tool.
    const first = model.requests[0];
    const roles = first?.body.messages.map((m) => [m.role, m.content]);
    expect(roles?.slice(-2)).toEqual([
      ['system', 'Answer in one line.'],
      ['user', 'Greet Ada with the greet skill'],
    ]);
    expect(first?.body.tools?.map((t) => t.function.name)).toEqual(['greet']);

    const runId = response.headers.get('x-caduceus-run-id') as string;
    const runs = new RunStore(h.deps.store);
    expect(runs.get(runId)).toMatchObject({
      kind: 'agent',
      name: 'proxy/main',
      status: 'succeeded',
      trigger: 'proxy',
      actor: 'key0:env:PROXY_AGENT_TEST_KEY',
    });
    // The skill ran for real, as a child of the agent run.
    expect(runs.list({ kind: 'skill', name: 'greet', limit: 5 })[0]).toMatchObject({
      parentId: runId,
      status: 'succeeded',
      trigger: 'proxy',
    });
  });

  it('streams the answer as content deltas and the usage when asked, with tool progress as SSE comments', async () => {
    script = greetThenAnswer;
    const stream = await client.chat.completions.create({
      model: 'caduceus/agent',
      messages: [{ role: 'user', content: 'Greet Ada' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('The skill said: hello Ada');
    expect(finishes.at(-1)).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 });
    // The loop asked the upstream for a stream, so the answer came through as it was written.
    expect(model.requests.every((r) => r.body.stream === true)).toBe(true);

    // What the SDK skips: one comment per tool call start and end, and the run id.
    const raw = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'caduceus/agent',
        messages: [{ role: 'user', content: 'Greet Ada' }],
        stream: true,
      }),
    });
    const body = await raw.text();
    const comments = body.split('\n').filter((l) => l.startsWith(': ') && !l.includes('keep-alive'));
    expect(comments[0]).toBe(': tool greet started (turn 1)');
    expect(comments[1]).toMatch(/^: tool greet succeeded in \d+ ms$/);
    expect(comments[2]).toMatch(/^: caduceus run [0-9a-f-]{36}$/);
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('fails as an OpenAI error the SDK does not retry when the upstream fails', async () => {
    script = () => ({ status: 500 });
    const err = await client.chat.completions
      .create({ model: 'caduceus/agent', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 502, code: 'upstream_error', type: 'upstream_error' });
    expect((err as Error).message).toMatch(/caduceus\/agent run [0-9a-f-]{36} failed \(upstreamError\)/);
    // One agent run, one model call: x-should-retry: false kept the SDK from running the agent again.
    expect(model.requests).toHaveLength(1);

    // Streamed, the same failure is an error event before [DONE].
    const stream = await client.chat.completions.create({
      model: 'caduceus/agent',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toMatchObject({ error: { code: 'upstream_error', type: 'upstream_error' } });
  });

  it('refuses requests it cannot run with a 400 naming the field', async () => {
    await expect(
      client.chat.completions.create({
        model: 'caduceus/agent',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].content[0]', code: 'invalid_value' });
    await expect(
      client.chat.completions.create({ model: 'caduceus/agent', messages: [{ role: 'system', content: 'only' }] }),
    ).rejects.toMatchObject({ status: 400, param: 'messages' });
    expect(model.requests).toHaveLength(0);
  });

  it('is an unknown model when the Proxy does not enable it', async () => {
    await load({ enabled: false });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['skill/greet']);
    await expect(
      client.chat.completions.create({ model: 'caduceus/agent', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it("counts against the Runtime's concurrency: beyond the maximum and queue the answer is 429", async () => {
    await load({ concurrency: { maximum: 1, queueLimit: 0 } });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    script = async () => {
      await held;
      return { content: 'first done' };
    };
    const first = client.chat.completions.create({
      model: 'caduceus/agent',
      messages: [{ role: 'user', content: 'a' }],
    });
    await waitFor(() => model.requests.length > 0, 10_000, 'the first run to reach the model');
    expect(model.requests).toHaveLength(1);
    await expect(
      new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({
        model: 'caduceus/agent',
        messages: [{ role: 'user', content: 'b' }],
      }),
    ).rejects.toMatchObject({ status: 429, code: 'queue_full' });
    release();
    expect((await first).choices[0]?.message.content).toBe('first done');
    expect(model.requests).toHaveLength(1);
  });
});
