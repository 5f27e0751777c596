// MCP over Streamable HTTP at `/mcp` on a Proxy listener: one SDK transport and server per
// session, the session bound to the key that opened it, a bounded number kept (the oldest
// closed first). The proxy's pipeline has already checked the key and the rate limit and
// read the body within maxBodyBytes; this only routes to the session.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../../reconciler/types.js';
import { errorMessage } from '../../../reconciler/errors.js';
import { sendJson } from '../../../reconciler/http-json.js';
import { createMcpServer, type McpServerEnv } from './server.js';

interface Session {
  keyId: string;
  server: Server;
  transport: StreamableHTTPServerTransport;
}

export class McpHttpSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly env: McpServerEnv,
    private readonly log: Logger,
    private readonly maxSessions = 64,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** One request to /mcp: body is the parsed JSON of a POST, undefined for GET and DELETE. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown, keyId: string): Promise<void> {
    const auth: AuthInfo = { token: '', clientId: keyId, scopes: [] };
    const withAuth = Object.assign(req, { auth });
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = this.sessions.get(sid);
      // Another key's session is as unknown to this key as one that never existed.
      if (!s || s.keyId !== keyId) return rpcError(res, 404, ErrorCode.InvalidRequest, 'session not found');
      return s.transport.handleRequest(withAuth, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return rpcError(res, 400, ErrorCode.InvalidRequest, 'no valid mcp-session-id: start with an initialize request');
    }
    const server = createMcpServer(this.env);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { keyId, server, transport });
        this.evictOldest();
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(withAuth, res, body);
  }

  /** Tells every connected client that tools/list has changed. */
  notifyToolsChanged(): void {
    for (const [id, s] of this.sessions) {
      s.server.sendToolListChanged().catch((err: unknown) => {
        this.log.debug('mcp tools/list_changed not delivered', { session: id, error: errorMessage(err) });
      });
    }
  }

  /** Ends every session (their open streams too), so a listener can drain. */
  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }

  private evictOldest(): void {
    while (this.sessions.size > this.maxSessions) {
      const [id, s] = this.sessions.entries().next().value as [string, Session];
      this.sessions.delete(id);
      void s.server.close().catch(() => undefined);
    }
  }
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}
