import { describe, expect, it } from 'vitest';
import { findSkill, skillIndex } from '../../reconciler/skill-names.js';
import type { Resource, ResourceKey, Snapshot } from '../../reconciler/types.js';

function skill(name: string, aliases: string[]): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: { version: '1.0.0', description: name, params: [], steps: [{ run: 'true' }], timeout: '10m', aliases },
    source: { file: `skills/${name}.yaml`, line: 1, column: 1 },
    hash: `h-${name}`,
  } as Resource;
}

function snapshot(resources: Resource[]): Snapshot {
  return {
    revision: 'r1',
    resources: new Map(resources.map((r) => [`${r.kind}/${r.metadata.name}` as ResourceKey, r])),
  };
}

describe('findSkill', () => {
  it('finds a skill by its name or any alias, and nothing for an unknown name', () => {
    const snap = snapshot([skill('deploy', ['ship', 'release']), skill('lint', [])]);
    expect(findSkill(snap, 'deploy')?.metadata.name).toBe('deploy');
    expect(findSkill(snap, 'release')?.metadata.name).toBe('deploy');
    expect(findSkill(snap, 'lint')?.metadata.name).toBe('lint');
    expect(findSkill(snap, 'Deploy')).toBeUndefined();
    expect(findSkill(snapshot([]), 'deploy')).toBeUndefined();
  });

  it("prefers a canonical name over another skill's alias spelled the same", () => {
    const snap = snapshot([skill('a', ['b']), skill('b', [])]);
    expect(findSkill(snap, 'b')?.metadata.name).toBe('b');
  });

  it('builds the index once per snapshot and a fresh one for a new revision', () => {
    const first = snapshot([skill('deploy', ['ship'])]);
    expect(skillIndex(first)).toBe(skillIndex({ revision: 'same map', resources: first.resources }));
    const next = snapshot([skill('deploy', ['push'])]);
    expect(findSkill(next, 'ship')).toBeUndefined();
    expect(findSkill(next, 'push')?.metadata.name).toBe('deploy');
    expect(findSkill(first, 'ship')?.metadata.name).toBe('deploy');
  });
});
