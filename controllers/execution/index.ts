// The execution controller's public face: kinds Runtime and Skill, the `caduceus sandbox`
// subcommand, and register(), which builds the controllers and the runner's runSkill and
// exec (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

export const executionModule: ControllerModule = {
  name: 'execution',
  kinds: ['Runtime', 'Skill'],
  commands,
  register,
};
