// Signals the curator decides on: per skill, usage from the run history (runs and
// failures in the window, last use ever), age from git, pin label, and every resource
// that names the skill (task subtasks, skill-call steps, proxy preloads, gateway roles).

import type { Resource } from '../../reconciler/types.js';
import type { RunStore } from '../../reconciler/state/runs.js';
import type { SkillSignal } from './types.js';

export const PINNED_LABEL = 'caduceus.dev/pinned';

export interface SignalInput {
  resources: readonly Resource[];
  runs: RunStore;
  /** Epoch ms; the window starts at now - windowMs. */
  now: number;
  windowMs: number;
  /** Config-relative file → epoch ms of its first commit (missing: unknown). */
  firstSeen: ReadonlyMap<string, number>;
  /** Fallback age when git does not know a file (uncommitted or no repository). */
  fallbackFirstSeen: (file: string) => number;
}

export interface Signals {
  skills: SkillSignal[];
  byName: Map<string, SkillSignal>;
  /** Name or alias → canonical skill name. */
  resolve: Map<string, string>;
  runsInWindow: number;
}

export function isPinned(r: Resource): boolean {
  return r.metadata.labels?.[PINNED_LABEL] === 'true';
}

export function collectSignals(input: SignalInput): Signals {
  const skills = input.resources.filter((r): r is Resource<'Skill'> => r.kind === 'Skill');
  const resolve = new Map<string, string>();
  for (const s of skills) resolve.set(s.metadata.name, s.metadata.name);
  for (const s of skills) for (const a of s.spec.aliases ?? []) if (!resolve.has(a)) resolve.set(a, s.metadata.name);

  const runs = new Map<string, { runs: number; failures: number }>();
  let runsInWindow = 0;
  for (const u of input.runs.skillUsage(input.now - input.windowMs)) {
    runsInWindow += u.runs;
    const name = resolve.get(u.name);
    if (!name) continue;
    const acc = runs.get(name) ?? { runs: 0, failures: 0 };
    acc.runs += u.runs;
    acc.failures += u.failures;
    runs.set(name, acc);
  }
  const lastUsed = new Map<string, number>();
  for (const [n, t] of input.runs.lastUsedBySkill()) {
    const name = resolve.get(n);
    if (name && t > (lastUsed.get(name) ?? -Infinity)) lastUsed.set(name, t);
  }

  const refs = new Map<string, Set<string>>();
  const addRef = (skill: string | undefined, by: string): void => {
    const name = skill === undefined ? undefined : resolve.get(skill);
    if (!name) return;
    let set = refs.get(name);
    if (!set) {
      set = new Set();
      refs.set(name, set);
    }
    set.add(by);
  };
  for (const r of input.resources) {
    const by = `${r.kind}/${r.metadata.name}`;
    if (r.kind === 'Task') for (const st of (r as Resource<'Task'>).spec.subtasks ?? []) addRef(st.skill, by);
    else if (r.kind === 'Skill')
      for (const step of (r as Resource<'Skill'>).spec.steps ?? []) addRef(step.skill?.name, by);
    else if (r.kind === 'Proxy') for (const p of (r as Resource<'Proxy'>).spec.preload ?? []) addRef(p, by);
    else if (r.kind === 'GatewayPolicy')
      for (const role of (r as Resource<'GatewayPolicy'>).spec.roles ?? [])
        for (const s of role.permissions?.skills ?? []) addRef(s, by);
  }

  const out: SkillSignal[] = skills.map((s) => {
    const u = runs.get(s.metadata.name) ?? { runs: 0, failures: 0 };
    const self = `Skill/${s.metadata.name}`;
    return {
      name: s.metadata.name,
      file: s.source.file,
      hash: s.hash,
      version: s.spec.version,
      pinned: isPinned(s),
      runs: u.runs,
      failures: u.failures,
      failureRate: u.runs > 0 ? u.failures / u.runs : 0,
      lastUsed: lastUsed.get(s.metadata.name) ?? null,
      firstSeen: input.firstSeen.get(s.source.file) ?? input.fallbackFirstSeen(s.source.file),
      referencedBy: [...(refs.get(s.metadata.name) ?? [])].filter((x) => x !== self).sort(),
    };
  });
  return { skills: out, byName: new Map(out.map((s) => [s.name, s])), resolve, runsInWindow };
}
