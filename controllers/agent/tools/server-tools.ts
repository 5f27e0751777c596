// The tools of connected MCP servers (ToolServer resources) as agent tools, named
// `<server>__<tool>`; a call goes through runner.callServerTool within the per-tool
// timeout. An allow-list names one (`tickets__create`) or all of a server (`tickets__*`).

import type { ServerTool } from '../../../reconciler/types.js';
import { SERVER_TOOL_SEPARATOR } from '../../../reconciler/agent-contract.js';
import type { AgentTool } from './types.js';

export function serverToolName(t: ServerTool): string {
  return `${t.server}${SERVER_TOOL_SEPARATOR}${t.tool}`;
}

/** Whether an allow-list entry admits this server tool. */
export function allowsServerTool(entry: string, t: ServerTool): boolean {
  return entry === serverToolName(t) || entry === `${t.server}${SERVER_TOOL_SEPARATOR}*`;
}

export function serverTool(t: ServerTool): AgentTool {
  return {
    name: serverToolName(t),
    description: `${t.description} (tool ${t.tool} of the MCP server ${t.server})`.trim(),
    parameters: t.inputSchema,
    execute: async (args, run) => {
      const call = run.runner.callServerTool;
      if (!call) return { status: 'failed', text: 'error: no MCP servers here', error: 'no MCP servers here' };
      const r = await call(t.server, t.tool, args, run.signal);
      return r.isError
        ? { status: 'failed', text: `error: ${r.text}`, error: r.text }
        : { status: 'succeeded', text: r.text };
    },
  };
}
