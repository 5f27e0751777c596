// The `caduceus` subcommands of this controller: none. `caduceus ask` lives with `run` in
// app/commands/ (it composes every controller, which a controller may not do), and
// `caduceus runs show` prints agent traces from app/commands/runs.ts.

import type { CommandSpec } from '../../reconciler/types.js';

export const commands: readonly CommandSpec[] = [];
