// The tasks controller (subagents): runs tasks (parallel subtasks with a bounded queue, retries,
// timeouts and cancellation), schedules them with cron, and provides `runTask` to the
// rest of Caduceus through the late-bound runner.

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { TaskService } from './task-service.js';
import { TaskController } from './task-controller.js';

export function register(deps: ControllerDeps): Registration {
  const svc = new TaskService(deps);
  const controller = new TaskController(deps, svc);
  return {
    controllers: [controller],
    runner: { runTask: (name, opts) => svc.runTask(name, opts) },
    stop: () => controller.stop(),
  };
}
