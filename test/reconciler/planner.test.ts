import { describe, expect, it } from 'vitest';
import { plan, formatPlan, hasChanges, diffFields } from '../../reconciler/planner.js';
import type { Resource } from '../../reconciler/types.js';

function skill(name: string, run: string, hash = `h-${name}-${run}`): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: { version: '1.0.0', description: name, params: [], steps: [{ run }], timeout: '10m', aliases: [] },
    source: { file: `skills/${name}.yaml`, line: 1, column: 1 },
    hash,
  } as Resource;
}

describe('planner', () => {
  it('classifies create, update, delete and unchanged with a field-level diff', () => {
    const oldA = skill('a', 'echo a');
    const oldB = skill('b', 'echo b');
    const oldGone = skill('gone', 'echo gone');
    const applied = new Map([
      ['Skill/a', oldA.hash],
      ['Skill/b', oldB.hash],
      ['Skill/gone', oldGone.hash],
    ]);
    const byKey: Record<string, Resource> = { 'Skill/a': oldA, 'Skill/b': oldB, 'Skill/gone': oldGone };
    const p = plan([skill('a', 'echo a'), skill('b', 'echo B!'), skill('new', 'echo new')], applied, (k) => byKey[k]);
    const actions = Object.fromEntries(p.entries.map((e) => [e.name, e.action]));
    expect(actions).toEqual({ a: 'unchanged', b: 'update', new: 'create', gone: 'delete' });
    expect(p.summary).toEqual({ create: 1, update: 1, delete: 1, unchanged: 1 });
    const b = p.entries.find((e) => e.name === 'b');
    expect(b?.changes).toEqual([{ path: 'spec.steps[0].run', op: 'change', before: 'echo b', after: 'echo B!' }]);
    expect(hasChanges(p)).toBe(true);
  });

  it('renders like terraform plan and says so when nothing changes', () => {
    const a = skill('a', 'echo a');
    const same = plan([a], new Map([['Skill/a', a.hash]]), () => a);
    expect(hasChanges(same)).toBe(false);
    expect(formatPlan(same)).toContain('No changes.');
    const p = plan([skill('a', 'echo 2')], new Map([['Skill/a', a.hash]]), () => a);
    const text = formatPlan(p, { revision: 'abc' });
    expect(text).toContain('~ Skill "a" will be updated in place');
    expect(text).toContain('~ spec.steps[0].run: "echo a" -> "echo 2"');
    expect(text).toContain('Plan: 0 to create, 1 to update, 0 to prune, 0 unchanged.');
  });

  it('diffs added and removed list items and keys', () => {
    expect(diffFields({ a: [1], b: 1 }, { a: [1, 2], c: 3 })).toEqual([
      { path: 'a[1]', op: 'add', after: 2 },
      { path: 'b', op: 'remove', before: 1 },
      { path: 'c', op: 'add', after: 3 },
    ]);
  });
});
