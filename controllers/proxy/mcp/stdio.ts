// MCP over stdio (`caduceus mcp`, the transport editors start as a command): one session
// on stdin/stdout. The caller tells it of each new snapshot; a changed tool list is sent
// to the client as notifications/tools/list_changed.

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Snapshot } from '../../../reconciler/types.js';
import { createMcpServer, type McpServerEnv } from './server.js';
import { toolListKey } from './tools.js';

export interface StdioSession {
  /** Resolves when the client closes stdin (or close() is called). */
  closed: Promise<void>;
  /** Call after the snapshot env.snapshot() returns has changed. */
  snapshotChanged(snap: Snapshot): void;
  close(): Promise<void>;
}

export async function serveStdio(
  env: McpServerEnv,
  streams: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream } = {},
): Promise<StdioSession> {
  const server = createMcpServer(env);
  const transport = new StdioServerTransport(
    streams.stdin as import('node:stream').Readable | undefined,
    streams.stdout as import('node:stream').Writable | undefined,
  );
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  const stdin = streams.stdin ?? process.stdin;
  // The SDK transport does not notice the end of stdin: the client going away ends the session.
  stdin.once('end', () => void server.close());
  await server.connect(transport);
  let key = toolListKey(env.snapshot(), env.tasks());
  return {
    closed,
    snapshotChanged: (snap) => {
      const next = toolListKey(snap, env.tasks());
      if (next === key) return;
      key = next;
      server.sendToolListChanged().catch(() => undefined);
    },
    close: () => server.close(),
  };
}
