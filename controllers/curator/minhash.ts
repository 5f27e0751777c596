// Similarity features of skills: a skill is reduced to a set of hashed shingles (token
// n-grams of its normalised steps, its params and its description), and each set to a
// MinHash signature whose agreement rate estimates the Jaccard similarity of the sets.

import type { SkillSpec, SkillStep } from '../../reconciler/specs.js';

export const SIGNATURE_SIZE = 128;

/** FNV-1a, 32 bits: fast and good enough to spread shingles before mixing. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finaliser: one independent-looking permutation per seed. */
function mix(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const SEEDS = Array.from({ length: SIGNATURE_SIZE }, (_, i) => mix(i + 1, 0x9e3779b9));

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9_$.{}/-]+/)
    .filter((t) => t.length > 0);
}

function stepText(s: SkillStep): string {
  if (s.run !== undefined) return `run ${s.run}`;
  if (s.http) return `http ${s.http.method} ${s.http.url} ${s.http.body ?? ''}`;
  if (s.file) return `file ${s.file.action} ${s.file.path} ${s.file.content ?? ''}`;
  if (s.skill)
    return `skill ${s.skill.name} ${Object.keys(s.skill.params ?? {})
      .sort()
      .join(' ')}`;
  return '';
}

function addGrams(out: Set<number>, prefix: string, toks: string[], n: number): void {
  if (toks.length === 0) return;
  if (toks.length < n) {
    out.add(hash32(`${prefix}|${toks.join(' ')}`));
    return;
  }
  for (let i = 0; i + n <= toks.length; i++) out.add(hash32(`${prefix}|${toks.slice(i, i + n).join(' ')}`));
}

/**
 * The shingle set of a skill. Names are left out on purpose: duplicates differ by name.
 * Steps and instructions dominate (3-grams across all steps in order, and of the
 * instructions), params count as `name:type`, and the description adds word pairs.
 */
export function shingles(
  spec: Pick<SkillSpec, 'steps' | 'params' | 'description'> & Pick<Partial<SkillSpec>, 'instructions'>,
): Set<number> {
  const out = new Set<number>();
  addGrams(out, 's', tokens((spec.steps ?? []).map(stepText).join(' ; ')), 3);
  // A SKILL.md skill is its instructions: they count like steps.
  addGrams(out, 'i', tokens(spec.instructions ?? ''), 3);
  for (const p of spec.params ?? []) out.add(hash32(`p|${p.name}:${p.type}`));
  addGrams(out, 'd', tokens(spec.description ?? ''), 2);
  return out;
}

export function signature(set: ReadonlySet<number>): Uint32Array {
  const sig = new Uint32Array(SIGNATURE_SIZE).fill(0xffffffff);
  for (const x of set) {
    for (let i = 0; i < SIGNATURE_SIZE; i++) {
      const h = mix(x, SEEDS[i] as number);
      if (h < (sig[i] as number)) sig[i] = h;
    }
  }
  return sig;
}

/** Exact Jaccard similarity of two shingle sets. */
export function jaccard(a: ReadonlySet<number>, b: ReadonlySet<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let inter = 0;
  for (const x of small) if (large.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}
