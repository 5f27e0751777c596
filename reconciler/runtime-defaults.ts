// The Runtime in effect: the snapshot's single Runtime with each section merged over the
// schema's defaults, or the defaults alone when the configuration declares no Runtime.
// The execution, task and agent controllers read it from here.

import type { RuntimeSpec } from './specs.js';
import { defaultSpec } from './spec-defaults.js';
import { resourcesOfKind, type Snapshot } from './types.js';

let defaults: RuntimeSpec | undefined;

/** The schema's default Runtime spec (shared and frozen: spread it to change a field). */
export function defaultRuntime(): RuntimeSpec {
  defaults ??= deepFreeze(defaultSpec('Runtime'));
  return defaults;
}

/**
 * Each section merged over its defaults, so a partial spec (tests, a revision stored before a default existed) works.
 */
export function runtimeWithDefaults(rt: Partial<RuntimeSpec> | undefined): RuntimeSpec {
  const d = defaultRuntime();
  if (rt === undefined) return d;
  return {
    ...d,
    ...rt,
    execution: { ...d.execution, ...rt.execution },
    isolation: { ...d.isolation, ...rt.isolation },
    prerequisites: { ...d.prerequisites, ...rt.prerequisites },
    concurrency: { ...d.concurrency, ...rt.concurrency },
    retry: { ...d.retry, ...rt.retry },
    agent: { ...d.agent, ...rt.agent, limits: { ...d.agent.limits, ...rt.agent?.limits } },
    skills: { ...d.skills, ...rt.skills },
  };
}

/** The snapshot's Runtime with its defaults. */
export function effectiveRuntime(snap: Snapshot): RuntimeSpec {
  return runtimeWithDefaults(resourcesOfKind(snap, 'Runtime')[0]?.spec);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
