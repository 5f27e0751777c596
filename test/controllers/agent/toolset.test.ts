// The agent's tool permissions: what an allow-list resolves to (builtins, groups, skills
// by name or alias, `skills` for all), what it refuses, delegate only at the top, builtins
// winning over skills of the same name, and the argument check of builtin tools.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveToolset } from '../../../controllers/agent/tools/toolset.js';
import { unknownToolProblem } from '../../../reconciler/agent-contract.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import type { Resource, ResourceKey, ServerTool, Snapshot } from '../../../reconciler/types.js';

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

  it('offers skills sorted by canonical name whatever the order of the allow-list', () => {
    expect(resolveToolset(snapshot(), ['lint', 'ship', 'http_get'], 0).names).toEqual(['http_get', 'deploy', 'lint']);
  });

  it('offers a skill named like a builtin as nothing when only the skill is allowed by name', () => {
    // `shell` names the builtin, which is then allowed: the skill of that name is never offered.
    const t = resolveToolset(snapshot(), ['shell'], 0);
    expect(t.names).toEqual(['shell']);
    expect(t.byName.get('shell')?.description).not.toContain('skill shell@');
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

describe('server tools in an allow-list', () => {
  const tool = (server: string, name: string): ServerTool => ({
    server,
    tool: name,
    description: `${name} on ${server}`,
    inputSchema: { type: 'object', properties: { id: { type: 'string' } } },
  });
  const servers = [tool('tickets', 'create'), tool('tickets', 'close'), tool('wiki', 'read')];

  it('offers server__tool, or every tool of a server for server__*, after the builtins and skills', () => {
    const t = resolveToolset(snapshot(), ['tickets__close', 'lint', 'read_file'], 0, servers);
    expect(t.names).toEqual(['read_file', 'lint', 'tickets__close']);
    expect(t.definitions[2]).toEqual({
      type: 'function',
      function: {
        name: 'tickets__close',
        description: 'close on tickets (tool close of the MCP server tickets)',
        parameters: { type: 'object', properties: { id: { type: 'string' } } },
      },
    });
    // In the order of the allow-list, then of the servers' tools.
    expect(resolveToolset(snapshot(), ['wiki__*', 'tickets__*'], 0, servers).names).toEqual([
      'wiki__read',
      'tickets__create',
      'tickets__close',
    ]);
  });

  it('offers each server tool once when several entries admit it', () => {
    const t = resolveToolset(snapshot(), ['tickets__*', 'tickets__create', 'tickets__*'], 0, servers);
    expect(t.names).toEqual(['tickets__create', 'tickets__close']);
    expect(t.definitions).toHaveLength(2);
  });

  it('offers nothing, and refuses nothing, for a server that is not connected or a tool it does not have', () => {
    expect(resolveToolset(snapshot(), ['search__*', 'tickets__delete'], 0, servers).names).toEqual([]);
    expect(resolveToolset(snapshot(), ['tickets__*', 'read_file'], 0).names).toEqual(['read_file']);
  });
});

describe('allow-list entries named like properties of every object', () => {
  it('refuses toString, constructor and __proto__ as tools instead of taking them for groups or servers', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', '__x']) {
      const e = refused([name]);
      expect(e.code).toBe('UnknownAgentTool');
      expect(e.message).toBe(
        `"${name}" is not an agent tool: use a skill name, one of shell, read_file, write_file, list_files, ` +
          'http_get, delegate, remember, or a group (skills, files, http)',
      );
      expect(unknownToolProblem(name, () => false)).toBe(e.message);
    }
    expect(unknownToolProblem('files', () => false)).toBeUndefined();
  });
});

describe('builtinArgumentProblem', () => {
  // A fresh module per test: the compiled validators are cached per module, and each test
  // should see the schema compiled by the code as it is now.
  let toolset: typeof import('../../../controllers/agent/tools/toolset.js');
  beforeEach(async () => {
    vi.resetModules();
    toolset = await import('../../../controllers/agent/tools/toolset.js');
  });
  const tools = () =>
    toolset.resolveToolset(snapshot(), ['files', 'deploy', 'shell', 'http', 'delegate', 'remember'], 0);

  it('accepts arguments that fit the schema of each builtin tool', () => {
    const t = tools();
    const valid: Record<string, Record<string, unknown>> = {
      shell: { command: 'true' },
      read_file: { path: 'a.txt' },
      write_file: { path: 'a.txt', content: 'x' },
      list_files: {},
      http_get: { url: 'http://127.0.0.1/' },
      delegate: { agents: [{ prompt: 'look' }] },
      remember: { note: 'a fact' },
    };
    expect(t.names.filter((n) => n !== 'deploy').sort()).toEqual(Object.keys(valid).sort());
    for (const [name, args] of Object.entries(valid)) {
      expect([name, toolset.builtinArgumentProblem(t.byName.get(name)!, args)]).toEqual([name, undefined]);
    }
  });

  it('names every problem with the arguments, not only the first', () => {
    const readFile = tools().byName.get('read_file')!;
    expect(toolset.builtinArgumentProblem(readFile, { path: 3, extra: 1 })).toBe(
      'arguments must NOT have additional properties; arguments/path must be string',
    );
    expect(toolset.builtinArgumentProblem(readFile, {})).toBe("arguments must have required property 'path'");
    // Again: the second check of a tool uses its compiled validator.
    expect(toolset.builtinArgumentProblem(readFile, { path: 3 })).toBe('arguments/path must be string');
  });

  it('leaves skills to their own check', () => {
    expect(toolset.builtinArgumentProblem(tools().byName.get('deploy')!, {})).toBeUndefined();
  });
});
