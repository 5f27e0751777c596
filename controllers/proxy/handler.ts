// The proxy's request pipeline: request id → bearer key → per-key rate limit → route.
// Every response carries x-request-id; every failure leaves in OpenAI's error shape.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, matchKey } from './auth.js';
import { ProxyHttpError, badRequest, invalidKey, rateLimited, routeNotFound, sendError } from './openai-errors.js';
import type { ProxyEnv, ProxyState, RequestInfo } from './context.js';
import { listModels, retrieveModel } from './routes/models.js';
import { chatCompletions } from './routes/chat-completions.js';
import { PASSTHROUGH_POSTS, passthroughModel, passthroughPost } from './routes/passthrough.js';
import { handleCors } from './cors.js';
import { SKILL_PREFIX, findSkill } from './skills.js';
import { modelLabel } from './metrics.js';
import { MCP_PATH, mcpRoute } from './routes/mcp.js';
import { errorMessage } from '../../reconciler/errors.js';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && CLIENT_ID.test(given)) return given;
  const u = randomUUID();
  return `req_${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(14, 18)}${u.slice(19, 23)}${u.slice(24)}`;
}

const NO_MODELS: ReadonlySet<string> = new Set();

function skillLabel(env: ProxyEnv, model: string): string | undefined {
  const skill = findSkill(env.snapshot(), model);
  return skill ? SKILL_PREFIX + skill.metadata.name : undefined;
}

export function createHandler(env: ProxyEnv): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const info: RequestInfo = { id: requestId(req), keyId: '', started: performance.now(), route: 'other' };
    res.setHeader('x-request-id', info.id);
    const state = env.current();
    res.once('close', () => {
      const proxy = state?.name ?? 'none';
      const model = modelLabel(
        info.model,
        (m) => (m.startsWith(SKILL_PREFIX) ? skillLabel(env, m) : undefined),
        state?.upstream?.knownModelIds() ?? NO_MODELS,
      );
      env.metrics.requests.inc({ proxy, model, status: String(res.statusCode) });
      env.metrics.latency.observe({ proxy, route: info.route }, (performance.now() - info.started) / 1000);
    });
    handle(env, state, req, res, info).catch((err: unknown) => {
      if (err instanceof ProxyHttpError) return sendError(res, err);
      env.log.error('proxy request failed', { requestId: info.id, error: errorMessage(err) });
      sendError(
        res,
        new ProxyHttpError(
          500,
          'server_error',
          'internal_error',
          `The proxy failed while handling request ${info.id}; see the Caduceus log.`,
        ),
      );
    });
  };
}

async function handle(
  env: ProxyEnv,
  state: ProxyState | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  if (!state) {
    res.setHeader('connection', 'close');
    throw new ProxyHttpError(
      503,
      'server_error',
      'proxy_unavailable',
      'This proxy is not serving: see `caduceus status` for the Proxy resource.',
    );
  }
  if (handleCors(req, res, state.spec.cors?.allowedOrigins ?? [])) return;
  const token = bearerToken(req);
  if (!token) throw invalidKey("You didn't provide an API key. Send it in the Authorization header as `Bearer <key>`.");
  const keyId = matchKey(state.keys, token);
  if (!keyId) throw invalidKey('Incorrect API key provided. Use a key configured in the Proxy resource.');
  info.keyId = keyId;

  const rate = env.limiter.take(keyId);
  res.setHeader('x-ratelimit-limit-requests', String(env.limiter.limit));
  res.setHeader('x-ratelimit-remaining-requests', String(rate.remaining));
  if (!rate.ok) throw rateLimited(env.limiter.limit, rate.retryAfterS);

  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/v1/models') {
    info.route = 'models';
    return listModels(env, state, res, info);
  }
  if (req.method === 'GET' && path.startsWith('/v1/models/')) {
    info.route = 'models';
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/models/'.length));
    } catch {
      throw badRequest('the model id in the URL is not valid percent-encoding', 'model', 'invalid_model_id');
    }
    if (!id.startsWith(SKILL_PREFIX) && state.upstream) {
      info.model = id;
      return passthroughModel(env, state, res, info, id);
    }
    return retrieveModel(env, state, res, info, id);
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') {
    info.route = 'chat_completions';
    return chatCompletions(env, state, req, res, info);
  }
  if (req.method === 'POST' && path.startsWith('/v1/') && PASSTHROUGH_POSTS.has(path.slice(3))) {
    info.route = path.slice(4);
    return passthroughPost(env, state, req, res, info, path.slice(3));
  }
  if (path === MCP_PATH) return mcpRoute(env, state, req, res, info);
  throw routeNotFound(req.method ?? 'GET', path);
}
