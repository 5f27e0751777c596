// The endpoints OpenAI clients call besides chat, passed to the upstream unchanged:
// POST /v1/responses (Codex CLI, the Agents SDK), /v1/embeddings and /v1/completions, and
// GET /v1/models/{id} of an upstream model. Skills answer on /v1/chat/completions only.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import { parseJsonObject, readBody } from '../body.js';
import { ProxyHttpError, badRequest } from '../openai-errors.js';
import { SKILL_PREFIX } from '../skills.js';
import { forwardRequest } from './upstream-completion.js';

/** Request paths (below /v1) forwarded as they are. */
export const PASSTHROUGH_POSTS = new Set(['/responses', '/embeddings', '/completions']);

const noUpstream = (path: string): ProxyHttpError =>
  new ProxyHttpError(
    404,
    'invalid_request_error',
    'unknown_url',
    `POST /v1${path} is passed to the upstream, and this proxy has none: set spec.upstream in the Proxy ` +
      'resource. Skills answer on POST /v1/chat/completions.',
  );

export async function passthroughPost(
  env: ProxyEnv,
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  info: RequestInfo,
  path: string,
): Promise<void> {
  const raw = await readBody(req, state.spec.limits.maxBodyBytes);
  const body = parseJsonObject(raw);
  if (typeof body.model === 'string') info.model = body.model;
  if (typeof body.model === 'string' && body.model.startsWith(SKILL_PREFIX))
    throw badRequest(
      `${body.model} is a skill: skills answer on POST /v1/chat/completions, not on /v1${path}`,
      'model',
      'unsupported_model',
    );
  if (!state.upstream) throw noUpstream(path);
  return forwardRequest(
    env,
    state,
    state.upstream,
    { method: 'POST', path, body: raw, stream: body.stream === true },
    res,
    info,
  );
}

/** GET /v1/models/{id} of a model that is not a skill: the upstream's own answer. */
export function passthroughModel(
  env: ProxyEnv,
  state: ProxyState,
  res: ServerResponse,
  info: RequestInfo,
  id: string,
): Promise<void> {
  if (!state.upstream) throw noUpstream(`/models/${id}`);
  return forwardRequest(
    env,
    state,
    state.upstream,
    { method: 'GET', path: `/models/${encodeURIComponent(id)}`, stream: false },
    res,
    info,
  );
}
