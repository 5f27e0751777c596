// Exponential backoff delays, shared by the work queue, the remote source's fetch retries,
// the gateway's reply delivery and subtask retries, so the formula lives in one place.

export interface BackoffOptions {
  /** Delay after the first failure. */
  initialMs: number;
  /** Growth per failure; 2 unless given. */
  factor?: number;
  /** Ceiling, applied before and after jitter. */
  maxMs: number;
  /** Largest exponent used, so that a long failure streak cannot overflow to Infinity. */
  maxExponent?: number;
  /** Spread as a fraction of the delay (0.2 = ±20%); without it the delay is exact and `random` is never called. */
  jitter?: number;
  random?: () => number;
}

/** The delay after `attempt` (1-based) consecutive failures. */
export function backoffMs(attempt: number, o: BackoffOptions): number {
  const base = Math.min(o.maxMs, o.initialMs * (o.factor ?? 2) ** Math.min(attempt - 1, o.maxExponent ?? Infinity));
  if (o.jitter === undefined) return base;
  return Math.min(o.maxMs, base * (1 + o.jitter * (2 * (o.random ?? Math.random)() - 1)));
}
