import { describe, expect, it } from 'vitest';
import { plan, formatPlan, hasChanges, diffFields, type FieldChange, type Plan } from '../../reconciler/planner.js';
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

function res(kind: string, name: string, spec: Record<string, unknown> = {}, hash = `h-${kind}-${name}`): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind,
    metadata: { name },
    spec,
    source: { file: `${kind}/${name}.yaml`, line: 3, column: 1 },
    hash,
  } as unknown as Resource;
}

describe('planner order and prune-only plans', () => {
  it('orders entries by apply order of kinds, then by name, whatever the input order', () => {
    const desired = [
      res('Curator', 'c'),
      res('Task', 'b'),
      res('Task', 'a'),
      res('Skill', 'z'),
      res('Unknown', 'u'),
      res('Runtime', 'r'),
      res('GatewayPolicy', 'g'),
      res('Proxy', 'p'),
      res('Skill', 'a2'),
    ];
    const applied = new Map([
      ['Task/old', 'h'],
      ['Runtime/aa', 'h'],
    ]);
    const p = plan(desired, applied, () => undefined);
    expect(p.entries.map((e) => e.key)).toEqual([
      'Runtime/aa',
      'Runtime/r',
      'Skill/a2',
      'Skill/z',
      'Task/a',
      'Task/b',
      'Task/old',
      'Proxy/p',
      'GatewayPolicy/g',
      'Curator/c',
      'Unknown/u',
    ]);
    expect(p.entries.find((e) => e.key === 'Task/old')).toEqual({
      key: 'Task/old',
      kind: 'Task',
      name: 'old',
      action: 'delete',
    });
    expect(p.entries.find((e) => e.key === 'Task/a')).toEqual({
      key: 'Task/a',
      kind: 'Task',
      name: 'a',
      action: 'create',
      file: 'Task/a.yaml:3',
    });
  });

  it('keeps equal names of one kind stable and names with slashes whole when pruned', () => {
    const p = plan(
      [],
      new Map([
        ['Skill/team/deploy', 'h'],
        ['Skill/a', 'h'],
      ]),
      () => undefined,
    );
    expect(p.entries.map((e) => [e.kind, e.name])).toEqual([
      ['Skill', 'a'],
      ['Skill', 'team/deploy'],
    ]);
  });

  it('counts a plan that only prunes as a change, and renders it', () => {
    const p = plan([], new Map([['Skill/gone', 'h']]), () => undefined);
    expect(p.summary).toEqual({ create: 0, update: 0, delete: 1, unchanged: 0 });
    expect(hasChanges(p)).toBe(true);
    expect(formatPlan(p)).toBe(
      [
        'Caduceus will perform the following actions:',
        '',
        '  - Skill "gone" will be pruned',
        '',
        'Plan: 0 to create, 0 to update, 1 to prune, 0 unchanged.',
        '',
      ].join('\n'),
    );
    expect(hasChanges(plan([res('Skill', 'n')], new Map(), () => undefined))).toBe(true);
    expect(hasChanges(plan([res('Skill', 'n', {}, 'h2')], new Map([['Skill/n', 'h1']]), () => undefined))).toBe(true);
  });

  it('updates with no field changes when the applied resource can no longer be loaded', () => {
    const p = plan([res('Skill', 'n', { a: 1 }, 'h2')], new Map([['Skill/n', 'h1']]), () => undefined);
    expect(p.entries[0]).toMatchObject({ action: 'update', changes: [] });
  });

  it('renders every kind of change, colours on request, and cuts long values', () => {
    const before = res('Skill', 's', { keep: 1, drop: 'x', long: 'a'.repeat(200), list: [1, 2] }, 'h1');
    const after = res('Skill', 's', { keep: 2, add: { deep: true }, long: 'b'.repeat(200), list: [1] }, 'h2');
    const p = plan([after, res('Task', 'new')], new Map([['Skill/s', 'h1']]), () => before);
    const cut = (c: string) => `"${c.repeat(116)}...`;
    expect(formatPlan(p, { revision: 'abc123' })).toBe(
      [
        'Plan for revision abc123:',
        '',
        'Caduceus will perform the following actions:',
        '',
        '  ~ Skill "s" will be updated in place  (Skill/s.yaml:3)',
        '      ~ spec.keep: 1 -> 2',
        '      - spec.drop = "x"',
        `      ~ spec.long: ${cut('a')} -> ${cut('b')}`,
        '      - spec.list[1] = 2',
        '      + spec.add = {"deep":true}',
        '  + Task "new" will be created  (Task/new.yaml:3)',
        '',
        'Plan: 1 to create, 1 to update, 0 to prune, 0 unchanged.',
        '',
      ].join('\n'),
    );
    const colored = formatPlan(
      plan([], new Map([['Skill/g', 'h']]), () => undefined),
      { color: true },
    );
    expect(colored).toContain('\x1b[31m  - Skill "g" will be pruned\x1b[0m');
    const created = formatPlan(
      plan([res('Skill', 'n')], new Map(), () => undefined),
      { color: true },
    );
    expect(created).toContain('\x1b[32m  + Skill "n" will be created\x1b[0m\x1b[2m  (Skill/n.yaml:3)\x1b[0m');
    const updated = formatPlan(p, { color: true });
    expect(updated).toContain('\x1b[33m  ~ Skill "s" will be updated in place\x1b[0m');
    expect(updated).toContain('\x1b[33m      ~ spec.keep: 1 -> 2\x1b[0m');
    expect(updated).toContain('\x1b[31m      - spec.drop = "x"\x1b[0m');
    expect(updated).toContain('\x1b[32m      + spec.add = {"deep":true}\x1b[0m');
  });

  it('says there are no changes, with the revision, when everything is unchanged', () => {
    const a = res('Skill', 'a');
    const same = plan([a], new Map([['Skill/a', a.hash]]), () => a);
    expect(same.entries[0]).toEqual({
      key: 'Skill/a',
      kind: 'Skill',
      name: 'a',
      action: 'unchanged',
      file: 'Skill/a.yaml:3',
    });
    expect(formatPlan(same, { revision: 'r1' })).toBe(
      'Plan for revision r1:\n\nNo changes. The applied state matches the configuration.\n',
    );
    expect(formatPlan(same)).toBe('No changes. The applied state matches the configuration.\n');
  });

  it('diffs nested values by path, lists by index, and treats a list and an object as a change', () => {
    expect(diffFields({ a: { b: [{ c: 1 }] } }, { a: { b: [{ c: 2 }] } })).toEqual([
      { path: 'a.b[0].c', op: 'change', before: 1, after: 2 },
    ]);
    expect(diffFields([1, 2, 3], [1], 'l')).toEqual([
      { path: 'l[1]', op: 'remove', before: 2 },
      { path: 'l[2]', op: 'remove', before: 3 },
    ]);
    expect(diffFields({ a: [1] }, { a: { 0: 1 } })).toEqual([
      { path: 'a', op: 'change', before: [1], after: { 0: 1 } },
    ]);
    expect(diffFields({ a: null }, { a: {} })).toEqual([{ path: 'a', op: 'change', before: null, after: {} }]);
    expect(diffFields({ a: undefined }, {})).toEqual([{ path: 'a', op: 'remove', before: undefined }]);
    expect(diffFields('x', 'x')).toEqual([]);
    expect(diffFields(undefined, null)).toEqual([{ path: '', op: 'change', before: undefined, after: null }]);
  });
});

describe('planner order of large plans and the rendering of values', () => {
  it('orders a plan longer than a short insertion sort by kind, then name, input reversed', () => {
    const names = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const desired = [...names].reverse().flatMap((n) => [res('Task', n), res('Skill', n)]);
    const p = plan(desired, new Map([['Runtime/zz', 'h']]), () => undefined);
    expect(p.entries.map((e) => e.key)).toEqual([
      'Runtime/zz',
      ...names.map((n) => `Skill/${n}`),
      ...names.map((n) => `Task/${n}`),
    ]);
  });

  it('shows a missing value as null, a value of 120 characters whole and a longer one cut', () => {
    const entry = (changes: FieldChange[]): Plan => ({
      entries: [{ key: 'Skill/s', kind: 'Skill', name: 's', action: 'update', changes }],
      summary: { create: 0, update: 1, delete: 0, unchanged: 0 },
    });
    const exact = 'x'.repeat(118); // 120 characters with its quotes
    const over = 'y'.repeat(119);
    const text = formatPlan(
      entry([
        { path: 'spec.gone', op: 'remove', before: undefined },
        { path: 'spec.exact', op: 'add', after: exact },
        { path: 'spec.over', op: 'change', before: over, after: 1 },
      ]),
    );
    expect(text.split('\n')).toEqual([
      'Caduceus will perform the following actions:',
      '',
      '  ~ Skill "s" will be updated in place',
      '      - spec.gone = null',
      `      + spec.exact = "${exact}"`,
      `      ~ spec.over: "${'y'.repeat(116)}... -> 1`,
      '',
      'Plan: 0 to create, 1 to update, 0 to prune, 0 unchanged.',
      '',
    ]);
  });
});
