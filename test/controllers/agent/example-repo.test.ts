// The agent on the shipped example repository (examples/repo), its Runtime's llm pointed
// at the scripted model: the team context is injected, every skill is a tool with its
// typed params, and a skill call runs the real skill over the sample data.

import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { compose, lateBoundRunner } from '../../../app/compose.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
import { silentLogger } from '../../../reconciler/log.js';
import { exampleRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { loadSnapshot } from '../../helpers/config.js';
import { inOrder, MODEL_KEY, startScriptedModel, toolResults, type ModelRequest } from './scripted-model.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

describe('agent on examples/repo', () => {
  it('gives the model the team context and the six skills as tools, and runs incident-summary', async () => {
    const model = await startScriptedModel(
      inOrder([
        { toolCalls: [{ name: 'incident-summary', arguments: { since: '2026-11-01', severity: 'sev1' } }] },
        { content: 'One sev1 since November: credential stuffing.' },
      ]),
    );
    const dir = exampleRepo();
    const state = tempDir('caduceus-agent-example-state-');
    const previousKey = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = MODEL_KEY;
    cleanups.push(
      () => model.close(),
      () => rmSync(dir, { recursive: true, force: true }),
      () => rmSync(state, { recursive: true, force: true }),
      () => {
        if (previousKey === undefined) delete process.env.OPENAI_API_KEY;
        else process.env.OPENAI_API_KEY = previousKey;
      },
    );
    const runtime = join(dir, 'runtime.yaml');
    writeFileSync(runtime, readFileSync(runtime, 'utf8').replace('https://api.openai.com/v1', model.url));
    const snapshot = await loadSnapshot(dir);
    const store = new StateStore({ stateDir: state });
    const { runner, provide } = lateBoundRunner();
    const composition = compose(
      {
        store,
        events: new CoreStore(store),
        log: silentLogger,
        stateDir: state,
        snapshot: () => snapshot,
        runner,
        metrics: new Registry(),
        configDir: dir,
      },
      provide,
    );
    cleanups.push(async () => {
      await composition.stop();
      store.close();
    });

    const runAgent = runner.runAgent?.bind(runner);
    if (!runAgent) throw new Error('the agent controller did not bind runAgent on the late-bound runner');
    const r = await runAgent({ prompt: 'Any sev1 incidents since November?', trigger: { source: 'test' } });
    expect(r.status).toBe('succeeded');
    const first = model.requests[0] as ModelRequest;
    expect(first.body.model).toBe('gpt-4o-mini');
    const system = first.body.messages.filter((m) => m.role === 'system').map((m) => m.content ?? '');
    expect(system[1]).toContain('## context/team.md');
    expect(system[1]).toContain('Never propose a change to production on a Friday.');
    const tools = (first.body.tools ?? []).map((t) => t.function.name);
    expect(tools).toEqual([
      'read_file',
      'write_file',
      'list_files',
      'http_get',
      'auth-failure-audit',
      'compliance-check',
      'dependency-scan',
      'incident-summary',
      'infrastructure-audit',
      'log-search',
    ]);
    const summary = first.body.tools?.find((t) => t.function.name === 'incident-summary')?.function.parameters;
    expect(summary).toMatchObject({
      required: [],
      properties: { severity: { type: 'string', enum: ['all', 'sev1', 'sev2', 'sev3'], default: 'all' } },
    });
    const result = toolResults(model.requests[1] as ModelRequest)[0]?.content ?? '';
    expect(result).toContain('2026-11-12  sev1  monitoring  Credential stuffing against bastion hosts');
    expect(result).toContain('1 incident(s): 1 monitoring');
  });
});
