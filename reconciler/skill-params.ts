// The one rule for a skill's parameters: which values fit a declared param (the loader's
// check of YAML call sites and defaults) and the checked, defaulted, coerced values of one
// run (the execution engine, and the proxy before it opens a stream).

import { CaduceusError } from './errors.js';
import { DURATION_PATTERN } from './duration.js';
import type { SkillParam } from './specs.js';
import type { ParamValue } from './types.js';

const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Why a value does not fit a parameter, or undefined when it does. No coercion: YAML values are typed. */
export function paramValueProblem(p: SkillParam, value: unknown): string | undefined {
  switch (p.type) {
    case 'string':
      return typeof value === 'string' ? undefined : `must be a string, got ${JSON.stringify(value)}`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `must be a number, got ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${JSON.stringify(value)}`;
    case 'duration':
      return typeof value === 'string' && DURATION_RE.test(value)
        ? undefined
        : `must be a duration such as 30s, 5m or 72h, got ${JSON.stringify(value)}`;
    case 'enum':
      return typeof value === 'string' && (p.values ?? []).includes(value)
        ? undefined
        : `must be one of ${(p.values ?? []).join(', ')}, got ${JSON.stringify(value)}`;
  }
}

/**
 * Returns every declared param with its value (given, else default). Values typed in by
 * people (`-p count=3` on the CLI, `count=3` in chat) arrive as strings and are coerced to
 * the declared number or boolean type; any scalar is accepted for a string, enum or
 * duration param and compared as text. Errors name the param as `params.<name>`.
 */
export function validateParams(
  skill: string,
  declared: readonly SkillParam[],
  given: Readonly<Record<string, unknown>>,
): Record<string, ParamValue> {
  const byName = new Map(declared.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      const known = declared.map((p) => p.name).join(', ') || 'none';
      throw new CaduceusError('UnknownParam', `skill ${skill} has no param "${name}" (declared: ${known})`, {
        field: `params.${name}`,
      });
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const p of declared) {
    const raw = Object.hasOwn(given, p.name) ? given[p.name] : p.default;
    if (raw === undefined) {
      if (p.required) {
        throw new CaduceusError('MissingParam', `skill ${skill} needs param "${p.name}" (${describeType(p)})`, {
          field: `params.${p.name}`,
          hint: `pass it, e.g. -p ${p.name}=…`,
        });
      }
      continue;
    }
    const value = coerce(p, raw);
    const problem =
      typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean'
        ? paramValueProblem(p, value)
        : 'must be a string, number or boolean';
    if (problem !== undefined) {
      throw new CaduceusError('InvalidParam', `skill ${skill}: param "${p.name}" ${problem}`, {
        field: `params.${p.name}`,
      });
    }
    out[p.name] = value as ParamValue;
  }
  return out;
}

function describeType(p: SkillParam): string {
  return p.type === 'enum' ? `one of ${(p.values ?? []).join(', ')}` : p.type;
}

/** The value as the declared type when a person's text can be read as it; otherwise unchanged, for the message. */
function coerce(p: SkillParam, v: unknown): unknown {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return v;
  switch (p.type) {
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) ? n : v;
    }
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : v;
    default:
      return String(v);
  }
}

/** The JSON Schema of a skill's params: the agent's function tools and the MCP tools' input schema. */
export function paramsJsonSchema(params: readonly SkillParam[]): Record<string, unknown> {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const p of params) {
    const prop: Record<string, unknown> =
      p.type === 'enum'
        ? { type: 'string', enum: p.values ?? [] }
        : p.type === 'duration'
          ? { type: 'string', pattern: DURATION_PATTERN, description: 'a duration such as 30s, 5m or 72h' }
          : { type: p.type };
    if (p.description) prop.description = prop.description ? `${p.description} (${prop.description})` : p.description;
    if (p.default !== undefined) prop.default = p.default;
    properties[p.name] = prop;
    if (p.required && p.default === undefined) required.push(p.name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}
