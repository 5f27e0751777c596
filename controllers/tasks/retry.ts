// Retry policy of subtasks: the task's retry overrides the Runtime's field by field, and
// failed attempts wait an exponentially growing, jittered delay before the next one.

import type { RetryPolicy } from '../../reconciler/specs.js';
import { parseDuration, timerDelay } from '../../reconciler/duration.js';
import { backoffMs } from '../../reconciler/backoff.js';
import { defaultRuntime } from '../../reconciler/runtime-defaults.js';

export interface ResolvedRetry {
  /** Total attempts including the first. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  jitter: number;
}

export function resolveRetry(runtime: RetryPolicy | undefined, task: Partial<RetryPolicy> | undefined): ResolvedRetry {
  const p: RetryPolicy = { ...defaultRuntime().retry, ...runtime, ...task };
  return {
    maxAttempts: Math.max(1, Math.floor(p.maxAttempts)),
    initialDelayMs: parseDuration(p.initialDelay),
    maxDelayMs: parseDuration(p.maxDelay),
    factor: Math.max(1, p.factor),
    jitter: Math.min(1, Math.max(0, p.jitter)),
  };
}

/** The delay before the next attempt, after `failedAttempt` (1-based) failed. */
export function backoffDelay(p: ResolvedRetry, failedAttempt: number, random: () => number = Math.random): number {
  return backoffMs(failedAttempt, {
    initialMs: p.initialDelayMs,
    factor: p.factor,
    maxMs: p.maxDelayMs,
    jitter: p.jitter,
    random,
  });
}

/** The smallest and largest delay backoffDelay can return after `failedAttempt`. */
export function delayBounds(p: ResolvedRetry, failedAttempt: number): { min: number; max: number } {
  return { min: backoffDelay(p, failedAttempt, () => 0), max: backoffDelay(p, failedAttempt, () => 1) };
}

/** Waits ms; resolves false early when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), timerDelay(ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
