// The agent controller: no kind of its own; it provides runner.runAgent, the one loop
// behind prompt subtasks and `caduceus ask` (and, in stage 2, the proxy's
// `caduceus/agent` model and free text in chat), with its trace store and metrics.

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { AgentLoop } from './loop.js';
import { TraceStore } from './trace-store.js';
import { agentMetrics } from './metrics.js';

export function register(deps: ControllerDeps): Registration {
  const loop = new AgentLoop({
    snapshot: deps.snapshot,
    runner: deps.runner,
    runs: new RunStore(deps.store),
    traces: new TraceStore(deps.store),
    metrics: agentMetrics(deps.metrics),
    stateDir: deps.stateDir,
    ...(deps.configDir ? { configDir: deps.configDir } : {}),
    log: deps.log.child({ component: 'agent' }),
  });
  return { controllers: [], runner: { runAgent: (req) => loop.run(req) } };
}
