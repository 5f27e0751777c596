// What request handling sees: the Proxy's current configuration (swapped atomically at
// each reconcile, so key rotation never restarts a listener) and the shared services.

import type { Logger, Runner, Snapshot } from '../../reconciler/types.js';
import type { ProxySpec } from '../../reconciler/specs.js';
import type { KeyEntry } from './auth.js';
import type { TokenBucketLimiter } from './token-bucket.js';
import type { Upstream } from './upstream.js';
import type { ProxyMetrics } from './metrics.js';
import type { LazyMcpSessions } from './mcp/lazy-sessions.js';

export interface ProxyState {
  name: string;
  spec: ProxySpec;
  keys: readonly KeyEntry[];
  upstream: Upstream | undefined;
}

export interface ProxyEnv {
  /** The live configuration; undefined once the Proxy failed closed or was pruned. */
  current(): ProxyState | undefined;
  limiter: TokenBucketLimiter;
  snapshot(): Snapshot;
  runner: Runner;
  log: Logger;
  metrics: ProxyMetrics;
  /** The MCP sessions of this Proxy (`/mcp`). */
  mcp?: LazyMcpSessions;
}

/** Per-request facts the routes fill in for logs and metrics. */
export interface RequestInfo {
  id: string;
  keyId: string;
  started: number;
  route: string;
  model?: string;
}
