// The skills the proxy serves, read from the applied snapshot at request time (so a new
// revision's skills appear without touching the listener): `skill/<name>` models, alias
// lookup, and the system message injected into upstream requests.

import type { Resource, Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import type { ProxySpec } from '../../reconciler/specs.js';
import { findSkill as skillByName } from '../../reconciler/skill-names.js';

export const SKILL_PREFIX = 'skill/';

/** Skills in serving order: the Proxy's preload list first, then the rest by name. */
export function servedSkills(snap: Snapshot, spec: ProxySpec): Resource<'Skill'>[] {
  const all = resourcesOfKind(snap, 'Skill').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const first = [
    ...new Set(spec.preload.map((n) => skillByName(snap, n)).filter((s): s is Resource<'Skill'> => s !== undefined)),
  ];
  const preloaded = new Set(first.map((s) => s.metadata.name));
  return [...first, ...all.filter((s) => !preloaded.has(s.metadata.name))];
}

/** The skill a `skill/<name>` model names, by name or alias. */
export function findSkill(snap: Snapshot, model: string): Resource<'Skill'> | undefined {
  return skillByName(snap, model.slice(SKILL_PREFIX.length));
}

// Built once per (snapshot, spec): a new revision or reconcile brings new objects rather
// than mutating these, so forwarded requests reuse the text instead of re-sorting skills.
const systemMessages = new WeakMap<Snapshot, WeakMap<ProxySpec, string>>();

/** The system message telling an upstream model which skills the team has. */
export function skillsSystemMessage(snap: Snapshot, spec: ProxySpec): string {
  let bySpec = systemMessages.get(snap);
  if (!bySpec) {
    bySpec = new WeakMap();
    systemMessages.set(snap, bySpec);
  }
  let text = bySpec.get(spec);
  if (text === undefined) {
    text = buildSystemMessage(snap, spec);
    bySpec.set(spec, text);
  }
  return text;
}

function buildSystemMessage(snap: Snapshot, spec: ProxySpec): string {
  const skills = servedSkills(snap, spec);
  const preloaded = new Set(
    skills
      .slice(0, spec.preload.length)
      .filter((s) => spec.preload.includes(s.metadata.name) || s.spec.aliases.some((a) => spec.preload.includes(a)))
      .map((s) => s.metadata.name),
  );
  const lines: string[] = [];
  if (spec.projectContext) lines.push(spec.projectContext.trim(), '');
  if (skills.length > 0) {
    lines.push(
      'The team has these skills. A client runs one by calling the model `skill/<name>` ' +
        'with a JSON object of its params as the user message.',
    );
    for (const s of skills) {
      lines.push(`- skill/${s.metadata.name} (v${s.spec.version}): ${s.spec.description}`);
      // Preloaded skills are described in full; the others by one line, to keep the prompt short.
      if (preloaded.has(s.metadata.name) || spec.preload.length === 0) {
        for (const p of s.spec.params) {
          const extra = [
            p.required ? 'required' : 'optional',
            p.default !== undefined ? `default ${JSON.stringify(p.default)}` : '',
            p.values ? `one of ${p.values.join('|')}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          lines.push(`    - ${p.name}: ${p.type} (${extra})${p.description ? ` ${p.description}` : ''}`);
        }
      }
    }
  }
  return lines.join('\n').trim();
}
