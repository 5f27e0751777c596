// Top-level agent runs within the Runtime's limits, whoever starts them (the proxy, chat,
// prompt subtasks, the CLI): at most concurrency.maximum at once, the next queueLimit
// waiting in arrival order, the rest refused with QueueFull before anything is recorded.
// Delegated children and tool calls do not take these slots (a run never waits on a slot
// its own caller holds); their shell and skill work is bounded by the execution side.

import { CaduceusError } from '../../reconciler/errors.js';

export interface SlotLimits {
  maximum: number;
  queueLimit: number;
}

export class RunSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** Read on every admission, so a new revision's limits apply to the next run. */
  constructor(private readonly limits: () => SlotLimits) {}

  get inFlight(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Resolves with the release function once a slot is free, or at once when `signal`
   * aborts the wait (the run then starts cancelled and ends at once). Throws QueueFull.
   */
  async acquire(signal: AbortSignal | undefined): Promise<() => void> {
    const { maximum, queueLimit } = this.limits();
    if (this.running < Math.max(1, maximum) && this.waiting.length === 0) {
      this.running++;
      return this.releaser();
    }
    if (signal?.aborted) return () => {};
    if (this.waiting.length >= Math.max(0, queueLimit)) {
      throw new CaduceusError(
        'QueueFull',
        `queue full: ${this.running} agent run(s) in flight (concurrency.maximum ${maximum}) and ` +
          `${this.waiting.length} waiting (queueLimit ${queueLimit})`,
        { hint: 'try again when running work has finished, or raise spec.concurrency in the Runtime' },
      );
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.releaser());
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(() => {});
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      const maximum = Math.max(1, this.limits().maximum);
      while (this.running < maximum && this.waiting.length > 0) {
        this.running++;
        (this.waiting.shift() as () => void)();
      }
    };
  }
}
