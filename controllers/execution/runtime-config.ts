// The isolation that applies to one process once a skill's, a caller's (Task) or a
// request's override is laid over the Runtime's (precedence: see skillIsolation). The
// Runtime itself, with its defaults, comes from reconciler/runtime-defaults.ts.

import type { ExecutionMode, IsolationSpec, RuntimeSpec } from '../../reconciler/specs.js';

export const SANDBOX_IMAGE = 'caduceus-sandbox:latest';
export const DEFAULT_USER = '65534:65534';

/** Everything a backend needs to know about where and how one process runs. */
export interface EffectiveIsolation {
  mode: ExecutionMode;
  image: string;
  network: 'none' | 'bridge';
  readOnly: boolean;
  user: string;
  memory?: string;
  cpus?: number;
  pids?: number;
  /** Swarm only: placement constraints and reservations of the job. */
  placement?: string[];
  reservations?: { memory?: string; cpus?: number };
}

export function effectiveIsolation(rt: RuntimeSpec, override?: IsolationSpec): EffectiveIsolation {
  const iso = { ...rt.isolation, ...stripUndefined(override ?? {}) };
  return {
    mode: override?.mode ?? rt.execution.mode,
    image: iso.image,
    network: iso.network,
    readOnly: iso.readOnly,
    user: iso.user ?? DEFAULT_USER,
    memory: iso.memory,
    cpus: iso.cpus,
    pids: iso.pids,
    placement: iso.placement,
    reservations: iso.reservations,
  };
}

/**
 * The isolation of one skill run. Field by field: Runtime < the skill's own isolation <
 * the caller's (a Task's `spec.isolation`, through RunOptions.isolation). One exception:
 * a skill that itself asks for `mode: docker` (or `swarm`) keeps its sandbox as it declared it: the
 * caller can neither move it to the host nor loosen what the skill set (network, user,
 * read-only root, limits); it only fills the fields the skill left open.
 */
export function skillIsolation(rt: RuntimeSpec, skill?: IsolationSpec, caller?: IsolationSpec): EffectiveIsolation {
  const own = stripUndefined(skill ?? {});
  const from = stripUndefined(caller ?? {});
  const boxed = skill?.mode === 'docker' || skill?.mode === 'swarm';
  const layered: IsolationSpec = boxed ? { ...from, ...own } : { ...own, ...from };
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
