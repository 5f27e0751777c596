// Per-key rate limit of the proxy: a token bucket holding `requestsPerMinute` tokens that
// refills continuously, so bursts up to the limit pass and a steady rate above it is
// refused. The gateway's per-user limit is another algorithm (gateway/sliding-window.ts).

export interface RateDecision {
  ok: boolean;
  remaining: number;
  /** Whole seconds until one token is back (for retry-after). */
  retryAfterS: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private perMinute: number) {}

  setLimit(perMinute: number): void {
    this.perMinute = perMinute;
  }

  get limit(): number {
    return this.perMinute;
  }

  take(key: string, now = Date.now()): RateDecision {
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens), retryAfterS: 0 };
    }
    return { ok: false, remaining: 0, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000)) };
  }
}
