// One connected MCP server of a ToolServer, through the official SDK's client: a stdio
// command (wrapped in `docker run -i` with the sandbox's restrictions when the Runtime's
// execution mode is docker) or a Streamable HTTP URL with its resolved header secrets.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeSpec, ToolServerSpec } from '../../reconciler/specs.js';

export interface ConnectOptions {
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
    try {
      await client.connect(transport, { timeout: opts.timeoutMs });
      const listed = await client.listTools(undefined, { timeout: opts.timeoutMs });
      const wanted = opts.spec.tools;
      const tools = wanted ? listed.tools.filter((t) => wanted.includes(t.name)) : listed.tools;
      return new ServerConnection(client, tools, opts.timeoutMs);
    } catch (err) {
      await client.close().catch(() => undefined);
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
  if (opts.runtime.execution.mode === 'docker') {
    // The server runs in the sandbox like a shell step: no network unless the Runtime allows
    // it, no capabilities, a read-only root, the configuration read-only at /config.
    const iso = opts.runtime.isolation;
    const docker = [
      'run',
      '-i',
      '--rm',
      `--network=${iso.network}`,
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--read-only',
      '--tmpfs=/tmp',
      '--user=65534:65534',
      ...(opts.configDir ? [`--volume=${opts.configDir}:/config:ro`, '--workdir=/config'] : []),
      '--label=caduceus.toolserver=1',
      iso.image,
      command,
      ...args,
    ];
    return new StdioClientTransport({ command: 'docker', args: docker, stderr: 'ignore' });
  }
  return new StdioClientTransport({
    command,
    args,
    env: getDefaultEnvironment(),
    stderr: 'ignore',
    ...(opts.configDir ? { cwd: opts.configDir } : {}),
  });
}
