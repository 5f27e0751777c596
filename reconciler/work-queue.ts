// The per-resource work queue, in the manner of client-go's: a key is queued at most once,
// a key being processed is never processed twice at the same time (a second add marks it
// dirty and it runs again after), failures back off exponentially per key, and keys are
// taken in apply order (Runtime before Skill before Task …) so dependencies come first.
// `concurrency` bounds the keys being worked on; a handler may give its place back before
// it ends (release) when what is left is only waiting, e.g. for its outcome to be written.

import { backoffMs } from './backoff.js';

export interface WorkQueueOptions {
  concurrency: number;
  /** First retry delay after a failure (default 500 ms). */
  baseDelayMs: number;
  /** Cap on the retry delay (default 5 min). */
  maxDelayMs: number;
  /** Lower runs first; keys of one priority run in FIFO order. */
  priority(key: string): number;
}

export class WorkQueue {
  /**
   * Per priority, the keys in FIFO order from its head: taking moves the head, since
   * Array.shift copies the rest of a long array (a revision of 10,000 keys took 10,000 shifts).
   */
  private readonly buckets: Array<{ keys: string[]; head: number }> = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  private pumpScheduled = false;

  /** Places taken by running handlers that have not released them. */
  private busy = 0;

  constructor(
    private readonly handler: (key: string, release: () => void) => Promise<void>,
    private readonly opts: WorkQueueOptions,
  ) {}

  /** Queues key now; cancels a pending delayed add of it. */
  add(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const p = Math.max(0, this.opts.priority(key));
    while (this.buckets.length <= p) this.buckets.push({ keys: [], head: 0 });
    (this.buckets[p] as { keys: string[] }).keys.push(key);
    this.pump();
  }

  /** Queues key after ms, unless it is added sooner. An earlier pending add wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Records a failure and schedules a retry with exponential backoff; returns the failure count. */
  backoff(key: string): { failures: number; delayMs: number } {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delayMs = backoffMs(n, { initialMs: this.opts.baseDelayMs, maxMs: this.opts.maxDelayMs, maxExponent: 30 });
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
    this.addAfter(key, delayMs);
    return { failures: n, delayMs };
  }

  /** Clears the failure count of key after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get depth(): number {
    return this.queued.size;
  }

  get active(): number {
    return this.processing.size;
  }

  /** Resolves when nothing is queued or processing (delayed adds do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and clears timers; in-flight handlers finish on their own. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queued.clear();
    this.buckets.length = 0;
  }

  private take(): string | undefined {
    for (const b of this.buckets) {
      if (b.head === b.keys.length) continue;
      const key = b.keys[b.head] as string;
      b.head++;
      if (b.head === b.keys.length) {
        b.keys.length = 0;
        b.head = 0;
      } else if (b.head >= 1024 && b.head * 2 >= b.keys.length) {
        // A bucket that never empties (keys keep coming) drops its taken part now and then.
        b.keys.splice(0, b.head);
        b.head = 0;
      }
      return key;
    }
    return undefined;
  }

  /**
   * The next key starts on a later turn of the event loop: a revision of thousands of
   * resources whose reconciles finish without I/O would otherwise run as one chain of
   * microtasks and starve the HTTP server (/healthz, webhooks) and the ref watcher.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopped && this.busy < this.opts.concurrency) {
      const key = this.take();
      if (key === undefined) break;
      this.queued.delete(key);
      this.processing.add(key);
      this.busy++;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        this.busy--;
        this.pumpSoon();
      };
      void this.handler(key, release)
        .catch(() => undefined) // the handler reports its own errors; the queue only schedules
        .finally(() => {
          this.processing.delete(key);
          if (!released) {
            released = true;
            this.busy--;
          }
          if (this.dirty.delete(key)) this.add(key);
          this.pumpSoon();
          if (this.queued.size === 0 && this.processing.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}
