// GET /v1/models and GET /v1/models/{id}: `caduceus/agent` when the Proxy enables it, one
// `skill/<name>` model per served skill (preloaded first; all owned_by "caduceus"), then
// the upstream's models when one is set. A skill model carries a `caduceus` field (ignored
// by OpenAI clients) with the skill's description and params, so a client can tell what to
// send in the user message.

import type { ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import type { Resource } from '../../../reconciler/types.js';
import { SKILL_PREFIX, findSkill, servedSkills } from '../skills.js';
import { modelNotFound } from '../openai-errors.js';
import { sendJson } from '../../../reconciler/http-json.js';
import { AGENT_MODEL } from '../../../reconciler/agent-contract.js';

// `created` is the first time this process served the skill at that content hash: stable
// across listings, and new when the skill changes.
const firstSeen = new Map<string, number>();

interface SkillModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  caduceus: {
    version: string;
    description: string;
    params: Array<{ name: string; type: string; required: boolean; default?: unknown; values?: string[] }>;
  };
}

function skillModel(s: Resource<'Skill'>): SkillModel {
  let created = firstSeen.get(s.hash);
  if (created === undefined) {
    created = Math.floor(Date.now() / 1000);
    firstSeen.set(s.hash, created);
  }
  const params = s.spec.params.map((p) => ({
    name: p.name,
    type: p.type,
    required: p.required === true && p.default === undefined,
    default: p.default,
    values: p.values,
  }));
  return {
    id: SKILL_PREFIX + s.metadata.name,
    object: 'model',
    created,
    owned_by: 'caduceus',
    caduceus: { version: s.spec.version, description: s.spec.description, params },
  };
}

/** When this process started serving: the agent model has no content hash to date it by. */
const started = Math.floor(Date.now() / 1000);

function agentModel(): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id: AGENT_MODEL, object: 'model', created: started, owned_by: 'caduceus' };
}

export async function listModels(
  env: ProxyEnv,
  state: ProxyState,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  const skills = servedSkills(env.snapshot(), state.spec).map(skillModel);
  const own = state.spec.agent?.enabled ? [agentModel(), ...skills] : skills;
  const upstream = state.upstream ? await state.upstream.listModels(info.id) : [];
  const names = new Set(own.map((m) => m.id));
  sendJson(res, 200, { object: 'list', data: [...own, ...upstream.filter((m) => !names.has(m.id))] });
}

export async function retrieveModel(
  env: ProxyEnv,
  state: ProxyState,
  res: ServerResponse,
  info: RequestInfo,
  id: string,
): Promise<void> {
  info.model = id;
  if (id === AGENT_MODEL) {
    if (!state.spec.agent?.enabled) throw modelNotFound(id);
    return sendJson(res, 200, agentModel());
  }
  if (id.startsWith(SKILL_PREFIX)) {
    const skill = findSkill(env.snapshot(), id);
    if (!skill) throw modelNotFound(id);
    return sendJson(res, 200, skillModel(skill));
  }
  const found = state.upstream ? (await state.upstream.listModels(info.id)).find((m) => m.id === id) : undefined;
  if (!found) throw modelNotFound(id);
  sendJson(res, 200, found);
}
