// MCP tool calls count against the Runtime's limits: at most `concurrency.maximum` run at
// once across every MCP client of the process, at most `concurrency.queueLimit` wait, and
// a call beyond that is refused with QueueFull (the client sees it as a tool error).

import { CaduceusError } from '../../../reconciler/errors.js';
import type { RuntimeSpec } from '../../../reconciler/specs.js';

export class RunGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** Runs job when a place is free under the Runtime's limits read now. */
  async run<T>(limits: RuntimeSpec['concurrency'], job: () => Promise<T>): Promise<T> {
    const maximum = Math.max(1, limits.maximum);
    if (this.running >= maximum) {
      if (this.waiting.length >= limits.queueLimit) {
        throw new CaduceusError(
          'QueueFull',
          `${this.running} MCP tool call(s) are running and ${this.waiting.length} waiting, the Runtime's limit`,
          { hint: 'wait for running calls, or raise spec.concurrency.queueLimit in the Runtime' },
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      // The place passes straight to the next waiter, so `running` never drops below it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
