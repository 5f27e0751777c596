// The tasks controller's public face (subagents): kind Task and register(), which builds
// the Task controller and the runner's runTask (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

export const tasksModule: ControllerModule = {
  name: 'tasks',
  kinds: ['Task'],
  commands,
  register,
};
