// TEMPORARY STUB: the subagents controller registers nothing yet.
import type { ControllerDeps, Registration } from '../../reconciler/types.js';

export function register(_deps: ControllerDeps): Registration {
  return { controllers: [] };
}
