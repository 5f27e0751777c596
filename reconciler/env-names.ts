// How a skill's params and step outputs are named in a process environment: the one
// spelling shared by the loader (two step ids that collide as variables are an error),
// the execution engine and shell subtasks of a Task.

import type { ParamValue } from './types.js';

/** Upper-cased, every character outside [A-Z0-9_] (e.g. `-`) becomes `_`. */
export function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** `PARAM_<NAME>`. */
export function paramEnvName(name: string): string {
  return `PARAM_${envSuffix(name)}`;
}

/** `STEP_<ID>_OUTPUT`. */
export function stepEnvName(id: string): string {
  return `STEP_${envSuffix(id)}_OUTPUT`;
}

/** The PARAM_* variables for one run. */
export function paramEnv(values: Readonly<Record<string, ParamValue>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) env[paramEnvName(k)] = String(v);
  return env;
}
