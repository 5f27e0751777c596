// One MCP server session built with the official SDK's low-level Server (the tools come
// from git, as JSON Schemas, not from code): tools/list and tools/call over McpToolEnv,
// progress notifications when the client asks for them. Both transports use it: stdio
// (`caduceus mcp`) and Streamable HTTP (`/mcp` on a Proxy listener).

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RunProgress } from '../../../reconciler/types.js';
import { callTool, listTools, type McpToolEnv } from './tools.js';

export const SERVER_INFO = { name: 'caduceus', version: '0.1.0' };

const INSTRUCTIONS =
  "Each tool is one of the team's skills, reviewed in git: call it with its params and the " +
  'result is the output of the run. Tools named task_<name> run a whole task and return its report.';

export interface McpServerEnv extends McpToolEnv {
  /** Who is asking when the transport carries no key (stdio: the local user). */
  actor?: string;
}

export function createMcpServer(env: McpServerEnv): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true } },
    instructions: INSTRUCTIONS,
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listTools(env.snapshot(), env.tasks()) }));
  server.setRequestHandler(CallToolRequestSchema, (req, extra) => {
    const token = req.params._meta?.progressToken;
    let step = 0;
    const onProgress =
      token === undefined
        ? undefined
        : (p: RunProgress): void => {
            const message = [p.subtask, p.state, p.message].filter(Boolean).join(' ');
            extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: ++step, message },
              })
              .catch(() => undefined);
          };
    // Over HTTP the key's id arrives as the client id (never the key itself).
    const actor = extra.authInfo?.clientId ?? env.actor;
    return callTool(env, req.params.name, req.params.arguments, {
      trigger: actor === undefined ? { source: 'mcp' } : { source: 'mcp', actor },
      signal: extra.signal,
      onProgress,
    });
  });
  return server;
}
