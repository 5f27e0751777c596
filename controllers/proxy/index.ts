// The proxy's public face: kind Proxy (the team's skills and an upstream behind an
// OpenAI-compatible endpoint, and as MCP tools at /mcp), the `caduceus proxy` subcommand,
// register() (controller.ts), and the stdio MCP session `caduceus mcp` runs.

import type { ControllerModule } from '../../reconciler/types.js';
import { commands } from './cli-commands.js';
import { register, ProxyController, type ProxyControllerOptions } from './controller.js';

export { register, ProxyController, type ProxyControllerOptions };
export type { StdioSession } from './mcp/stdio.js';
export { RunGate } from './mcp/run-gate.js';

/**
 * What `caduceus mcp` (app/commands/mcp.ts) serves over stdio: the same tools as `/mcp`.
 * The MCP SDK is loaded here, not when `up` composes the controllers.
 */
export async function serveStdio(
  ...args: Parameters<typeof import('./mcp/stdio.js').serveStdio>
): ReturnType<typeof import('./mcp/stdio.js').serveStdio> {
  return (await import('./mcp/stdio.js')).serveStdio(...args);
}

export const proxyModule: ControllerModule = {
  name: 'proxy',
  kinds: ['Proxy'],
  commands,
  register,
};
