// Looking up a Skill of a snapshot by its name or one of its aliases, shared by the
// controllers (which may not import each other). The index is built once per snapshot:
// snapshots are immutable, so request paths reuse it instead of walking every skill.

import type { Resource, Snapshot } from './types.js';
import { resourcesOfKind } from './types.js';

// Keyed by the resources map rather than the Snapshot so that wrappers sharing one map share the index.
const indexes = new WeakMap<Snapshot['resources'], ReadonlyMap<string, Resource<'Skill'>>>();

/**
 * Name or alias → skill. A canonical name wins over an alias spelled the same; otherwise the first skill in snapshot
 * order wins.
 */
export function skillIndex(snap: Snapshot): ReadonlyMap<string, Resource<'Skill'>> {
  let index = indexes.get(snap.resources);
  if (!index) {
    const m = new Map<string, Resource<'Skill'>>();
    const skills = resourcesOfKind(snap, 'Skill');
    for (const s of skills) m.set(s.metadata.name, s);
    for (const s of skills) for (const a of s.spec.aliases ?? []) if (!m.has(a)) m.set(a, s);
    indexes.set(snap.resources, m);
    index = m;
  }
  return index;
}

/** The skill called `nameOrAlias` in the snapshot, by name first and then by alias. */
export function findSkill(snap: Snapshot, nameOrAlias: string): Resource<'Skill'> | undefined {
  return skillIndex(snap).get(nameOrAlias);
}
