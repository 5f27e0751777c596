// The task runs in flight in this process, by task name: what concurrencyPolicy looks at,
// what pruning a task and stopping the process cancel.

import type { AdmittedRun } from './task-runner.js';

export class ActiveRuns {
  private readonly byTask = new Map<string, Map<string, AdmittedRun>>();

  add(run: AdmittedRun): void {
    let runs = this.byTask.get(run.task);
    if (!runs) {
      runs = new Map();
      this.byTask.set(run.task, runs);
    }
    runs.set(run.runId, run);
    const remove = (): void => {
      runs.delete(run.runId);
      if (runs.size === 0 && this.byTask.get(run.task) === runs) this.byTask.delete(run.task);
    };
    run.done.then(remove, remove);
  }

  forTask(name: string): AdmittedRun[] {
    return [...(this.byTask.get(name)?.values() ?? [])];
  }

  all(): AdmittedRun[] {
    return [...this.byTask.values()].flatMap((m) => [...m.values()]);
  }

  cancelTask(name: string, reason: string): AdmittedRun[] {
    const runs = this.forTask(name);
    for (const r of runs) r.cancel(reason);
    return runs;
  }

  /** Cancels every run and waits until all have settled (backends clean up on abort). */
  async cancelAll(reason: string): Promise<void> {
    const runs = this.all();
    for (const r of runs) r.cancel(reason);
    await Promise.allSettled(runs.map((r) => r.done));
  }
}
