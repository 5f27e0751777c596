// How a skill's params and step outputs are named in a process environment: the one
// spelling shared by the loader (two step ids that collide as variables are an error),
// the execution engine and shell subtasks of a Task.

import type { ParamValue } from './types.js';

/** Upper-cased, every character outside [A-Z0-9_] (e.g. `-`) becomes `_`. */
export function envSuffix(name: string): string {
  let suffix = suffixes.get(name);
  if (suffix === undefined) {
    suffix = name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    // Names repeat across thousands of skills (scope, window, …); the set of them is small.
    if (suffixes.size >= 4096) suffixes.clear();
    suffixes.set(name, suffix);
  }
  return suffix;
}

const suffixes = new Map<string, string>();

/** `PARAM_<NAME>`. */
export function paramEnvName(name: string): string {
  return `PARAM_${envSuffix(name)}`;
}

/** `STEP_<ID>_OUTPUT` (or `_OUTCOME`). */
export function stepEnvName(id: string, what: 'OUTPUT' | 'OUTCOME' = 'OUTPUT'): string {
  return `STEP_${envSuffix(id)}_${what}`;
}

/** The PARAM_* variables for one run. */
export function paramEnv(values: Readonly<Record<string, ParamValue>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) env[paramEnvName(k)] = String(v);
  return env;
}
