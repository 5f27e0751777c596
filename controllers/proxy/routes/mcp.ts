// GET, POST and DELETE /mcp: the Model Context Protocol (Streamable HTTP) on the proxy's
// listener, after the same key check and rate limit as the OpenAI routes. A POST body is
// read within limits.maxBodyBytes and parsed here; the session layer does the rest.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import { readBody } from '../body.js';
import { routeNotFound } from '../openai-errors.js';
import { sendJson } from '../../../reconciler/http-json.js';

export const MCP_PATH = '/mcp';

export async function mcpRoute(
  env: ProxyEnv,
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (!env.mcp || !state.spec.mcp.enabled || !['GET', 'POST', 'DELETE'].includes(method))
    throw routeNotFound(method, MCP_PATH);
  info.route = 'mcp';
  let body: unknown;
  if (method === 'POST') {
    const raw = await readBody(req, state.spec.limits.maxBodyBytes);
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      const message = `the body is not JSON: ${(err as Error).message}`;
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message }, id: null });
    }
  }
  await env.mcp.handle(req, res, body, info.keyId);
}
