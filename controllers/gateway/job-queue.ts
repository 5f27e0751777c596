// A small bounded queue for gateway work: at most `concurrency` jobs run at once, the rest
// wait in arrival order. Waiting matters to the policy: a job's authorisation is checked
// again when it leaves the queue, so a person removed meanwhile never gets to run it.

export class JobQueue {
  private running = 0;
  private readonly waiting: Array<() => Promise<void>> = [];
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting = 1000,
  ) {}

  /** False when the queue is full or stopped: the caller refuses the request instead. */
  push(job: () => Promise<void>): boolean {
    if (this.stopped || this.waiting.length >= this.maxWaiting) return false;
    this.waiting.push(job);
    this.pump();
    return true;
  }

  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Drops waiting jobs; running ones finish (their signal is the owner's to abort). */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
    this.maybeIdle();
  }

  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift() as () => Promise<void>;
      this.running++;
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
          this.maybeIdle();
        });
    }
  }

  private maybeIdle(): void {
    if (this.running > 0 || this.waiting.length > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
