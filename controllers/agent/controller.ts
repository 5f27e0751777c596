// The agent controller: no kind of its own; it provides runner.runAgent, the one loop
// behind prompt subtasks, `caduceus ask`, the proxy's `caduceus/agent` model and free text
// in chat, with its trace store, metrics and the proposals a finished run leads to.

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import type { AgentLoop, AgentLoopDeps } from './loop.js';
import { TraceStore } from './trace-store.js';
import { agentMetrics } from './metrics.js';
import { FollowUps } from './follow-ups.js';

// Who reaches the loop (none of them imports this folder; all go through runner.runAgent):
// prompt subtasks (controllers/tasks), `caduceus ask` (app/commands), the proxy's
// `caduceus/agent` model (controllers/proxy/routes/agent-completion.ts) and `ask …` or
// free text in chat (controllers/gateway). What a successful run leaves behind, its
// `remember` notes and, when it was long, the run as a skill, is proposed afterwards by
// follow-ups.ts through runner.proposeMemory and runner.proposeSkill (the curator's).
export function register(deps: ControllerDeps): Registration {
  const traces = new TraceStore(deps.store);
  const metrics = agentMetrics(deps.metrics);
  const log = deps.log.child({ component: 'agent' });
  const followUps = new FollowUps({
    snapshot: deps.snapshot,
    runner: deps.runner,
    traces,
    metrics,
    log,
    configDir: deps.configDir,
  });
  const loopDeps: AgentLoopDeps = {
    snapshot: deps.snapshot,
    runner: deps.runner,
    runs: new RunStore(deps.store),
    traces,
    metrics,
    stateDir: deps.stateDir,
    configDir: deps.configDir,
    log,
    onFinished: (result, req, depth) => followUps.onFinished(result, req, depth),
  };
  // The loop (the openai SDK, ajv for tool arguments, undici, globbing) loads with the first
  // agent run, not when `up` starts.
  let loop: Promise<AgentLoop> | undefined;
  const agent = (): Promise<AgentLoop> =>
    (loop ??= import('./loop.js').then(({ AgentLoop }) => new AgentLoop(loopDeps)));
  return {
    controllers: [],
    runner: { runAgent: async (req) => (await agent()).run(req) },
    // Runs are over by now; what may still be going is their workspaces' removal.
    stop: async () => {
      await followUps.stop();
      if (loop) await (await loop).settle();
    },
  };
}
