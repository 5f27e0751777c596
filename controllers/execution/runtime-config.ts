// The Runtime in effect: the snapshot's single Runtime merged over built-in defaults, and
// the isolation that applies to one process once a skill's, a caller's (Task) or a
// request's override is laid over the Runtime's (precedence: see skillIsolation).

import type { Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import type { IsolationSpec, RuntimeSpec } from '../../reconciler/specs.js';
import { DEFAULT_AGENT_LIMITS, DEFAULT_AGENT_TOOLS } from '../../reconciler/agent-contract.js';

export const SANDBOX_IMAGE = 'caduceus-sandbox:latest';
export const DEFAULT_USER = '65534:65534';

export const DEFAULT_RUNTIME: RuntimeSpec = {
  execution: { mode: 'local', envAllowlist: ['PATH', 'HOME', 'LANG', 'TZ'], outputLimitBytes: 1024 * 1024 },
  isolation: { image: SANDBOX_IMAGE, network: 'none', readOnly: true },
  prerequisites: { packages: [], autoInstall: false },
  concurrency: { default: 3, maximum: 6, queueLimit: 100 },
  retry: { maxAttempts: 3, initialDelay: '1s', maxDelay: '1m', factor: 2, jitter: 0.2 },
  agent: { context: [], tools: [...DEFAULT_AGENT_TOOLS], limits: DEFAULT_AGENT_LIMITS },
  skills: { autoCreateThreshold: 7, autoCreate: true },
};

/** Each section merged over its defaults, so a partial spec (tests, old revisions) still works. */
export function effectiveRuntime(snap: Snapshot): RuntimeSpec {
  const rt = resourcesOfKind(snap, 'Runtime')[0]?.spec;
  return rt ? withDefaults(rt) : DEFAULT_RUNTIME;
}

export function withDefaults(rt: RuntimeSpec): RuntimeSpec {
  return {
    ...DEFAULT_RUNTIME,
    ...rt,
    execution: { ...DEFAULT_RUNTIME.execution, ...rt.execution },
    isolation: { ...DEFAULT_RUNTIME.isolation, ...rt.isolation },
    prerequisites: { ...DEFAULT_RUNTIME.prerequisites, ...rt.prerequisites },
  };
}

/** Everything a backend needs to know about where and how one process runs. */
export interface EffectiveIsolation {
  mode: 'local' | 'docker';
  image: string;
  network: 'none' | 'bridge';
  readOnly: boolean;
  user: string;
  memory?: string;
  cpus?: number;
  pids?: number;
}

export function effectiveIsolation(rt: RuntimeSpec, override?: IsolationSpec): EffectiveIsolation {
  const iso = { ...rt.isolation, ...stripUndefined(override ?? {}) };
  return {
    mode: override?.mode ?? rt.execution.mode,
    image: iso.image,
    network: iso.network,
    readOnly: iso.readOnly,
    user: iso.user ?? DEFAULT_USER,
    ...(iso.memory !== undefined ? { memory: iso.memory } : {}),
    ...(iso.cpus !== undefined ? { cpus: iso.cpus } : {}),
    ...(iso.pids !== undefined ? { pids: iso.pids } : {}),
  };
}

/**
 * The isolation of one skill run. Field by field: Runtime < the skill's own isolation <
 * the caller's (a Task's `spec.isolation`, through RunOptions.isolation). One exception:
 * a skill that itself asks for `mode: docker` keeps its sandbox as it declared it: the
 * caller can neither move it to the host nor loosen what the skill set (network, user,
 * read-only root, limits); it only fills the fields the skill left open.
 */
export function skillIsolation(rt: RuntimeSpec, skill?: IsolationSpec, caller?: IsolationSpec): EffectiveIsolation {
  const own = stripUndefined(skill ?? {});
  const from = stripUndefined(caller ?? {});
  const layered: IsolationSpec = skill?.mode === 'docker' ? { ...from, ...own } : { ...own, ...from };
  return effectiveIsolation(rt, layered);
}

/** Two overrides laid over each other, the later one winning field by field. */
export function layerIsolation(under?: IsolationSpec, over?: IsolationSpec): IsolationSpec | undefined {
  if (!under) return over;
  if (!over) return under;
  return { ...stripUndefined(under), ...stripUndefined(over) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
