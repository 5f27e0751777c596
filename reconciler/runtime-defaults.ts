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

/** Merged specs by the Runtime spec they came from: a snapshot's resources do not change. */
const merged = new WeakMap<Partial<RuntimeSpec>, RuntimeSpec>();

/**
 * Each section merged over its defaults, so a partial spec (tests, a revision stored before a default existed) works.
 * Every skill run, agent turn and task asks for it, so the merge is made once per spec object
 * and shared: the result and the sections it builds are frozen (spread them to change a field).
 */
export function runtimeWithDefaults(rt: Partial<RuntimeSpec> | undefined): RuntimeSpec {
  const d = defaultRuntime();
  if (rt === undefined) return d;
  const known = merged.get(rt);
  if (known) return known;
  const spec: RuntimeSpec = Object.freeze({
    ...d,
    ...rt,
    execution: Object.freeze({ ...d.execution, ...rt.execution }),
    isolation: Object.freeze({ ...d.isolation, ...rt.isolation }),
    prerequisites: Object.freeze({ ...d.prerequisites, ...rt.prerequisites }),
    concurrency: Object.freeze({ ...d.concurrency, ...rt.concurrency }),
    retry: Object.freeze({ ...d.retry, ...rt.retry }),
    agent: Object.freeze({
      ...d.agent,
      ...rt.agent,
      limits: Object.freeze({ ...d.agent.limits, ...rt.agent?.limits }),
    }),
    skills: Object.freeze({ ...d.skills, ...rt.skills }),
  });
  merged.set(rt, spec);
  return spec;
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
