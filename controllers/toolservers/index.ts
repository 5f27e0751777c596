// The toolservers controller's public face: kind ToolServer (MCP servers whose tools the
// agent may use) and register(), which connects them and provides runner.serverTools and
// runner.callServerTool (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

export const toolServersModule: ControllerModule = {
  name: 'toolservers',
  kinds: ['ToolServer'],
  commands,
  register,
};
