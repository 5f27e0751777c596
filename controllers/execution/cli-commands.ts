// The `caduceus` subcommands of this controller, kept apart from its code so the CLI can
// list and dispatch them without loading the controller.

import type { CommandSpec } from '../../reconciler/types.js';

export const commands: readonly CommandSpec[] = [
  {
    name: 'sandbox',
    summary: 'sandbox build: make the local Docker sandbox image',
    subcommands: ['build'],
    load: () => import('./cli.js'),
  },
];
