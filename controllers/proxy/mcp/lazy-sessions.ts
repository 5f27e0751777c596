// The `/mcp` endpoint of one Proxy, loaded on its first request: the MCP SDK (and zod)
// cost a Proxy no MCP client uses nothing at start-up, like the upstream's undici. Before
// the first request there are no sessions, so no tool change to tell anyone about.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, Snapshot } from '../../../reconciler/types.js';
import type { McpHttpSessions } from './http-sessions.js';
import type { McpServerEnv } from './server.js';

type ToolListKey = (snap: Snapshot, withTasks: boolean) => string;

export class LazyMcpSessions {
  private sessions: McpHttpSessions | undefined;
  private loading: Promise<McpHttpSessions> | undefined;
  private toolListKey: ToolListKey | undefined;
  /** The tool list the clients last saw (toolListKey). */
  private seen: string | undefined;

  constructor(
    private readonly env: McpServerEnv,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.sessions?.size ?? 0;
  }

  /** One request to /mcp: body is the parsed JSON of a POST, undefined for GET and DELETE. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown, keyId: string): Promise<void> {
    this.loading ??= this.load();
    const sessions = this.sessions ?? (await this.loading);
    await sessions.handle(req, res, body, keyId);
  }

  private async load(): Promise<McpHttpSessions> {
    const [{ McpHttpSessions }, { toolListKey }] = await Promise.all([
      import('./http-sessions.js'),
      import('./tools.js'),
    ]);
    this.toolListKey = toolListKey;
    this.seen = toolListKey(this.env.snapshot(), this.env.tasks());
    this.sessions = new McpHttpSessions(this.env, this.log);
    return this.sessions;
  }

  /** Sends tools/list_changed to the connected clients when the tools differ from what they saw. */
  toolsMaybeChanged(snap: Snapshot): void {
    if (!this.sessions || !this.toolListKey) return;
    const key = this.toolListKey(snap, this.env.tasks());
    if (key !== this.seen) this.sessions.notifyToolsChanged();
    this.seen = key;
  }

  async close(): Promise<void> {
    await this.sessions?.close();
  }
}
