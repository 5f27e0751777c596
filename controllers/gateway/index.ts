// The gateway's public face: chat platforms (Slack, Discord, Telegram, a signed generic
// webhook) trigger tasks and skills for the people a GatewayPolicy in git names, and
// nobody else. register() (controller.ts) wires the controller and the platform routes
// mounted on the `up` server (POST /gateway/{slack,discord,telegram,webhook}).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

export const gatewayModule: ControllerModule = {
  name: 'gateway',
  kinds: ['GatewayPolicy'],
  commands,
  register,
};
