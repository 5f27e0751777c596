// The `caduceus` subcommands of this controller, kept apart from its code so the CLI can
// list and dispatch them without loading the controller.

import type { CommandSpec } from '../../reconciler/types.js';

export const commands: readonly CommandSpec[] = [
  {
    name: 'proxy',
    summary: 'proxy test: send a request to the running proxy',
    subcommands: ['test'],
    load: () => import('./cli.js'),
  },
];
