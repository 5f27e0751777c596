// The proxy's public face: kind Proxy (the team's skills and an upstream behind an
// OpenAI-compatible endpoint), the `caduceus proxy` subcommand, and register()
// (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register, ProxyController, type ProxyControllerOptions } from './controller.js';

export { register, ProxyController, type ProxyControllerOptions };

export const proxyModule: ControllerModule = {
  name: 'proxy',
  kinds: ['Proxy'],
  commands,
  register,
};
