// Sends a reply through a platform's HTTP API with undici, retrying what may succeed
// later (network errors, 429, 5xx) with exponential backoff. Other 4xx answers are final:
// the request itself is wrong and sending it again would not help.

import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../../reconciler/backoff.js';

export interface HttpCall {
  url: string;
  method?: 'POST' | 'PATCH';
  headers?: Record<string, string>;
  body: string;
  /** Why a 2xx answer is still a failure (Slack's `{"ok": false}`), or undefined when it is not. */
  refusal?: (body: string) => string | undefined;
}

export interface DeliveryOptions {
  /** Total attempts including the first (default 3). */
  attempts: number;
  /** Delay before the second attempt; doubles each time (default 500 ms). */
  baseDelayMs: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called after each failed attempt that will be retried. */
  onRetry?: (attempt: number, error: string, delayMs: number) => void;
}

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 3, baseDelayMs: 500, timeoutMs: 10_000 };

const MAX_DELAY_MS = 30_000;

export async function deliver(call: HttpCall, opts: DeliveryOptions = DEFAULT_DELIVERY): Promise<DeliveryResult> {
  // undici is loaded with the first reply, not when the gateway starts.
  const { request } = await import('undici');
  let last: DeliveryResult = { ok: false, attempts: 0, error: 'not attempted' };
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const res = await request(call.url, {
        method: call.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...call.headers },
        body: call.body,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        const refused = call.refusal?.(text);
        if (refused === undefined) return { ok: true, attempts: attempt, status: res.statusCode };
        // The API read the request and said no: sending it again would not change that.
        return { ok: false, attempts: attempt, status: res.statusCode, error: refused };
      }
      last = {
        ok: false,
        attempts: attempt,
        status: res.statusCode,
        error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}`,
      };
      if (res.statusCode !== 429 && res.statusCode < 500) return last;
      const ra = Number(res.headers['retry-after']);
      if (Number.isFinite(ra) && ra >= 0) retryAfterMs = ra * 1000;
    } catch (err) {
      last = { ok: false, attempts: attempt, error: err instanceof Error ? err.message : String(err) };
      if (opts.signal?.aborted) return last;
    }
    if (attempt < opts.attempts) {
      const delay =
        retryAfterMs !== undefined
          ? Math.min(MAX_DELAY_MS, retryAfterMs)
          : backoffMs(attempt, { initialMs: opts.baseDelayMs, maxMs: MAX_DELAY_MS });
      opts.onRetry?.(attempt, last.error ?? 'failed', delay);
      try {
        await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
      } catch {
        return last;
      }
    }
  }
  return last;
}
