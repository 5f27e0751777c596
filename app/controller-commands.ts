// Every controller's `caduceus` subcommands, in module order (the same order as
// ALL_MODULES in compose.ts; a test holds the two together). Importing this loads only
// the small cli-commands.ts of each controller, not the controllers themselves.

import type { CommandSpec } from '../reconciler/types.js';
import { commands as execution } from '../controllers/execution/cli-commands.js';
import { commands as tasks } from '../controllers/tasks/cli-commands.js';
import { commands as proxy } from '../controllers/proxy/cli-commands.js';
import { commands as gateway } from '../controllers/gateway/cli-commands.js';
import { commands as curator } from '../controllers/curator/cli-commands.js';
import { commands as agent } from '../controllers/agent/cli-commands.js';
import { commands as toolservers } from '../controllers/toolservers/cli-commands.js';

export const CONTROLLER_COMMANDS: readonly CommandSpec[] = [
  ...execution,
  ...tasks,
  ...proxy,
  ...gateway,
  ...curator,
  ...agent,
  ...toolservers,
];
