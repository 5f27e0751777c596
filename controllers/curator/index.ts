// The curator's public face: kind Curator, the `caduceus curator` subcommand, and
// register(), which builds the controller (controller.ts).

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register } from './controller.js';

export { register };

/** See run.ts; loaded on first call, so registering the curator does not load a run's code. */
export async function runCurator(...args: Parameters<typeof import('./run.js').runCurator>) {
  return (await import('./run.js')).runCurator(...args);
}

/** See propose-skill.ts; loaded on first call. */
export async function proposeNewSkill(...args: Parameters<typeof import('./propose-skill.js').proposeNewSkill>) {
  return (await import('./propose-skill.js')).proposeNewSkill(...args);
}

export const curatorModule: ControllerModule = {
  name: 'curator',
  kinds: ['Curator'],
  commands,
  register,
};
