// Turns a chat request into a skill's params: `metadata.params` (an object, or a JSON
// string since OpenAI's metadata values are strings), else a JSON object in the last user
// message; plain text is accepted for a skill with exactly one string param.

import { CaduceusError } from '../../reconciler/errors.js';
import { validateParams } from '../../reconciler/skill-params.js';
import type { ParamValue, Resource } from '../../reconciler/types.js';
import { badRequest } from './openai-errors.js';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === 'object' && (p as { type?: unknown }).type === 'text'
          ? String((p as { text?: unknown }).text ?? '')
          : '',
      )
      .join('');
  }
  return '';
}

function parseObject(text: string, param: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${param} is not valid JSON: ${(err as Error).message}`, param, 'invalid_params');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw badRequest(`${param} must be a JSON object of the skill's params`, param, 'invalid_params');
  return v as Record<string, unknown>;
}

function rawParams(
  body: Record<string, unknown>,
  messages: Array<Record<string, unknown>>,
  skill: Resource<'Skill'>,
): { values: Record<string, unknown>; param: string } {
  const meta = body.metadata as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object' && meta.params !== undefined) {
    const p = meta.params;
    if (typeof p === 'string') return { values: parseObject(p, 'metadata.params'), param: 'metadata.params' };
    if (p && typeof p === 'object' && !Array.isArray(p))
      return { values: p as Record<string, unknown>, param: 'metadata.params' };
    throw badRequest(
      'metadata.params must be a JSON object (or a string holding one)',
      'metadata.params',
      'invalid_params',
    );
  }
  let index = -1;
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]?.role === 'user') {
      index = i;
      break;
    }
  if (index < 0) return { values: {}, param: 'messages' };
  const param = `messages[${index}].content`;
  const text = textOf(messages[index]?.content).trim();
  if (text === '') return { values: {}, param };
  if (text.startsWith('{')) return { values: parseObject(text, param), param };
  const strings = skill.spec.params.filter((p) => p.type === 'string');
  if (skill.spec.params.length === 1 && strings.length === 1)
    return { values: { [(strings[0] as { name: string }).name]: text }, param };
  if (skill.spec.params.length === 0) return { values: {}, param };
  throw badRequest(
    `skill ${skill.metadata.name} takes params ${skill.spec.params.map((p) => p.name).join(', ')}: ` +
      'send them as a JSON object in the last user message, e.g. ' +
      JSON.stringify(Object.fromEntries(skill.spec.params.map((p) => [p.name, p.default ?? '…']))),
    param,
    'invalid_params',
  );
}

/**
 * The skill's params from a chat request, checked by the core's rule (validateParams) here,
 * before a stream opens, so a bad param is a 400 naming the request field it came from.
 */
export function skillParams(
  body: Record<string, unknown>,
  messages: Array<Record<string, unknown>>,
  skill: Resource<'Skill'>,
): Record<string, ParamValue> {
  const { values, param } = rawParams(body, messages, skill);
  try {
    return validateParams(skill.metadata.name, skill.spec.params, values);
  } catch (err) {
    if (!(err instanceof CaduceusError)) throw err;
    // The core names a param `params.<name>`; the client wants the field it sent.
    const field = err.field?.startsWith('params.') ? `${param}${err.field.slice('params'.length)}` : param;
    throw badRequest(err.message, field, err.code === 'MissingParam' ? 'missing_required_parameter' : 'invalid_params');
  }
}
