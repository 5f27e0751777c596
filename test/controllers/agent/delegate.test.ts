// delegate: child agents in parallel, each with its own workspace and run-history row,
// bounded by the Runtime's concurrency maximum and their own timeout, one level deep.
// And the shell tool in the Docker sandbox.

import { describe, expect, it } from 'vitest';
import { agentHarness } from './harness.js';
import { lastUser, type ModelRequest, type ScriptedReply } from './scripted-model.js';
import { dockerReady } from '../execution/docker-env.js';

const start = agentHarness();

/** The parent delegates two pieces; each child writes a file, lists its workspace and answers. */
function delegating(extra: Partial<ScriptedReply> = {}) {
  // The children's first model calls wait for each other: run one after the other, they would not meet.
  let arrived = 0;
  let meet: () => void = () => undefined;
  const met = new Promise<void>((r) => (meet = r));
  return async (req: ModelRequest): Promise<ScriptedReply> => {
    const user = lastUser(req);
    const tools = req.body.messages.filter((m) => m.role === 'tool');
    if (user === 'split the work') {
      if (tools.length === 0)
        return {
          toolCalls: [
            {
              name: 'delegate',
              arguments: {
                agents: [
                  { name: 'north', prompt: 'child north: count the north racks' },
                  { name: 'south', prompt: 'child south: count the south racks', tools: ['files'] },
                ],
              },
            },
          ],
        };
      return { content: `summary of: ${tools[0]?.content?.length ?? 0} bytes of child answers` };
    }
    const side = user.includes('north') ? 'north' : 'south';
    if (tools.length === 0) {
      if (++arrived === 2) meet();
      const together = await Promise.race([met.then(() => true), new Promise((r) => setTimeout(r, 10_000, false))]);
      if (!together) return { content: 'the children did not run in parallel' };
    }
    if (tools.length === 0)
      return {
        ...extra,
        toolCalls: [{ name: 'write_file', arguments: { path: `${side}.txt`, content: side } }],
      };
    if (tools.length === 1) return { toolCalls: [{ name: 'list_files', arguments: {} }] };
    return { content: `${side}: 12 racks; my workspace holds ${tools[1]?.content}` };
  };
}

describe('delegate', () => {
  it('starts child agents in parallel, each in its own workspace, recorded under the parent run', async () => {
    const h = await start(delegating());
    const r = await h.ask({ prompt: 'split the work', tools: ['files', 'delegate'], name: 'planner' });
    expect(r.status).toBe('succeeded');
    const call = r.toolCalls[0];
    expect(call?.tool).toBe('delegate');
    expect(call?.status).toBe('succeeded');
    const children = JSON.parse(call?.result ?? '[]') as Array<{ name: string; status: string; answer: string }>;
    expect(children).toEqual([
      { name: 'north', status: 'succeeded', answer: 'north: 12 racks; my workspace holds north.txt', toolCalls: 2 },
      { name: 'south', status: 'succeeded', answer: 'south: 12 racks; my workspace holds south.txt', toolCalls: 2 },
    ]);
    const rows = h.runs.list({ parentId: r.runId });
    expect(rows.map((c) => [c.kind, c.name, c.trigger, c.status]).sort()).toEqual([
      ['agent', 'planner/north', 'agent:delegate', 'succeeded'],
      ['agent', 'planner/south', 'agent:delegate', 'succeeded'],
    ]);
    expect(call?.childRunIds?.sort()).toEqual(rows.map((c) => c.id).sort());
    // Children cannot delegate again (depth 1) and get no tool their parent lacks.
    const childTools = h.model.requests
      .filter((q) => lastUser(q).startsWith('child'))
      .map((q) => (q.body.tools ?? []).map((t) => t.function.name).sort());
    for (const names of childTools) expect(names).toEqual(['list_files', 'read_file', 'write_file']);
  });

  it('refuses a child that asks for a tool its parent may not use, and starts none', async () => {
    const h = await start((req) =>
      req.body.messages.some((m) => m.role === 'tool')
        ? { content: 'ok' }
        : { toolCalls: [{ name: 'delegate', arguments: { agents: [{ prompt: 'child x', tools: ['shell'] }] } }] },
    );
    const r = await h.ask({ prompt: 'try', tools: ['files', 'delegate'] });
    expect(r.toolCalls[0]?.status).toBe('failed');
    expect(r.toolCalls[0]?.result).toBe('error: child child-1 asks for shell, which this run may not use');
    expect(h.runs.list({ kind: 'agent' })).toHaveLength(1);
  });

  it('bounds each child by its own timeout; the parent gets the failure and goes on', async () => {
    const h = await start(delegating({ delayMs: 5000 }), {
      runtime: { agent: { limits: { delegateTimeout: '300ms' } } },
    });
    const r = await h.ask({ prompt: 'split the work', tools: ['files', 'delegate'] });
    expect(r.status).toBe('succeeded');
    const children = JSON.parse(r.toolCalls[0]?.result ?? '[]') as Array<{ status: string; error?: string }>;
    expect(children.map((c) => [c.status, c.error])).toEqual([
      ['timedOut', 'the run timed out after 300ms'],
      ['timedOut', 'the run timed out after 300ms'],
    ]);
    expect(r.toolCalls[0]?.status).toBe('failed');
  });
});

describe.runIf(process.env.CI === 'true' || (await dockerReady()))('shell in the Docker sandbox', () => {
  it('runs shell in the sandbox container when the isolation says docker, sharing the workspace', async () => {
    const h = await start((_req, n) =>
      n === 0
        ? { toolCalls: [{ name: 'write_file', arguments: { path: 'in/data.txt', content: 'from the host' } }] }
        : n === 1
          ? {
              toolCalls: [
                {
                  name: 'shell',
                  arguments: { command: 'id -u; cat in/data.txt; echo; echo from the box > in/out.txt' },
                },
              ],
            }
          : n === 2
            ? { toolCalls: [{ name: 'read_file', arguments: { path: 'in/out.txt' } }] }
            : { content: 'done' },
    );
    const r = await h.ask({ prompt: 'x', tools: ['files', 'shell'], isolation: { mode: 'docker' } });
    expect(r.status).toBe('succeeded');
    expect(r.toolCalls.map((c) => c.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(r.toolCalls[1]?.result).toBe('exit code 0\n65534\nfrom the host\n');
    expect(r.toolCalls[2]?.result).toBe('from the box\n');
  });
});
