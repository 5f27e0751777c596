// The subagent service shared by the Task controller and the runner: starts task runs
// (admitted against the queue limit, tracked while in flight), and is what `runTask`
// calls for the CLI, the gateway and the proxy.

import type { ControllerDeps, Resource, RunOptions, Snapshot, TaskReport } from '../../reconciler/types.js';
import { getResource, resourcesOfKind } from '../../reconciler/types.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { WaitingQueue } from './bounded-pool.js';
import { ActiveRuns } from './active-runs.js';
import { admitTask, type AdmittedRun } from './task-runner.js';

/** The error recorded on runs cancelled because this process stopped; such runs are run again. */
export const INTERRUPTED = 'interrupted: caduceus stopped while the run was in progress';

export class TaskService {
  readonly runs: RunStore;
  readonly active = new ActiveRuns();
  private readonly queue = new WaitingQueue();

  constructor(private readonly deps: ControllerDeps) {
    this.runs = new RunStore(deps.store);
  }

  /** Admits and starts a run in the background; throws QueueFull when the queue is full. */
  start(task: Resource<'Task'>, snapshot: Snapshot, opts: RunOptions): AdmittedRun {
    const run = admitTask(
      { runner: this.deps.runner, runs: this.runs, queue: this.queue, log: this.deps.log },
      task,
      snapshot,
      opts,
    );
    this.active.add(run);
    return run;
  }

  /** Runner entry: runs the task of the current snapshot by name and resolves with its report. */
  runTask(name: string, opts: RunOptions): Promise<TaskReport> {
    const snapshot = this.deps.snapshot();
    const task = getResource(snapshot, 'Task', name);
    if (!task) {
      const known = resourcesOfKind(snapshot, 'Task').map((t) => t.metadata.name);
      return Promise.reject(
        new CaduceusError('TaskNotFound', `no task named "${name}" in the configuration`, {
          hint: known.length ? `known tasks: ${known.sort().join(', ')}` : 'the configuration declares no Task',
        }),
      );
    }
    try {
      return this.start(task, snapshot, opts).done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Cancels every run in flight and waits for their clean-up. */
  stop(): Promise<void> {
    return this.active.cancelAll(INTERRUPTED);
  }
}
