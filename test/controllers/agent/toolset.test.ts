// The agent's tool permissions: what an allow-list resolves to (builtins, groups, skills
// by name or alias, `skills` for all), what it refuses, delegate only at the top, builtins
// winning over skills of the same name, and the argument check of builtin tools.

import { describe, expect, it } from 'vitest';
import { builtinArgumentProblem, resolveToolset } from '../../../controllers/agent/tools/toolset.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import type { Resource, ResourceKey, Snapshot } from '../../../reconciler/types.js';

function skill(name: string, aliases: string[] = []): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: {
      version: '1.0.0',
      description: `does ${name}`,
      params: [{ name: 'who', type: 'string', required: true }],
      steps: [{ run: 'true' }],
      timeout: '10m',
      aliases,
    },
    source: { file: `skills/${name}.yaml`, line: 1, column: 1 },
    hash: `h-${name}`,
  } as Resource;
}

const snapshot = (): Snapshot => ({
  revision: 'r1',
  resources: new Map(
    [skill('deploy', ['ship']), skill('lint'), skill('shell'), { ...skill('t'), kind: 'Task' } as Resource].map((r) => [
      `${r.kind}/${r.metadata.name}` as ResourceKey,
      r,
    ]),
  ),
});

function refused(allow: string[]): CaduceusError {
  try {
    resolveToolset(snapshot(), allow, 0);
  } catch (e) {
    expect(e).toBeInstanceOf(CaduceusError);
    return e as CaduceusError;
  }
  throw new Error(`${allow.join(',')} resolved`);
}

describe('resolveToolset', () => {
  it('offers exactly the allowed tools: builtins in their fixed order, then skills by canonical name', () => {
    const t = resolveToolset(snapshot(), ['ship', 'read_file', 'lint', 'shell', 'remember'], 0);
    expect(t.names).toEqual(['shell', 'read_file', 'remember', 'deploy', 'lint']);
    expect([...t.byName.keys()]).toEqual(t.names);
    expect(t.definitions.map((d) => d.type === 'function' && d.function.name)).toEqual(t.names);
    const deploy = t.definitions[3];
    expect(deploy).toEqual({
      type: 'function',
      function: {
        name: 'deploy',
        description: 'does deploy (skill deploy@1.0.0)',
        parameters: t.byName.get('deploy')?.parameters,
      },
    });
    expect(t.byName.get('shell')?.description).not.toBe('does shell (skill shell@1.0.0)');
  });

  it('expands groups, and `skills` to every skill except one named like a builtin', () => {
    expect(resolveToolset(snapshot(), ['files'], 0).names).toEqual(['read_file', 'write_file', 'list_files']);
    expect(resolveToolset(snapshot(), ['http'], 0).names).toEqual(['http_get']);
    expect(resolveToolset(snapshot(), ['skills'], 0).names).toEqual(['deploy', 'lint']);
    expect(resolveToolset(snapshot(), [], 0).names).toEqual([]);
  });

  it('offers delegate only at the top level', () => {
    expect(resolveToolset(snapshot(), ['delegate', 'shell'], 0).names).toEqual(['shell', 'delegate']);
    expect(resolveToolset(snapshot(), ['delegate', 'shell'], 1).names).toEqual(['shell']);
    expect(resolveToolset(snapshot(), ['delegate'], 2).names).toEqual([]);
  });

  it('refuses a name that is neither a builtin, a group nor a skill', () => {
    const e = refused(['read_file', 'rm_rf']);
    expect(e.code).toBe('UnknownAgentTool');
    expect(e.field).toBe('tools');
    expect(e.message).toBe(
      '"rm_rf" is not an agent tool: use a skill name, one of shell, read_file, write_file, list_files, http_get, ' +
        'delegate, remember, or a group (skills, files, http)',
    );
    expect(refused(['t']).code).toBe('UnknownAgentTool');
    expect(refused(['Deploy']).code).toBe('UnknownAgentTool');
  });
});

describe('builtinArgumentProblem', () => {
  const tools = () => resolveToolset(snapshot(), ['files', 'deploy'], 0).byName;

  it('accepts arguments that fit the schema', () => {
    expect(builtinArgumentProblem(tools().get('read_file')!, { path: 'a.txt' })).toBeUndefined();
  });

  it('names every problem with the arguments', () => {
    expect(builtinArgumentProblem(tools().get('read_file')!, {})).toBe("arguments must have required property 'path'");
    expect(builtinArgumentProblem(tools().get('read_file')!, { path: 3, extra: 1 })).toBe(
      'arguments must NOT have additional properties; /path must be string',
    );
    // Twice: the second check uses the compiled validator.
    expect(builtinArgumentProblem(tools().get('read_file')!, { path: 3 })).toBe('/path must be string');
  });

  it('leaves skills to their own check', () => {
    expect(builtinArgumentProblem(tools().get('deploy')!, {})).toBeUndefined();
  });
});
