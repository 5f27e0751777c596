// The agent controller's public face: no kinds, no subcommands of its own (`caduceus ask`
// is a core command, since it composes every controller like `run`), and register(),
// which provides runner.runAgent (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

export const agentModule: ControllerModule = {
  name: 'agent',
  kinds: [],
  commands,
  register,
};
