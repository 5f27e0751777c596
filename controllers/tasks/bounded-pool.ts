// Backpressure for subtasks. Each task runs its subtasks through a pool of `concurrency`
// workers; what waits beyond that is counted process-wide against the Runtime's
// queueLimit, and a task whose waiting subtasks would exceed it is rejected whole.

import { CaduceusError } from '../../reconciler/errors.js';

/** Subtasks admitted but not yet started, across every task run in this process. */
export class WaitingQueue {
  private waiting = 0;

  /** Counted subtasks waiting right now. */
  size(): number {
    return this.waiting;
  }

  /** Reserves `count` waiting places or throws QueueFull; the reservation is released as work starts. */
  reserve(count: number, limit: number, what: string): Reservation {
    if (count > 0 && this.waiting + count > limit) {
      throw new CaduceusError(
        'QueueFull',
        `queue full: ${what} would add ${count} waiting subtask(s) to the ${this.waiting} already waiting, ` +
          `beyond the queue limit of ${limit}`,
        {
          hint:
            'wait for running tasks to finish and try again, lower the number of subtasks, ' +
            'or raise spec.concurrency.queueLimit in the Runtime',
        },
      );
    }
    this.waiting += count;
    let left = count;
    return {
      release: (n = 1) => {
        const k = Math.min(n, left);
        left -= k;
        this.waiting -= k;
      },
      releaseAll: () => {
        this.waiting -= left;
        left = 0;
      },
    };
  }
}

export interface Reservation {
  release(n?: number): void;
  releaseAll(): void;
}

/**
 * Runs work(item) for every item with at most `limit` in flight, in order of the items.
 * onStart(index) is called as each item leaves the queue. work must not throw: its
 * result (a failure included) is the value.
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
  onStart?: (index: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      onStart?.(i);
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
