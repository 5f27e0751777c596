// Remembers what each platform already delivered (a signature, an interaction id, an
// update id) for longer than the platform's freshness window, so a captured request sent
// again is refused. Only verified requests are remembered, so nobody can fill it for free.

export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 100_000) {}

  /** True when `key` was seen within the window; otherwise remembers it and returns false. */
  checkAndRemember(key: string, now = Date.now()): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return true;
    this.seen.set(key, now + this.ttlMs);
    if (this.seen.size > this.maxEntries) this.evict(now);
    return false;
  }

  private evict(now: number): void {
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
    // Still full: drop the oldest (Map keeps insertion order). Their timestamps are stale by now.
    for (const k of this.seen.keys()) {
      if (this.seen.size <= this.maxEntries) break;
      this.seen.delete(k);
    }
  }
}
