// Skill parameters: checked against their declared types, defaults applied, unknown or
// missing ones rejected with the param named. Values reach shell steps only as
// PARAM_<NAME> environment variables (see paramEnvName), never inside the command text.

import type { ParamValue } from '../../reconciler/types.js';
import type { SkillParam } from '../../reconciler/specs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { DURATION_PATTERN } from '../../reconciler/duration.js';

const DURATION = new RegExp(DURATION_PATTERN);

/** `PARAM_<NAME>`: upper-cased, every character outside [A-Z0-9_] (e.g. `-`) becomes `_`. */
export function paramEnvName(name: string): string {
  return 'PARAM_' + envSuffix(name);
}

/** `STEP_<ID>_OUTPUT` (or `_OUTCOME`), with the same spelling rule as params. */
export function stepEnvName(id: string, what: 'OUTPUT' | 'OUTCOME' = 'OUTPUT'): string {
  return `STEP_${envSuffix(id)}_${what}`;
}

function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * Returns every declared param with its value (given, else default). Strings from the CLI
 * (`-p count=3`) are coerced to the declared number or boolean type.
 */
export function validateParams(
  skill: string,
  declared: readonly SkillParam[],
  given: Record<string, ParamValue>,
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
    const raw = Object.prototype.hasOwnProperty.call(given, p.name) ? given[p.name] : p.default;
    if (raw === undefined) {
      if (p.required) {
        throw new CaduceusError('MissingParam', `skill ${skill} needs param "${p.name}" (${describeType(p)})`, {
          field: `params.${p.name}`,
          hint: `pass it, e.g. -p ${p.name}=…`,
        });
      }
      continue;
    }
    out[p.name] = coerce(skill, p, raw);
  }
  return out;
}

function describeType(p: SkillParam): string {
  return p.type === 'enum' ? `one of ${(p.values ?? []).join(', ')}` : p.type;
}

function coerce(skill: string, p: SkillParam, v: ParamValue): ParamValue {
  const bad = (why: string): CaduceusError =>
    new CaduceusError('InvalidParam', `skill ${skill}: param "${p.name}" ${why}`, { field: `params.${p.name}` });
  switch (p.type) {
    case 'string':
      return String(v);
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw bad(`must be a number, got ${JSON.stringify(v)}`);
      return n;
    }
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw bad(`must be true or false, got ${JSON.stringify(v)}`);
    }
    case 'enum': {
      const s = String(v);
      if (!(p.values ?? []).includes(s))
        throw bad(`must be one of ${(p.values ?? []).join(', ')}, got ${JSON.stringify(v)}`);
      return s;
    }
    case 'duration': {
      const s = String(v);
      if (!DURATION.test(s)) throw bad(`must be a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(v)}`);
      return s;
    }
  }
}

/** The PARAM_* variables for one run. */
export function paramEnv(values: Record<string, ParamValue>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) env[paramEnvName(k)] = String(v);
  return env;
}
