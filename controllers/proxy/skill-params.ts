// Turns a chat request into a skill's params: `metadata.params` (an object, or a JSON
// string since OpenAI's metadata values are strings), else a JSON object in the last user
// message; plain text is accepted for a skill with exactly one string param.

import type { Resource, ParamValue } from '../../reconciler/types.js';
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
    `skill ${skill.metadata.name} takes params ${skill.spec.params.map((p) => p.name).join(', ')}: send them as a JSON object in the last user message, e.g. ${JSON.stringify(Object.fromEntries(skill.spec.params.map((p) => [p.name, p.default ?? '…'])))}`,
    param,
    'invalid_params',
  );
}

export function skillParams(
  body: Record<string, unknown>,
  messages: Array<Record<string, unknown>>,
  skill: Resource<'Skill'>,
): Record<string, ParamValue> {
  const { values, param } = rawParams(body, messages, skill);
  const declared = new Map(skill.spec.params.map((p) => [p.name, p]));
  const out: Record<string, ParamValue> = {};
  for (const [name, v] of Object.entries(values)) {
    if (!declared.has(name)) {
      throw badRequest(
        `skill ${skill.metadata.name} has no param "${name}" (it takes: ${[...declared.keys()].join(', ') || 'none'})`,
        `${param}.${name}`,
        'invalid_params',
      );
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw badRequest(`param "${name}" must be a string, number or boolean`, `${param}.${name}`, 'invalid_params');
    }
    out[name] = v;
  }
  for (const p of skill.spec.params) {
    if (p.required && p.default === undefined && out[p.name] === undefined) {
      throw badRequest(
        `skill ${skill.metadata.name} needs param "${p.name}" (${p.type})`,
        `${param}.${p.name}`,
        'missing_required_parameter',
      );
    }
  }
  return out;
}
