// The curator's public face: kind Curator, the `caduceus curator` subcommand, and
// register(), which builds the controller (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };
export { runCurator } from './run.js';
export { proposeNewSkill } from './propose-skill.js';

export const curatorModule: ControllerModule = {
  name: 'curator',
  kinds: ['Curator'],
  commands,
  register,
};
