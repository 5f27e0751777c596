// Prometheus series of the execution controller: processes and skill runs by backend and
// outcome, and how long they took. Registered once per registry.

import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter, registeredHistogram } from '../../reconciler/metric-registry.js';

export interface ExecutionMetrics {
  processes: Counter<'mode' | 'status'>;
  processSeconds: Histogram<'mode'>;
  skillRuns: Counter<'skill' | 'status'>;
}

export function executionMetrics(registry: Registry): ExecutionMetrics {
  return {
    processes: registeredCounter(registry, {
      name: 'caduceus_exec_processes_total',
      help: 'Shell processes run, by backend and outcome',
      labelNames: ['mode', 'status'] as const,
    }),
    processSeconds: registeredHistogram(registry, {
      name: 'caduceus_exec_process_duration_seconds',
      help: 'Wall time of one shell process, by backend',
      labelNames: ['mode'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    }),
    skillRuns: registeredCounter(registry, {
      name: 'caduceus_skill_runs_total',
      help: 'Skill runs, by skill and outcome',
      labelNames: ['skill', 'status'] as const,
    }),
  };
}
