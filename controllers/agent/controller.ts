// The agent controller: no kind of its own; it provides runner.runAgent, the one loop
// behind prompt subtasks and `caduceus ask` (and, in stage 2, the proxy's
// `caduceus/agent` model and free text in chat), with its trace store and metrics.

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import type { AgentLoop } from './loop.js';
import { TraceStore } from './trace-store.js';
import { agentMetrics } from './metrics.js';

// Stage 2 hooks in at these seams (nothing else in the loop needs to change):
// - Proxy `model: caduceus/agent`: controllers/proxy/routes/chat-completions.ts calls
//   env.runner.runAgent({ messages: the client's, stream: body.stream, trigger: {source:
//   'proxy', actor: key id}, signal: closed with the request, onProgress }) and maps
//   `answerDelta` events to SSE content deltas, toolStart/toolEnd to SSE comments; the
//   model is listed by routes/models.ts. Validation: a Proxy field that enables it pushes
//   an entry on DocFacts.agentUses (reconciler/resource-facts.ts) and cross-refs.ts
//   reports it without an llm upstream, like prompt subtasks today.
// - Gateway free text: controllers/gateway/commands.ts parses `ask …` (or any
//   non-command), the job queue re-checks the role when the job starts and calls
//   runner.runAgent with the role's tools as AgentRequest.tools; a role's agent
//   permissions push agentUses and agentTools the same way.
// - Scheduled delivery: the tasks controller's scheduler gets the TaskReport (prompt
//   subtasks carry `agent.answer`) and hands it to a runner method the gateway provides.
// - `remember` and skill auto-creation: AgentLoopDeps.onFinished below gets every
//   finished run with its depth; for depth 0, `result.notes` become a memory proposal
//   and a succeeded run with toolCalls.length >= Runtime skills.autoCreateThreshold
//   becomes Skill YAML (skill → `skill` step, shell → `run`, read/write_file → `file`,
//   http_get → `http`; arguments are in result.toolCalls) sent to runner.proposeSkill.
//   The whole trace is also in TraceStore.get(result.runId).
export function register(deps: ControllerDeps): Registration {
  const loopDeps = {
    snapshot: deps.snapshot,
    runner: deps.runner,
    runs: new RunStore(deps.store),
    traces: new TraceStore(deps.store),
    metrics: agentMetrics(deps.metrics),
    stateDir: deps.stateDir,
    ...(deps.configDir ? { configDir: deps.configDir } : {}),
    log: deps.log.child({ component: 'agent' }),
  };
  // The loop (the openai SDK, ajv for tool arguments, undici, globbing) loads with the first
  // agent run, not when `up` starts.
  let loop: Promise<AgentLoop> | undefined;
  const agent = (): Promise<AgentLoop> =>
    (loop ??= import('./loop.js').then(({ AgentLoop }) => new AgentLoop(loopDeps)));
  return { controllers: [], runner: { runAgent: async (req) => (await agent()).run(req) } };
}
