// The `caduceus` subcommands of this controller: none (ToolServer status is in
// `caduceus status`), kept so every controller folder has the same shape.

import type { CommandSpec } from '../../reconciler/types.js';

export const commands: readonly CommandSpec[] = [];
