// The ToolServer controller: one reconcile per MCP server the agent may use. It resolves
// the header secrets, connects (a stdio command or a URL) and lists the tools: Ready=True
// with the tool names, or Ready=False ToolServerFailed with the reason, and again after
// 30 s. It provides runner.serverTools / callServerTool, which the agent's toolset reads:
// a server that is not connected is simply absent.

import type {
  Controller,
  ControllerDeps,
  Observed,
  ReconcileContext,
  ReconcileResult,
  Registration,
  Resource,
  ServerTool,
} from '../../reconciler/types.js';
import { splitKey } from '../../reconciler/types.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { resolveSecret } from '../../reconciler/secrets.js';
import { parseDuration } from '../../reconciler/duration.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
// The MCP SDK's client is loaded with the first ToolServer, not when `up` starts.
import type { ServerConnection } from './connection.js';

const RETRY_MS = 30_000;

interface Entry {
  hash: string;
  connection: ServerConnection;
}

export function register(deps: ControllerDeps): Registration {
  const controller = new ToolServerController(deps);
  return {
    controllers: [controller],
    runner: {
      serverTools: () => controller.tools(),
      callServerTool: (server, tool, args, signal) => controller.call(server, tool, args, signal),
    },
    stop: () => controller.stop(),
  };
}

export class ToolServerController implements Controller {
  readonly kind = 'ToolServer' as const;
  private readonly servers = new Map<string, Entry>();

  constructor(private readonly deps: ControllerDeps) {}

  async reconcile(
    ctx: ReconcileContext,
    desired: Resource | undefined,
    _observed: Observed,
  ): Promise<ReconcileResult | undefined> {
    const { name } = splitKey(ctx.key);
    const current = this.servers.get(name);
    if (!desired) {
      await this.close(name);
      return;
    }
    const res = desired as Resource<'ToolServer'>;
    const runtime = effectiveRuntime(ctx.snapshot);
    // The Runtime decides where a command runs: a change of its execution or isolation reconnects.
    const hash = `${res.hash}:${JSON.stringify([runtime.execution, runtime.isolation])}`;
    if (current && current.hash === hash && current.connection.open) {
      this.ready(ctx, current.connection);
      return { requeueAfter: RETRY_MS };
    }
    await this.close(name);
    let headers: Record<string, string>;
    try {
      headers = Object.fromEntries(
        Object.entries(res.spec.headers ?? {}).map(([h, ref]) => [h, resolveSecret(ref, this.secretOpts())]),
      );
    } catch (err) {
      if (!(err instanceof CaduceusError && err.code === 'SecretUnset')) throw err;
      ctx.setCondition('Ready', 'False', 'SecretUnset', `${err.describe()}; the agent runs without this server`);
      return { requeueAfter: RETRY_MS };
    }
    try {
      const { ServerConnection } = await import('./connection.js');
      const connection = await ServerConnection.open({
        name,
        spec: res.spec,
        headers,
        timeoutMs: parseDuration(res.spec.timeout),
        runtime,
        ...(this.deps.configDir ? { configDir: this.deps.configDir } : {}),
      });
      this.servers.set(name, { hash, connection });
      this.ready(ctx, connection);
    } catch (err) {
      const what = res.spec.url ?? res.spec.command?.join(' ') ?? '';
      ctx.setObserved({ tools: [] });
      ctx.setCondition(
        'Ready',
        'False',
        'ToolServerFailed',
        `${what}: ${errorMessage(err)}; the agent runs without this server's tools`,
      );
    }
    return { requeueAfter: RETRY_MS };
  }

  /** The tools of every connected server, named for the agent. */
  tools(): ServerTool[] {
    const out: ServerTool[] = [];
    for (const [server, e] of this.servers) {
      if (!e.connection.open) continue;
      for (const t of e.connection.tools) {
        out.push({ server, tool: t.name, description: t.description ?? '', inputSchema: t.inputSchema });
      }
    }
    return out;
  }

  async call(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ isError: boolean; text: string }> {
    const e = this.servers.get(server);
    if (!e?.connection.open) return { isError: true, text: `the MCP server ${server} is not connected` };
    try {
      return await e.connection.call(tool, args, signal);
    } catch (err) {
      return { isError: true, text: errorMessage(err) };
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.servers.keys()].map((n) => this.close(n)));
  }

  private ready(ctx: ReconcileContext, c: ServerConnection): void {
    const names = c.tools.map((t) => t.name);
    ctx.setObserved({ tools: names });
    ctx.setCondition('Ready', 'True', 'ToolServerConnected', `${names.length} tool(s): ${names.join(', ')}`);
  }

  private async close(name: string): Promise<void> {
    const e = this.servers.get(name);
    this.servers.delete(name);
    await e?.connection.close().catch(() => undefined);
  }

  private secretOpts(): { baseDir?: string } {
    return this.deps.configDir ? { baseDir: this.deps.configDir } : {};
  }
}
