// Where a run stops other than at an answer: each limit of the schema, the upstream's
// errors after the SDK's retries, and the fail-closed cases (no upstream, unset key).

import { describe, expect, it } from 'vitest';
import { agentHarness, KEY_ENV } from './harness.js';
import { inOrder, toolResults, type ModelRequest } from './scripted-model.js';

const start = agentHarness();
const shell = (command: string) => ({ name: 'shell', arguments: { command } });

describe('agent limits', () => {
  it('stops after maxTurns when the model keeps calling tools', async () => {
    const h = await start(() => ({ toolCalls: [shell('true')] }), {
      runtime: { agent: { limits: { maxTurns: 3 } } },
    });
    const r = await h.ask({ prompt: 'loop forever', tools: ['shell'] });
    expect(r).toMatchObject({ status: 'failed', stopReason: 'maxTurns' });
    expect(r.error).toBe("the model still called tools after 3 turn(s), the run's limit");
    expect(h.model.requests).toHaveLength(3);
    // The third turn's calls are not run: the limit stops the run first.
    expect(r.toolCalls).toHaveLength(2);
    expect(h.runs.get(r.runId)?.status).toBe('failed');
  });

  it('stops at maxToolCalls, refusing the calls beyond it', async () => {
    const h = await start(() => ({ toolCalls: [shell('echo a'), shell('echo b')] }), {
      runtime: { agent: { limits: { maxToolCalls: 3 } } },
    });
    const r = await h.ask({ prompt: 'many calls', tools: ['shell'] });
    expect(r).toMatchObject({ status: 'failed', stopReason: 'maxToolCalls' });
    expect(r.toolCalls.map((c) => c.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'refused']);
    expect(r.toolCalls[3]?.result).toBe("refused: the run's limit of 3 tool calls is reached");
  });

  it('a request may lower the limits of its run (a subtask does)', async () => {
    const h = await start(() => ({ toolCalls: [shell('true')] }));
    const r = await h.ask({ prompt: 'x', tools: ['shell'], limits: { maxToolCalls: 0 } });
    expect(r).toMatchObject({ stopReason: 'maxToolCalls' });
    expect(r.toolCalls.map((c) => c.status)).toEqual(['refused']);
  });

  it('times out the whole run on its wall clock, aborting the model call in flight', async () => {
    const h = await start(inOrder([{ content: 'too late', delayMs: 10_000 }]), {
      runtime: { agent: { limits: { timeout: '300ms' } } },
    });
    const t0 = Date.now();
    const r = await h.ask({ prompt: 'think hard' });
    expect(r).toMatchObject({ status: 'timedOut', stopReason: 'timeout', answer: '' });
    expect(r.error).toBe('the run timed out after 300ms');
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(h.runs.get(r.runId)?.status).toBe('timedOut');
  });

  it('times out one tool call on the per-tool timeout and goes on', async () => {
    const h = await start(inOrder([{ toolCalls: [shell('sleep 20'), shell('echo quick')] }, { content: 'done' }]), {
      runtime: { agent: { limits: { toolTimeout: '500ms' } } },
    });
    const r = await h.ask({ prompt: 'x', tools: ['shell'] });
    expect(r.status).toBe('succeeded');
    expect(r.toolCalls.map((c) => c.status)).toEqual(['timedOut', 'succeeded']);
    expect(r.toolCalls[0]?.result).toBe('timed out after 500ms\n');
    expect(r.toolCalls[0]?.durationMs).toBeLessThan(15_000);
  });

  it('keeps at most toolOutputBytes of a tool result: head and tail, the middle cut', async () => {
    const h = await start(
      inOrder([
        { toolCalls: [shell('echo START; head -c 5000 /dev/zero | tr "\\0" x; echo; echo END')] },
        { content: 'ok' },
      ]),
      { runtime: { agent: { limits: { toolOutputBytes: 256 } } } },
    );
    const r = await h.ask({ prompt: 'x', tools: ['shell'] });
    const sent = toolResults(h.model.requests[1] as ModelRequest)[0]?.content ?? '';
    expect(sent).toMatch(/^exit code 0\nSTART\nx+\n\[… 4767 bytes cut …\]\nx+\nEND\n$/);
    expect(Buffer.byteLength(sent)).toBeLessThan(300);
    expect(r.toolCalls[0]?.result).toBe(sent);
  });

  it('stops when the token budget is spent', async () => {
    const h = await start(() => ({ toolCalls: [shell('true')], usage: { prompt_tokens: 40, completion_tokens: 10 } }), {
      runtime: { agent: { limits: { tokenBudget: 120 } } },
    });
    const r = await h.ask({ prompt: 'x', tools: ['shell'] });
    expect(r).toMatchObject({ status: 'failed', stopReason: 'tokenBudget' });
    expect(r.usage.totalTokens).toBe(150);
    expect(h.model.requests).toHaveLength(3);
  });

  it('retries a 429 with backoff (the SDK honours Retry-After) and then succeeds', async () => {
    const h = await start(
      inOrder([{ status: 429, headers: { 'retry-after-ms': '20' } }, { status: 503 }, { content: 'third time lucky' }]),
    );
    const r = await h.ask({ prompt: 'x' });
    expect(r).toMatchObject({ status: 'succeeded', answer: 'third time lucky' });
    expect(h.model.requests).toHaveLength(3);
    // One turn, however many attempts it took.
    expect(r.turns).toHaveLength(1);
  });

  it('fails the run with the upstream error once retries are spent', async () => {
    const h = await start(() => ({ status: 500 }), { llm: { maxRetries: 1 } });
    const r = await h.ask({ prompt: 'x' });
    expect(r).toMatchObject({ status: 'failed', stopReason: 'upstreamError' });
    expect(r.error).toBe('the LLM upstream answered 500: 500 scripted error 500');
    expect(h.model.requests).toHaveLength(2);
    expect(h.traces.get(r.runId)?.stopReason).toBe('upstreamError');
  });

  it('fails closed when the key is unset, naming the reference, and calls nobody', async () => {
    const h = await start(inOrder([{ content: 'never' }]));
    delete process.env[KEY_ENV];
    const err = await h.ask({ prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SecretUnset' });
    expect((err as Error).message).toBe(
      `the LLM key of Runtime/default (spec.llm.apiKey, env ${KEY_ENV}) is unset or empty; ` +
        'agent runs stay off until it is set',
    );
    expect((err as { hint?: string }).hint).toBe(`export ${KEY_ENV}=…`);
    expect(h.model.requests).toHaveLength(0);
    expect(h.runs.list({ kind: 'agent' })).toHaveLength(0);
    // Everything else keeps working: skills and shell do not need the model.
    const exec = await h.runner.exec({ command: 'echo still here' }, { trigger: { source: 'test' } });
    expect(exec.output).toBe('still here\n');
  });

  it('fails closed without a model, naming the field to set', async () => {
    const h = await start(inOrder([{ content: 'never' }]), { llm: { model: undefined } });
    await expect(h.ask({ prompt: 'x' })).rejects.toMatchObject({
      code: 'LlmNotConfigured',
      message: 'agent runs need a model, and spec.llm of Runtime/default names none',
    });
  });
});
