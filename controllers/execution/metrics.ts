// Prometheus series of the execution controller: processes and skill runs by backend and
// outcome, and how long they took. Registered once per registry.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ExecutionMetrics {
  processes: Counter<'mode' | 'status'>;
  processSeconds: Histogram<'mode'>;
  skillRuns: Counter<'skill' | 'status'>;
  /** Reports the work slots in use and the runs waiting for one, read at each scrape. */
  observeSlots(read: () => { running: number; waiting: number }): void;
}

function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function executionMetrics(registry: Registry): ExecutionMetrics {
  let readSlots: () => { running: number; waiting: number } = () => ({ running: 0, waiting: 0 });
  once(
    registry,
    'caduceus_work_slots',
    () =>
      new Gauge({
        name: 'caduceus_work_slots',
        help: 'Runs holding a work slot (state="running") and waiting for one (state="waiting")',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const s = readSlots();
          this.set({ state: 'running' }, s.running);
          this.set({ state: 'waiting' }, s.waiting);
        },
      }),
  );
  return {
    observeSlots: (read) => {
      readSlots = read;
    },
    processes: once(
      registry,
      'caduceus_exec_processes_total',
      () =>
        new Counter({
          name: 'caduceus_exec_processes_total',
          help: 'Shell processes run, by backend and outcome',
          labelNames: ['mode', 'status'],
          registers: [registry],
        }),
    ),
    processSeconds: once(
      registry,
      'caduceus_exec_process_duration_seconds',
      () =>
        new Histogram({
          name: 'caduceus_exec_process_duration_seconds',
          help: 'Wall time of one shell process, by backend',
          labelNames: ['mode'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers: [registry],
        }),
    ),
    skillRuns: once(
      registry,
      'caduceus_skill_runs_total',
      () =>
        new Counter({
          name: 'caduceus_skill_runs_total',
          help: 'Skill runs, by skill and outcome',
          labelNames: ['skill', 'status'],
          registers: [registry],
        }),
    ),
  };
}
