// Get-or-create for prom-client metrics on the registry `up` serves at /metrics. A
// controller may register again on the same registry (a second app in one process, a
// re-registration); it then shares the series instead of tripping prom-client's
// "already registered" error.

import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration } from 'prom-client';
import { Counter, Gauge, Histogram, type Registry } from './prom-metrics.js';

type Config<C> = Omit<C, 'registers'>;

function getOrCreate<M>(
  registry: Registry,
  name: string,
  type: abstract new (...args: never[]) => M,
  make: () => M,
): M {
  const found = registry.getSingleMetric(name);
  if (found === undefined) return make();
  if (!(found instanceof type)) throw new Error(`metric ${name} is already registered with another type`);
  return found;
}

export function registeredCounter<T extends string>(
  registry: Registry,
  config: Config<CounterConfiguration<T>>,
): Counter<T> {
  return getOrCreate(registry, config.name, Counter<T>, () => new Counter({ ...config, registers: [registry] }));
}

export function registeredHistogram<T extends string>(
  registry: Registry,
  config: Config<HistogramConfiguration<T>>,
): Histogram<T> {
  return getOrCreate(registry, config.name, Histogram<T>, () => new Histogram({ ...config, registers: [registry] }));
}

export function registeredGauge<T extends string>(registry: Registry, config: Config<GaugeConfiguration<T>>): Gauge<T> {
  return getOrCreate(registry, config.name, Gauge<T>, () => new Gauge({ ...config, registers: [registry] }));
}
