// What a task run needs from the Runtime and its own spec, with the Runtime's defaults
// (reconciler/runtime-defaults.ts) when the configuration has no Runtime: concurrency,
// queue limit, retry policy and the whole-task timeout.

import type { Resource, Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import type { RuntimeSpec, TaskSpec } from '../../reconciler/specs.js';
import { parseDuration } from '../../reconciler/duration.js';
import { runtimeWithDefaults } from '../../reconciler/runtime-defaults.js';
import { resolveRetry, type ResolvedRetry } from './retry.js';

const DEFAULT_TASK_TIMEOUT = '1h';

export interface TaskSettings {
  concurrency: number;
  queueLimit: number;
  retry: ResolvedRetry;
  timeoutMs: number;
}

export function runtimeOf(snapshot: Snapshot): Resource<'Runtime'> | undefined {
  return resourcesOfKind(snapshot, 'Runtime')[0];
}

export function taskSettings(task: TaskSpec, runtime: RuntimeSpec | undefined): TaskSettings {
  const c = runtimeWithDefaults(runtime).concurrency;
  const maximum = Math.max(1, c.maximum);
  const wanted = task.concurrency ?? c.default;
  return {
    // Never above the Runtime's hard maximum, whatever the task asks for.
    concurrency: Math.max(1, Math.min(maximum, Math.floor(wanted))),
    queueLimit: Math.max(0, c.queueLimit),
    retry: resolveRetry(runtime?.retry, task.retry),
    timeoutMs: parseDuration(task.timeout ?? DEFAULT_TASK_TIMEOUT),
  };
}
