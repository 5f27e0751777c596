// Prometheus metrics of the reconciler itself, registered on the registry that `up`
// serves at /metrics (controllers add theirs to the same registry).

import { Counter, Gauge, Histogram, type Registry } from './prom-metrics.js';
import type { CoreStore } from './state/core-store.js';

export interface LoopMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'kind' | 'result'>;
  reconciles: Counter<'kind' | 'result'>;
  revisions: Counter<'outcome'>;
  queueDepth: Gauge;
}

export function createLoopMetrics(
  registry: Registry,
  sources: {
    core: CoreStore;
    fetchErrors(): number;
    /** Unix ms of the last successful fetch (remote) or read (local) of the git source. */
    lastSuccessfulFetch(): number | undefined;
    appliedRevision(): string | undefined;
  },
): LoopMetrics {
  const reconcileDuration = new Histogram({
    name: 'caduceus_reconcile_duration_seconds',
    help: 'Time one reconcile of one resource took.',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const reconciles = new Counter({
    name: 'caduceus_reconciles_total',
    help: 'Reconciles by kind and result (success, terminal, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  });
  const revisions = new Counter({
    name: 'caduceus_revisions_total',
    help: 'Revisions seen by outcome (accepted, rejected, held, applied).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'caduceus_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [registry],
  });
  new Gauge({
    name: 'caduceus_resources',
    help: 'Resources by kind and Ready condition status.',
    labelNames: ['kind', 'ready'] as const,
    registers: [registry],
    collect() {
      this.reset();
      // Counted here rather than in SQL, so the query is the same on SQLite and PostgreSQL.
      const rows = new Map<string, { kind: string; ready: string; n: number }>();
      for (const st of sources.core.allStatus()) {
        const ready = st.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
        const row = rows.get(`${st.kind}/${ready}`) ?? { kind: st.kind, ready, n: 0 };
        row.n++;
        rows.set(`${st.kind}/${ready}`, row);
      }
      for (const r of rows.values()) this.set({ kind: r.kind, ready: r.ready }, r.n);
    },
  });
  new Gauge({
    name: 'caduceus_applied_revision_info',
    help: 'The revision currently applied (value is always 1).',
    labelNames: ['revision'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const rev = sources.appliedRevision();
      if (rev) this.set({ revision: rev }, 1);
    },
  });
  new Gauge({
    name: 'caduceus_git_fetch_errors',
    help: 'Consecutive git fetch errors of the source (0 when the last fetch worked).',
    registers: [registry],
    collect() {
      this.set(sources.fetchErrors());
    },
  });
  new Gauge({
    name: 'caduceus_git_last_successful_fetch_timestamp_seconds',
    help:
      'Unix time of the last successful fetch of the git source ' +
      '(for a local repository: the last read of its branch).',
    registers: [registry],
    collect() {
      const at = sources.lastSuccessfulFetch();
      if (at !== undefined) this.set(at / 1000);
    },
  });
  return { registry, reconcileDuration, reconciles, revisions, queueDepth };
}
