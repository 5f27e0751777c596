// Prometheus series of the execution controller: processes and skill runs by backend and
// outcome, and how long they took. Registered once per registry.

import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter, registeredGauge, registeredHistogram } from '../../reconciler/metric-registry.js';

export interface ExecutionMetrics {
  processes: Counter<'mode' | 'status'>;
  processSeconds: Histogram<'mode'>;
  skillRuns: Counter<'skill' | 'status'>;
  /** Reports the work slots in use and the runs waiting for one, read at each scrape. */
  observeSlots(read: () => { running: number; waiting: number }): void;
}

export function executionMetrics(registry: Registry): ExecutionMetrics {
  let readSlots: () => { running: number; waiting: number } = () => ({ running: 0, waiting: 0 });
  registeredGauge(registry, {
    name: 'caduceus_work_slots',
    help: 'Runs holding a work slot (state="running") and waiting for one (state="waiting")',
    labelNames: ['state'] as const,
    collect() {
      const s = readSlots();
      this.set({ state: 'running' }, s.running);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  return {
    observeSlots: (read) => {
      readSlots = read;
    },
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
