// One connected MCP server of a ToolServer, through the official SDK's client: a stdio
// command (wrapped in `docker run -i` with the sandbox's restrictions when the Runtime's
// execution mode is docker or swarm, see sandbox-command.ts) or a Streamable HTTP URL with
// its resolved header secrets.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeSpec, ToolServerSpec } from '../../reconciler/specs.js';
import { isolates, sandboxCommand } from './sandbox-command.js';

/** Bytes of a server's stderr kept for the reason of a failed start. */
const STDERR_TAIL = 2048;

export interface ConnectOptions {
  /** The ToolServer's name (labels its sandbox container). */
  name: string;
  spec: ToolServerSpec;
  /** Resolved header values (secrets), by header name. */
  headers: Record<string, string>;
  timeoutMs: number;
  runtime: RuntimeSpec;
  configDir?: string;
}

export class ServerConnection {
  private constructor(
    private readonly client: Client,
    readonly tools: readonly Tool[],
    private readonly timeoutMs: number,
  ) {}

  /** Connects and lists the tools; throws when the server does not start or answer in time. */
  static async open(opts: ConnectOptions): Promise<ServerConnection> {
    const client = new Client({ name: 'caduceus-agent', version: '0.1.0' });
    const transport = transportFor(opts);
    // The server's (or the docker CLI's) last words, for the reason of a failed start.
    let stderr = '';
    if (transport instanceof StdioClientTransport)
      transport.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
      });
    try {
      await client.connect(transport, { timeout: opts.timeoutMs });
      const listed = await client.listTools(undefined, { timeout: opts.timeoutMs });
      const wanted = opts.spec.tools;
      const tools = wanted ? listed.tools.filter((t) => wanted.includes(t.name)) : listed.tools;
      return new ServerConnection(client, tools, opts.timeoutMs);
    } catch (err) {
      await client.close().catch(() => undefined);
      const said = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-3)
        .join(' ')
        .slice(-500);
      if (said && err instanceof Error) err.message = `${err.message} (stderr: ${said})`;
      // The SDK's message has the answer's body, not its status: a 401 or 404 says most.
      if (err instanceof StreamableHTTPError && err.code !== undefined)
        err.message = `HTTP ${err.code}: ${err.message}`;
      throw err;
    }
  }

  /** True until the transport closed (the server exited, the session ended). */
  get open(): boolean {
    return this.client.transport !== undefined;
  }

  async call(
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ isError: boolean; text: string }> {
    const r = (await this.client.callTool({ name: tool, arguments: args }, undefined, {
      signal,
      timeout: this.timeoutMs,
    })) as CallToolResult;
    const text = r.content.map((c) => (c.type === 'text' ? c.text : `[${c.type} content]`)).join('\n');
    return { isError: r.isError === true, text };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function transportFor(opts: ConnectOptions): Transport {
  const { spec } = opts;
  if (spec.url) {
    return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: opts.headers } });
  }
  const [command, ...args] = spec.command ?? [];
  if (!command) throw new Error('spec.command is empty');
  if (isolates(opts.runtime)) {
    const sandbox = sandboxCommand(opts.name, [command, ...args], opts.runtime, opts.configDir);
    return new StdioClientTransport({
      command: sandbox.command,
      args: sandbox.args,
      env: { ...getDefaultEnvironment(), ...sandbox.env },
      stderr: 'pipe',
    });
  }
  return new StdioClientTransport({
    command,
    args,
    env: getDefaultEnvironment(),
    stderr: 'pipe',
    ...(opts.configDir ? { cwd: opts.configDir } : {}),
  });
}
