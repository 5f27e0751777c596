// One limit on the work in flight in this process, whoever asks for it: task subtasks,
// the proxy, the gateway, `caduceus run`, the agent's tool calls. At most `maximum` runs
// hold a slot; the next `queueLimit` wait for one in arrival order; beyond that a run is
// refused with QueueFull. The execution controller takes a slot for every top-level skill
// run and every exec, so nested skill calls never wait on their own caller.

import { CaduceusError } from './errors.js';

export interface SlotLimits {
  /** Runs at once (the Runtime's concurrency.maximum). */
  maximum: number;
  /** Runs waiting for a slot before new ones are refused (the Runtime's queueLimit). */
  queueLimit: number;
}

interface Waiter {
  grant(): void;
  reject(err: unknown): void;
}

export class WorkSlots {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  /** Read on every admission, so a new revision's limits apply to the next run. */
  constructor(private readonly limits: () => SlotLimits) {}

  get inFlight(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Resolves with the function that gives the slot back, once one is free. Throws
   * QueueFull when the queue is full, and RunCancelled when `signal` aborts the wait.
   */
  acquire(what: string, signal?: AbortSignal): Promise<() => void> {
    const { maximum, queueLimit } = this.limits();
    if (signal?.aborted) return Promise.reject(cancelled(what));
    if (this.running < Math.max(1, maximum) && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= Math.max(0, queueLimit)) {
      return Promise.reject(
        new CaduceusError(
          'QueueFull',
          `queue full: ${what} would wait behind ${this.waiting.length} runs for one of ${maximum} slots ` +
            `(queue limit ${queueLimit})`,
          { hint: 'try again when running work has finished, or raise spec.concurrency in the Runtime' },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(cancelled(what));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Runs fn holding a slot. */
  async run<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(what, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      this.pump();
    };
  }

  private pump(): void {
    const maximum = Math.max(1, this.limits().maximum);
    while (this.running < maximum && this.waiting.length > 0) {
      this.running++;
      (this.waiting.shift() as Waiter).grant();
    }
  }
}

function cancelled(what: string): CaduceusError {
  return new CaduceusError('RunCancelled', `${what} was cancelled while it waited for a free slot`);
}
