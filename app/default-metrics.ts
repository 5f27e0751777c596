// Node's default metrics (process_*, nodejs_*) under their standard names, which dashboards
// expect, on the registry `up` serves. They are registered after the first sync, or at the
// first scrape if that comes sooner: loading them (~70 modules with @opentelemetry/api, ~80 ms)
// would otherwise sit in front of /readyz.

import { loadDefaultMetrics, type Registry } from '../reconciler/prom-metrics.js';

/**
 * The three `*_total` gauges are dropped: a name ending in _total promises a counter
 * (promtool check metrics), and each repeats a gauge that stays.
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** Registers the default metrics on `registry` on the first call; later calls do nothing. */
export function defaultMetricsOnce(registry: Registry): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    loadDefaultMetrics()({ register: registry });
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  };
}
