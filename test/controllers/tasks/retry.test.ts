// The retry policy: field-by-field override of the Runtime's by the task's, and the
// exponential, jittered, capped delays between attempts.

import { describe, expect, it } from 'vitest';
import { backoffDelay, delayBounds, resolveRetry, sleep } from '../../../controllers/tasks/retry.js';

describe('retry policy', () => {
  it('lets the task override the Runtime field by field, over built-in defaults', () => {
    const runtime = { maxAttempts: 5, initialDelay: '2s', maxDelay: '30s', factor: 3, jitter: 0.1 };
    expect(resolveRetry(runtime, { maxAttempts: 2 })).toEqual({
      maxAttempts: 2,
      initialDelayMs: 2000,
      maxDelayMs: 30_000,
      factor: 3,
      jitter: 0.1,
    });
    expect(resolveRetry(undefined, undefined)).toEqual({
      maxAttempts: 3,
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      factor: 2,
      jitter: 0.2,
    });
  });

  it('doubles the delay each attempt, within ±jitter, and never beyond maxDelay', () => {
    const p = resolveRetry(undefined, { initialDelay: '100ms', maxDelay: '1s', factor: 2, jitter: 0.2 });
    expect([1, 2, 3, 4].map((k) => backoffDelay(p, k, () => 0.5))).toEqual([100, 200, 400, 800]);
    expect(delayBounds(p, 2)).toEqual({ min: 160, max: 240 });
    // Attempt 5 would be 1600 ms: capped, and jitter cannot push it over the cap.
    expect(delayBounds(p, 5)).toEqual({ min: 800, max: 1000 });
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(p, 3);
      expect(d).toBeGreaterThanOrEqual(320);
      expect(d).toBeLessThanOrEqual(480);
    }
  });

  it('stops waiting as soon as the run is cancelled', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 50);
    expect(await sleep(10_000, ac.signal)).toBe(false);
    // Well before the 10 s it was asked to wait, with room for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(await sleep(10, new AbortController().signal)).toBe(true);
  });
});
