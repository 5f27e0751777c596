import { describe, it, expect } from 'vitest';
import { jaccard, shingles, signature } from '../../../controllers/curator/minhash.js';
import { candidatePairs } from '../../../controllers/curator/lsh.js';
import type { SkillSpec } from '../../../reconciler/specs.js';

const WORDS = [
  ...'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike'.split(' '),
  ...'november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' '),
];

function randomSkill(rand: () => number): Pick<SkillSpec, 'steps' | 'params' | 'description'> {
  const w = (): string => WORDS[Math.floor(rand() * WORDS.length)] as string;
  const line = (): string => Array.from({ length: 8 }, w).join(' ');
  return { description: line(), params: [], steps: [{ run: line() }, { run: line() }, { run: line() }] };
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('MinHash and LSH', () => {
  it('estimate Jaccard similarity from signatures', () => {
    const rand = lcg(7);
    const a = shingles(randomSkill(rand));
    const spec = randomSkill(rand);
    const b = shingles(spec);
    const sa = signature(a);
    const sb = signature(b);
    const agree = sa.filter((x, i) => x === sb[i]).length / sa.length;
    expect(Math.abs(agree - jaccard(a, b))).toBeLessThan(0.15);
    expect(jaccard(a, a)).toBe(1);
  });

  it('find every planted near-duplicate among 2,000 skills while checking a small fraction of all pairs', () => {
    const rand = lcg(42);
    const specs = Array.from({ length: 2000 }, () => randomSkill(rand));
    const planted: Array<[number, number]> = [];
    for (let k = 0; k < 40; k++) {
      const src = specs[k * 37] as ReturnType<typeof randomSkill>;
      // Same steps, one extra word in the description: similarity well above 0.8.
      specs.push({ ...src, description: `${src.description} extra` });
      planted.push([k * 37, specs.length - 1]);
    }
    const sets = specs.map(shingles);
    const pairs = candidatePairs(sets.map(signature));
    const found = new Set(pairs.filter(([i, j]) => jaccard(sets[i]!, sets[j]!) >= 0.8).map(([i, j]) => `${i},${j}`));
    for (const [i, j] of planted) expect(jaccard(sets[i]!, sets[j]!)).toBeGreaterThan(0.8);
    expect([...found].sort()).toEqual(planted.map(([i, j]) => `${i},${j}`).sort());
    const all = (specs.length * (specs.length - 1)) / 2;
    expect(pairs.length).toBeLessThan(all / 100);
  });
});
