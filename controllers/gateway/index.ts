// The gateway controller: chat platforms (Slack, Discord, Telegram, a signed generic
// webhook) trigger tasks and skills for the people a GatewayPolicy in git names, and
// nobody else. register() wires the controller for kind GatewayPolicy and the platform
// routes mounted on the `up` server (POST /gateway/{slack,discord,telegram,webhook}).

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { createController } from './controller.js';

export function register(deps: ControllerDeps, opts: GatewayOptions = {}): Registration {
  const gw = new Gateway(deps, opts);
  const controller = createController(gw, deps.configDir ? { configDir: deps.configDir } : {});
  return {
    controllers: [controller],
    routes: gw.routes(),
    stop: () => gw.stop(),
  };
}
