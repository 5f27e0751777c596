// Per-user sliding-window rate limit: at most `requests` accepted in any window of `perMs`.
// Kept in memory: a restart forgets the counts, which errs towards the user, never towards
// admitting someone the policy does not name.

export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  /** Records one request of `key` and says whether it is within the limit. */
  take(
    key: string,
    limit: { requests: number; perMs: number },
    now = Date.now(),
  ): { ok: true } | { ok: false; retryAfterMs: number } {
    const since = now - limit.perMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (list.length >= limit.requests) {
      this.hits.set(key, list);
      return { ok: false, retryAfterMs: Math.max(0, (list[0] as number) + limit.perMs - now) };
    }
    list.push(now);
    this.hits.set(key, list);
    if (this.hits.size > 10_000) this.sweep(since);
    return { ok: true };
  }

  private sweep(since: number): void {
    for (const [k, list] of this.hits) if (!list.some((t) => t > since)) this.hits.delete(k);
  }
}
