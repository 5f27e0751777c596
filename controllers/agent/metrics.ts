// Prometheus series of the agent: runs by outcome, model turns, tool calls by tool and
// outcome, tokens by kind, and upstream latency per model call. Registered once per registry.

import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter, registeredHistogram } from '../../reconciler/metric-registry.js';

export interface AgentMetrics {
  runs: Counter<'status' | 'stop_reason'>;
  turns: Counter<'model'>;
  toolCalls: Counter<'tool' | 'outcome'>;
  tokens: Counter<'model' | 'kind'>;
  upstreamSeconds: Histogram<'model'>;
  proposals: Counter<'kind' | 'outcome'>;
}

export function agentMetrics(registry: Registry): AgentMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    registeredCounter(registry, { name, help, labelNames });
  return {
    runs: counter('caduceus_agent_runs_total', 'Agent runs, by outcome and why they stopped', [
      'status',
      'stop_reason',
    ]),
    turns: counter('caduceus_agent_model_turns_total', 'Model calls made by agent runs', ['model']),
    toolCalls: counter('caduceus_agent_tool_calls_total', 'Tool calls made by agent runs, by tool and outcome', [
      'tool',
      'outcome',
    ]),
    tokens: counter('caduceus_agent_tokens_total', 'Tokens reported by the upstream, by kind (prompt, completion)', [
      'model',
      'kind',
    ]),
    proposals: counter(
      'caduceus_agent_proposals_total',
      'What finished runs became: memory and skill proposals, by outcome (proposed, unchanged, skipped, failed)',
      ['kind', 'outcome'],
    ),
    upstreamSeconds: registeredHistogram(registry, {
      name: 'caduceus_agent_upstream_seconds',
      help: 'Time of one model call, retries included',
      labelNames: ['model'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    }),
  };
}
