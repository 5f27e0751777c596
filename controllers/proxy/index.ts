// The proxy controller folder's entry: registers the controller for kind `Proxy`, which
// serves the team's skills and an upstream behind an OpenAI-compatible endpoint.

import type { ControllerDeps, Registration } from '../../reconciler/types.js';
import { ProxyController, type ProxyControllerOptions } from './controller.js';

export { ProxyController, type ProxyControllerOptions };

export function register(deps: ControllerDeps, opts: ProxyControllerOptions = {}): Registration {
  const controller = new ProxyController(deps, opts);
  return { controllers: [controller], stop: () => controller.stop() };
}
