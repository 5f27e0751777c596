// Prometheus metrics of the proxy, on the registry `up` serves at /metrics. Created once
// per registry (a second registration on the same registry reuses them).

import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter, registeredHistogram } from '../../reconciler/metric-registry.js';

export interface ProxyMetrics {
  requests: Counter<'proxy' | 'model' | 'status'>;
  latency: Histogram<'proxy' | 'route'>;
  upstreamLatency: Histogram<'proxy' | 'status'>;
  firstByte: Histogram<'proxy' | 'target'>;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function proxyMetrics(registry: Registry): ProxyMetrics {
  return {
    requests: registeredCounter(registry, {
      name: 'caduceus_proxy_requests_total',
      help: 'Proxy requests by Proxy resource, model and HTTP status.',
      labelNames: ['proxy', 'model', 'status'] as const,
    }),
    latency: registeredHistogram(registry, {
      name: 'caduceus_proxy_request_duration_seconds',
      help: 'Time from request to the end of the response, by route.',
      labelNames: ['proxy', 'route'] as const,
      buckets: BUCKETS,
    }),
    upstreamLatency: registeredHistogram(registry, {
      name: 'caduceus_proxy_upstream_duration_seconds',
      help: 'Time until the upstream answered with headers, by upstream status.',
      labelNames: ['proxy', 'status'] as const,
      buckets: BUCKETS,
    }),
    firstByte: registeredHistogram(registry, {
      name: 'caduceus_proxy_stream_first_byte_seconds',
      help: 'Streaming responses: time from request to the first body byte sent, by target (skill, upstream).',
      labelNames: ['proxy', 'target'] as const,
      buckets: BUCKETS,
    }),
  };
}

/**
 * The `model` label comes from a bounded set, never straight from the client: a served
 * skill's `skill/<name>` (aliases folded into the name), a model the upstream lists, or
 * `other` (unknown or unlisted) and `none` (no model in the request).
 */
export function modelLabel(
  model: string | undefined,
  isSkill: (model: string) => string | undefined,
  upstreamModels: ReadonlySet<string>,
): string {
  if (!model) return 'none';
  const skill = isSkill(model);
  if (skill) return skill;
  return upstreamModels.has(model) ? model : 'other';
}
