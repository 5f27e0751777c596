// prom-client's registry and metric classes, loaded file by file. Its index also loads the
// default Node metrics (with @opentelemetry/api), Summary, the Pushgateway and the cluster
// aggregator: ~80 CommonJS modules and ~90 ms of CPU that `up` does not need before ready.
// The classes are the very ones the index exports (one module cache), so `instanceof` and
// registries made from 'prom-client' elsewhere mix freely with these.

import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

/** prom-client's collectDefaultMetrics, loaded on the first call (the ~70 modules it needs). */
export function loadDefaultMetrics(): typeof Prom.collectDefaultMetrics {
  return require('prom-client/lib/defaultMetrics') as typeof Prom.collectDefaultMetrics;
}
