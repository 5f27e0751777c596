// Shared set-up of the agent tests: a scripted model on 127.0.0.1, a configuration
// directory of real YAML whose Runtime points spec.llm at it, a real SQLite state file,
// and the real execution, tasks and agent registrations composed as `caduceus run` does.
// Everything made is removed after each test of the file that calls agentHarness().

import { afterEach } from 'vitest';
import { rmSync } from 'node:fs';
import { Registry } from 'prom-client';
import { compose, lateBoundRunner } from '../../../app/compose.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { ControllerDeps, Runner, Snapshot } from '../../../reconciler/types.js';
import type { AgentRequest, AgentResult } from '../../../reconciler/agent-contract.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as tasks } from '../../../controllers/tasks/index.js';
import { register as agent } from '../../../controllers/agent/index.js';
import { TraceStore } from '../../../controllers/agent/trace-store.js';
import { tempDir } from '../../helpers/temp.js';
import { configDir, doc, loadSnapshot } from '../../helpers/config.js';
import { MODEL_KEY, startScriptedModel, type Script, type ScriptedModel } from './scripted-model.js';

export { doc } from '../../helpers/config.js';
export const KEY_ENV = 'CADUCEUS_TEST_LLM_KEY';

export interface AgentHarness {
  model: ScriptedModel;
  runner: Runner;
  runs: RunStore;
  traces: TraceStore;
  metrics: Registry;
  snapshot: Snapshot;
  configDir: string;
  stateDir: string;
  ask(req: Omit<AgentRequest, 'trigger'> & Partial<Pick<AgentRequest, 'trigger'>>): Promise<AgentResult>;
}

export interface HarnessOptions {
  /** Runtime spec fields besides llm (agent limits, execution, concurrency, …). */
  runtime?: Record<string, unknown>;
  /** Fields laid over the llm block (model, stream, maxRetries, …). */
  llm?: Record<string, unknown>;
  /** More files of the configuration (skills, tasks, context). */
  files?: Record<string, string>;
}

/** The Runtime document pointing at `url` with the key taken from KEY_ENV. */
export function runtimeWithLlm(url: string, opts: HarnessOptions = {}): string {
  return doc('Runtime', 'default', {
    ...opts.runtime,
    llm: { baseURL: url, model: 'scripted-1', apiKey: { valueFrom: { env: KEY_ENV } }, ...opts.llm },
  });
}

/** Call at the top level of a test file; returns a function that builds one harness per call. */
export function agentHarness(): (script: Script, opts?: HarnessOptions) => Promise<AgentHarness> {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()?.();
    delete process.env[KEY_ENV];
  });
  return async (script, opts = {}) => {
    const model = await startScriptedModel(script);
    cleanups.push(() => model.close());
    process.env[KEY_ENV] = MODEL_KEY;
    const dir = configDir({ 'runtime.yaml': runtimeWithLlm(model.url, opts), ...opts.files }, 'caduceus-agent-config-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const snapshot = await loadSnapshot(dir);
    const stateDir = tempDir('caduceus-agent-state-');
    const store = new StateStore({ stateDir });
    const { runner, provide } = lateBoundRunner();
    const metrics = new Registry();
    const deps: ControllerDeps = {
      store,
      events: new CoreStore(store),
      log: silentLogger,
      stateDir,
      snapshot: () => snapshot,
      runner,
      metrics,
      configDir: dir,
    };
    const composition = compose(deps, provide, [execution, tasks, agent]);
    cleanups.push(async () => {
      await composition.stop();
      store.close();
      rmSync(stateDir, { recursive: true, force: true });
    });
    const run = runner.runAgent?.bind(runner);
    if (!run) throw new Error('the late-bound runner has no runAgent');
    return {
      model,
      runner,
      runs: new RunStore(store),
      traces: new TraceStore(store),
      metrics,
      snapshot,
      configDir: dir,
      stateDir,
      ask: (req) => run({ trigger: { source: 'test' }, ...req }),
    };
  };
}
