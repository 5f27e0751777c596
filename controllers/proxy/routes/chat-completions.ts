// POST /v1/chat/completions: reads and checks the body, then runs the agent (`model:
// caduceus/agent`, when the Proxy enables it), runs a skill (`model: skill/<name>`) or
// forwards to the upstream. Without an upstream any other model is unknown (404).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import { parseJsonObject, readBody } from '../body.js';
import { badRequest, modelNotFound } from '../openai-errors.js';
import { SKILL_PREFIX, findSkill } from '../skills.js';
import { skillCompletion } from './skill-completion.js';
import { forwardCompletion } from './upstream-completion.js';
import { agentCompletion } from './agent-completion.js';
import { AGENT_MODEL } from '../../../reconciler/agent-contract.js';

export interface ChatRequest {
  model: string;
  messages: Array<Record<string, unknown>>;
  stream: boolean;
  body: Record<string, unknown>;
  raw: Buffer;
}

export function checkChatRequest(body: Record<string, unknown>, raw: Buffer): ChatRequest {
  const { model, messages, stream } = body;
  if (model === undefined)
    throw badRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  if (typeof model !== 'string' || model === '')
    throw badRequest('model must be a non-empty string', 'model', 'invalid_type');
  if (messages === undefined)
    throw badRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages))
    throw badRequest("Invalid type for 'messages': expected an array.", 'messages', 'invalid_type');
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      throw badRequest(`Invalid type for 'messages[${i}]': expected an object.`, `messages[${i}]`, 'invalid_type');
    if (typeof (m as { role?: unknown }).role !== 'string')
      throw badRequest(
        `Missing required parameter: 'messages[${i}].role'.`,
        `messages[${i}].role`,
        'missing_required_parameter',
      );
  });
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean')
    throw badRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  return { model, messages: messages as Array<Record<string, unknown>>, stream: stream === true, body, raw };
}

export async function chatCompletions(
  env: ProxyEnv,
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  const raw = await readBody(req, state.spec.limits.maxBodyBytes);
  const chat = checkChatRequest(parseJsonObject(raw), raw);
  info.model = chat.model;
  if (chat.model === AGENT_MODEL) {
    if (!state.spec.agent?.enabled) throw modelNotFound(chat.model);
    info.route = chat.stream ? 'agent_stream' : 'agent';
    return agentCompletion(env, state, chat, res, info);
  }
  if (chat.model.startsWith(SKILL_PREFIX)) {
    const skill = findSkill(env.snapshot(), chat.model);
    if (!skill) throw modelNotFound(chat.model);
    info.route = chat.stream ? 'skill_stream' : 'skill';
    return skillCompletion(env, state, skill, chat, res, info);
  }
  if (!state.upstream) throw modelNotFound(chat.model);
  info.route = chat.stream ? 'upstream_stream' : 'upstream';
  return forwardCompletion(env, state, state.upstream, chat, res, info);
}
