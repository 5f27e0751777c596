// The agent loop against a scripted Chat Completions server through the real openai SDK:
// a multi-turn run over skill, shell, file and http tools; parallel tool calls; streaming;
// the trace in the state store; secrets kept from the model.

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentHarness, doc } from './harness.js';
import { inOrder, lastUser, MODEL_KEY, toolResults, type ModelRequest } from './scripted-model.js';
import type { AgentEvent } from '../../../reconciler/agent-contract.js';
import { skillYaml } from '../../helpers/git.js';
import { eventually } from '../../helpers/wait.js';

const start = agentHarness();

const greet = skillYaml('greet', '', {
  description: 'Greets someone and keeps the greeting in greeting.txt',
  extra: `  params:
    - name: who
      type: string
      required: true
    - name: times
      type: number
      default: 1
`,
  steps: `    - run: 'for i in $(seq "$PARAM_TIMES"); do echo "hello $PARAM_WHO"; done | tee greeting.txt'\n`,
});

let web: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (web ? web.close(() => r()) : r()));
  web = undefined;
});

async function startWeb(): Promise<string> {
  web = createServer((req, res) => {
    res.writeHead(req.url === '/status' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/status' ? 'all systems nominal' : 'no such page');
  });
  await new Promise<void>((r) => web?.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
}

describe('agent loop', () => {
  it('runs a multi-turn conversation over a skill, files, shell and http_get, then answers', async () => {
    const site = await startWeb();
    const h = await start(
      inOrder([
        {
          toolCalls: [
            { name: 'greet', arguments: { who: 'Ada', times: 2 } },
            { name: 'write_file', arguments: { path: 'notes/plan.md', content: 'step one\n' } },
          ],
        },
        {
          toolCalls: [
            { name: 'read_file', arguments: { path: 'greeting.txt' } },
            { name: 'shell', arguments: { command: 'cat notes/plan.md; echo sum=$((2+3))' } },
            { name: 'list_files', arguments: { recursive: true } },
            { name: 'http_get', arguments: { url: `${site}/status` } },
          ],
        },
        { content: 'Greeted Ada twice; all systems nominal.' },
      ]),
      { files: { 'skills/greet.yaml': greet } },
    );
    const r = await h.ask({
      prompt: 'Greet Ada twice and check the status page',
      tools: ['skills', 'files', 'http', 'shell'],
    });

    expect(r.status).toBe('succeeded');
    expect(r.stopReason).toBe('answer');
    expect(r.answer).toBe('Greeted Ada twice; all systems nominal.');
    expect(r.toolCalls.map((c) => [c.turn, c.tool, c.status])).toEqual([
      [1, 'greet', 'succeeded'],
      [1, 'write_file', 'succeeded'],
      [2, 'read_file', 'succeeded'],
      [2, 'shell', 'succeeded'],
      [2, 'list_files', 'succeeded'],
      [2, 'http_get', 'succeeded'],
    ]);
    const [skill, , read, shell, list, http] = r.toolCalls;
    expect(skill?.result.trim()).toBe('hello Ada\nhello Ada');
    // The skill ran in the agent's workspace: its file is there for read_file.
    expect(read?.result).toBe('hello Ada\nhello Ada\n');
    expect(shell?.exitCode).toBe(0);
    expect(shell?.result).toBe('exit code 0\nstep one\nsum=5\n');
    expect(list?.result.split('\n')).toEqual(['greeting.txt', 'notes/', 'notes/plan.md']);
    expect(http?.result).toBe('HTTP 200\nall systems nominal');
    expect(r.turns).toHaveLength(3);
    expect(r.usage).toEqual({ promptTokens: 30, completionTokens: 15, totalTokens: 45 });

    // What the model saw: the tools with their schemas, then each result under its call id.
    const first = h.model.requests[0] as ModelRequest;
    expect(first.body.model).toBe('scripted-1');
    expect(first.headers.authorization).toBe(`Bearer ${MODEL_KEY}`);
    const tools = Object.fromEntries((first.body.tools ?? []).map((t) => [t.function.name, t.function.parameters]));
    expect(Object.keys(tools).sort()).toEqual(
      ['greet', 'http_get', 'list_files', 'read_file', 'shell', 'write_file'].sort(),
    );
    expect(tools.greet).toEqual({
      type: 'object',
      properties: { who: { type: 'string' }, times: { type: 'number', default: 1 } },
      required: ['who'],
      additionalProperties: false,
    });
    expect(lastUser(first)).toBe('Greet Ada twice and check the status page');
    const third = h.model.requests[2] as ModelRequest;
    expect(toolResults(third).map((m) => m.tool_call_id)).toEqual(r.toolCalls.map((c) => c.id));

    // The trace is stored whole, and the skill run is a child of the agent run.
    const trace = h.traces.get(r.runId);
    expect(trace?.answer).toBe(r.answer);
    expect(trace?.toolCalls.map((c) => c.tool)).toEqual(r.toolCalls.map((c) => c.tool));
    expect(trace?.turns.map((t) => t.usage?.totalTokens)).toEqual([15, 15, 15]);
    expect(trace?.messages.at(-1)).toEqual({ role: 'assistant', content: r.answer });
    const row = h.runs.get(r.runId);
    expect(row).toMatchObject({ kind: 'agent', name: 'agent', status: 'succeeded', trigger: 'test' });
    expect(h.runs.list({ parentId: r.runId }).map((c) => [c.kind, c.name, c.status])).toEqual([
      ['skill', 'greet', 'succeeded'],
    ]);
    // A run that succeeded leaves no workspace behind (removed after the answer, so waited for).
    await eventually(() => expect(existsSync(join(h.stateDir, 'workspaces', r.runId))).toBe(false));
    const metrics = await h.metrics.getSingleMetricAsString('caduceus_agent_tool_calls_total');
    expect(metrics).toContain('caduceus_agent_tool_calls_total{tool="shell",outcome="succeeded"} 1');
  });

  it('answers bad tool input with an error the model reads: bad params, unknown tools, escapes', async () => {
    const h = await start(
      inOrder([
        {
          toolCalls: [
            { name: 'greet', arguments: { who: 'Ada', times: 'many' } },
            { name: 'greet', arguments: { whom: 'Ada' } },
            { name: 'launch_rockets', arguments: {} },
            { name: 'read_file', arguments: { path: '../../etc/passwd' } },
            { name: 'read_file', arguments: { path: 'link/passwd' } },
            { name: 'write_file', arguments: '{"path": "x"' },
            { name: 'shell', arguments: { command: 'id' } },
          ],
        },
        { content: 'gave up' },
      ]),
      { files: { 'skills/greet.yaml': greet } },
    );
    const events: AgentEvent[] = [];
    const r = await h.ask({
      prompt: 'try things',
      onProgress: (e) => {
        events.push(e);
        // A symlink out of the workspace, made before the file tools run.
        if (e.type === 'turn' && e.turn === 1) symlinkSync('/etc', join(h.stateDir, 'workspaces', e.runId, 'link'));
      },
    });
    expect(r.status).toBe('succeeded');
    expect(r.toolCalls.map((c) => c.status)).toEqual(Array(7).fill('failed'));
    const results = r.toolCalls.map((c) => c.result);
    expect(results[0]).toBe('error: params.times: skill greet: param "times" must be a number, got "many"');
    expect(results[1]).toMatch(/^error: params.whom: skill greet has no param "whom" \(declared: who, times\)/);
    expect(results[2]).toMatch(/^error: no tool named "launch_rockets"; the tools of this run are /);
    expect(results[3]).toMatch(/^error: path: file path "..\/..\/etc\/passwd" contains ".."/);
    expect(results[4]).toMatch(/symlink that leads out of the workspace/);
    expect(results[5]).toMatch(/^error: arguments of write_file: not valid JSON/);
    // shell is off unless an allow-list names it.
    expect(results[6]).toMatch(/^error: no tool named "shell"/);
    expect(h.runs.list({ kind: 'skill' })).toHaveLength(0);
    const ends = events.filter((e) => e.type === 'toolEnd');
    expect(ends).toHaveLength(7);
  });

  it('runs the tool calls of one turn at the same time, within the Runtime concurrency maximum', async () => {
    // Each call waits until all three have started: run one after the other, they would all fail.
    const barrier = (i: number): string =>
      `touch started-${i}; for n in $(seq 100); do ` +
      '[ "$(ls started-* | wc -l)" -ge 3 ] && exit 0; sleep 0.05; done; exit 7';
    const h = await start(
      inOrder([{ toolCalls: [0, 1, 2].map((i) => ({ name: 'shell', arguments: { command: barrier(i) } })) }]),
    );
    const r = await h.ask({ prompt: 'three at once', tools: ['shell'] });
    expect(r.toolCalls.map((c) => c.exitCode)).toEqual([0, 0, 0]);

    // With a maximum of 2, never more than two run at once (each records how many it saw).
    const peak = (i: number): string =>
      `touch running-${i}; ls running-* | wc -l >> peaks; sleep 0.3; rm running-${i}; cat peaks`;
    const h2 = await start(
      inOrder([
        { toolCalls: [0, 1, 2, 3].map((i) => ({ name: 'shell', arguments: { command: peak(i) } })) },
        { toolCalls: [{ name: 'read_file', arguments: { path: 'peaks' } }] },
      ]),
      { runtime: { concurrency: { default: 2, maximum: 2 } } },
    );
    const r2 = await h2.ask({ prompt: 'four, two at a time', tools: ['shell', 'files'] });
    const seen = (r2.toolCalls[4]?.result ?? '').trim().split('\n').map(Number);
    expect(seen).toHaveLength(4);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  });

  it('streams: tool calls assembled from chunks, answer deltas reported as they arrive', async () => {
    const h = await start(
      inOrder([
        { toolCalls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'streamed' } }] },
        { toolCalls: [{ name: 'read_file', arguments: { path: 'a.txt' } }] },
        { content: 'The file says streamed, as expected.' },
      ]),
      { llm: { stream: true } },
    );
    let deltas = '';
    const r = await h.ask({
      prompt: 'write and read',
      onProgress: (e) => {
        if (e.type === 'answerDelta') deltas += e.text;
      },
    });
    expect(r.status).toBe('succeeded');
    expect(r.toolCalls.map((c) => c.result)).toEqual(['wrote 8 bytes to a.txt', 'streamed']);
    expect(deltas).toBe('The file says streamed, as expected.');
    expect(r.answer).toBe(deltas);
    expect(h.model.requests.every((q) => q.body.stream === true)).toBe(true);
    expect(r.usage.totalTokens).toBe(45);
  });

  it('redacts every resolved secret from tool results before the model sees them', async () => {
    const h = await start(
      inOrder([
        {
          toolCalls: [
            { name: 'shell', arguments: { command: 'cat "$CADUCEUS_CONFIG_DIR/leak.txt"' } },
            { name: 'read_file', arguments: { path: 'copy.txt' } },
          ],
        },
        { content: 'done' },
      ]),
    );
    writeFileSync(join(h.configDir, 'leak.txt'), `token=${MODEL_KEY}\n`);
    const r = await h.ask({
      prompt: 'look',
      tools: ['shell', 'files'],
      onProgress: (e) => {
        if (e.type === 'turn' && e.turn === 1)
          writeFileSync(join(h.stateDir, 'workspaces', e.runId, 'copy.txt'), `again ${MODEL_KEY}`);
      },
    });
    expect(r.toolCalls.map((c) => c.result)).toEqual(['exit code 0\ntoken=[REDACTED]\n', 'again [REDACTED]']);
    for (const q of h.model.requests) expect(q.raw).not.toContain(MODEL_KEY);
    expect(toolResults(h.model.requests[1] as ModelRequest).map((m) => m.content)).toEqual([
      'exit code 0\ntoken=[REDACTED]\n',
      'again [REDACTED]',
    ]);
    expect(JSON.stringify(h.traces.get(r.runId))).not.toContain(MODEL_KEY);
  });

  it('redacts the secrets of other resources too, even when no controller of this process resolved them', async () => {
    const h = await start(
      inOrder([
        { toolCalls: [{ name: 'shell', arguments: { command: 'cat "$CADUCEUS_CONFIG_DIR/keys/proxy.txt"' } }] },
      ]),
      {
        files: {
          'keys/proxy.txt': 'proxy-key-4f1c9a7e2b\n',
          'proxy.yaml': doc('Proxy', 'p', { port: 18080, keys: [{ valueFrom: { file: 'keys/proxy.txt' } }] }),
        },
      },
    );
    const r = await h.ask({ prompt: 'show me the key', tools: ['shell'] });
    expect(r.toolCalls[0]?.result).toBe('exit code 0\n[REDACTED]\n');
    for (const q of h.model.requests) expect(q.raw).not.toContain('proxy-key-4f1c9a7e2b');
  });

  it('injects the project context named in the Runtime into every run', async () => {
    const h = await start(inOrder([{ content: 'ok' }]), {
      runtime: { agent: { context: ['context/*.md', 'AGENTS.md'] } },
      files: {
        'context/10-team.md': '# Team\nWe run billing-api.',
        'context/20-rules.md': 'Never restart production on Fridays.',
        'AGENTS.md': 'Answer in English.',
        'context/notes.txt': 'not markdown, not matched',
      },
    });
    await h.ask({ prompt: 'hi' });
    const system = (h.model.requests[0] as ModelRequest).body.messages.filter((m) => m.role === 'system');
    expect(system).toHaveLength(2);
    const ctx = system[1]?.content ?? '';
    expect(ctx).toContain('## context/10-team.md\n\n# Team\nWe run billing-api.');
    expect(ctx).toContain('## context/20-rules.md\n\nNever restart production on Fridays.');
    expect(ctx).toContain('## AGENTS.md\n\nAnswer in English.');
    expect(ctx).not.toContain('not markdown');
    expect(ctx.indexOf('10-team')).toBeLessThan(ctx.indexOf('20-rules'));
  });

  it('lets a skill name its own allow-list entries as tools by name or alias', async () => {
    const h = await start(inOrder([{ content: 'ok' }]), {
      files: {
        'skills/greet.yaml': greet,
        'skills/other.yaml': skillYaml('other', 'echo other', { extra: '  aliases: [other-old]\n' }),
      },
    });
    await h.ask({ prompt: 'hi', tools: ['other-old', 'remember'] });
    const names = (h.model.requests[0] as ModelRequest).body.tools?.map((t) => t.function.name);
    expect(names).toEqual(['remember', 'other']);
    await expect(h.ask({ prompt: 'hi', tools: ['nope'] })).rejects.toMatchObject({ code: 'UnknownAgentTool' });
  });

  it('keeps remember notes in the result and the trace', async () => {
    const h = await start(
      inOrder([
        { toolCalls: [{ name: 'remember', arguments: { note: 'billing-api logs live in /var/log/billing' } }] },
        { content: 'noted it' },
      ]),
    );
    const r = await h.ask({ prompt: 'remember where the logs are', tools: ['remember'] });
    expect(r.notes).toEqual(['billing-api logs live in /var/log/billing']);
    expect(h.traces.get(r.runId)?.notes).toEqual(r.notes);
  });
});
