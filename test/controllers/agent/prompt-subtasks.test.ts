// Prompt subtasks of a Task: each an agent run in its own workspace, in parallel like the
// other subtasks, with the task's retries and cancellation; the report carries each
// subtask's status, final answer and tool calls.

import { describe, expect, it } from 'vitest';
import { agentHarness, doc, KEY_ENV } from './harness.js';
import { lastUser, toolResults, type ModelRequest, type ScriptedReply } from './scripted-model.js';
import { waitFor } from '../../helpers/wait.js';

const start = agentHarness();

const AREAS = ['network', 'storage', 'compute', 'identity'];

function fourAreas(): (req: ModelRequest) => Promise<ScriptedReply> {
  // Every subtask's first model call waits for the other three: run in turn, they would never meet.
  let arrived = 0;
  let meet: () => void = () => undefined;
  const met = new Promise<void>((r) => (meet = r));
  return async (req) => {
    const area = lastUser(req).replace('audit the ', '');
    const done = toolResults(req);
    if (done.length === 0) {
      if (++arrived === AREAS.length) meet();
      const together = await Promise.race([met.then(() => true), new Promise((r) => setTimeout(r, 10_000, false))]);
      if (!together) return { content: 'not in parallel' };
      return { toolCalls: [{ name: 'write_file', arguments: { path: `${area}.txt`, content: `${area} ok` } }] };
    }
    if (done.length === 1) return { toolCalls: [{ name: 'list_files', arguments: {} }] };
    return { content: `${area}: workspace holds ${done[1]?.content}` };
  };
}

const task = (subtasks: unknown[], extra: Record<string, unknown> = {}): Record<string, string> => ({
  'task.yaml': doc('Task', 'audit', { concurrency: 4, subtasks, ...extra }),
});

describe('prompt subtasks', () => {
  it('runs four prompt subtasks in parallel, each in its own workspace, reporting answers and tool calls', async () => {
    const h = await start(fourAreas(), {
      files: task(AREAS.map((a) => ({ name: a, prompt: `audit the ${a}`, agent: { tools: ['files'] } }))),
    });
    const progress: string[] = [];
    const report = await h.runner.runTask('audit', {
      trigger: { source: 'cli' },
      onProgress: (p) => p.message && progress.push(`${p.subtask}: ${p.message}`),
    });
    expect(report.status).toBe('succeeded');
    expect(report.subtasks.map((s) => [s.name, s.status, s.attempts, s.output])).toEqual(
      AREAS.map((a) => [a, 'succeeded', 1, `${a}: workspace holds ${a}.txt`]),
    );
    for (const s of report.subtasks) {
      expect(s.agent?.answer).toBe(s.output);
      expect(s.agent?.stopReason).toBe('answer');
      expect(s.agent?.toolCalls.map((c) => [c.tool, c.status])).toEqual([
        ['write_file', 'succeeded'],
        ['list_files', 'succeeded'],
      ]);
    }
    // Each subtask's agent run is a child of the task run, and its trace is stored.
    const children = h.runs.list({ parentId: report.runId });
    expect(children.map((c) => [c.kind, c.name, c.trigger]).sort()).toEqual(
      AREAS.map((a) => ['agent', `audit/${a}`, 'task:audit']).sort(),
    );
    for (const c of children) expect(h.traces.get(c.id)?.toolCalls).toHaveLength(2);
    expect(progress).toContain('network: write_file started');
    expect(progress).toContain('network: list_files succeeded');
  });

  it('retries a prompt subtask whose run failed, with the task retry policy', async () => {
    let failures = 0;
    const h = await start(
      (req) => {
        if (lastUser(req) === 'flaky' && failures++ === 0) return { status: 500 };
        return { content: `answer to ${lastUser(req)}` };
      },
      {
        llm: { maxRetries: 0 },
        files: task([{ name: 'flaky', prompt: 'flaky' }], { retry: { maxAttempts: 3, initialDelay: '10ms' } }),
      },
    );
    const report = await h.runner.runTask('audit', { trigger: { source: 'cli' } });
    expect(report.subtasks[0]).toMatchObject({ status: 'succeeded', attempts: 2, output: 'answer to flaky' });
    expect(h.runs.list({ kind: 'agent' }).map((r) => r.status)).toEqual(['succeeded', 'failed']);
  });

  it('fails a prompt subtask at once when the LLM key is unset; the other subtasks still run', async () => {
    const h = await start(() => ({ content: 'never' }), {
      files: task(
        [
          { name: 'think', prompt: 'Summarise the logs' },
          { name: 'plain', run: 'echo fine' },
        ],
        { retry: { maxAttempts: 3, initialDelay: '10ms' } },
      ),
    });
    delete process.env[KEY_ENV];
    const report = await h.runner.runTask('audit', { trigger: { source: 'cli' } });
    const think = report.subtasks.find((s) => s.name === 'think');
    expect(think).toMatchObject({ status: 'failed', attempts: 1 });
    expect(think?.error).toBe(
      `the LLM key of Runtime/default (spec.llm.apiKey, env ${KEY_ENV}) is unset or empty; ` +
        `agent runs stay off until it is set (export ${KEY_ENV}=…)`,
    );
    expect(report.subtasks.find((s) => s.name === 'plain')?.status).toBe('succeeded');
    expect(h.model.requests).toHaveLength(0);
  });

  it('cancels a prompt subtask in flight when the task is cancelled', async () => {
    const h = await start(() => ({ content: 'late', delayMs: 20_000 }), {
      files: task([{ name: 'slow', prompt: 'take your time' }]),
    });
    const abort = new AbortController();
    const running = h.runner.runTask('audit', { trigger: { source: 'cli' }, signal: abort.signal });
    await waitFor(() => h.model.requests.length > 0, 10_000, 'the model call');
    abort.abort();
    const report = await running;
    expect(report.status).toBe('cancelled');
    expect(report.subtasks[0]?.status).toBe('cancelled');
    expect(h.runs.list({ kind: 'agent' })[0]?.status).toBe('cancelled');
  });
});
