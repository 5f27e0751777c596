// `caduceus skill import` and `export` through the compiled CLI on real repositories: an
// import from a folder or a git URL lands as a commit on its own branch (the checked-out
// branch and its files untouched), an invalid one commits nothing, and an export writes a
// SKILL.md folder that loads again.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDirectory } from '../../reconciler/loader.js';
import { keyOf } from '../../reconciler/types.js';
import { GIT_ENV, git, makeRepo, skillYaml, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'app', 'cli.js');
const cli = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, env: GIT_ENV, encoding: 'utf8' });

const SKILL_MD = `---
name: triage
description: Sorts new alerts by urgency. Use when alerts pile up.
---
Run scripts/sort.sh on the alert list.
`;

function skillFolder(): string {
  const dir = tempDir('caduceus-skill-src-');
  writeFiles(dir, { 'triage/SKILL.md': SKILL_MD, 'triage/scripts/sort.sh': 'sort -r\n' });
  return join(dir, 'triage');
}

describe('caduceus skill import and export', () => {
  it('imports a folder as a commit on its own branch and leaves the checked-out branch alone', async () => {
    const repo = makeRepo({ 'config/skills/hello.yaml': skillYaml('hello') });
    const head = git(repo, 'rev-parse', 'HEAD');
    const r = cli(repo, 'skill', 'import', skillFolder(), 'config');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^imported skill triage as commit [0-9a-f]+ on branch skill-import\/triage; review it/);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(existsSync(join(repo, 'config/skills/triage'))).toBe(false);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'show', '--name-only', '--format=%s', 'skill-import/triage').split('\n')).toEqual([
      expect.stringMatching(/^Import the Agent Skill triage from \//),
      '',
      'config/skills/triage/SKILL.md',
      'config/skills/triage/scripts/sort.sh',
    ]);
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1);

    git(repo, 'merge', '-q', '--ff-only', 'skill-import/triage');
    const { resources, findings } = await loadDirectory(join(repo, 'config'));
    expect(findings).toEqual([]);
    expect(resources.map(keyOf).sort()).toEqual(['Skill/hello', 'Skill/triage']);
  });

  it('imports from a git URL and refuses a folder that does not validate, committing nothing', () => {
    const upstream = makeRepo({ 'skills/triage/SKILL.md': SKILL_MD });
    const repo = makeRepo({ 'skills/hello.yaml': skillYaml('hello') });
    const ok = cli(repo, 'skill', 'import', `file://${upstream}`, '--subdir', 'skills/triage');
    expect(ok.status).toBe(0);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'skill-import/triage')).toBe(
      'skills/hello.yaml\nskills/triage/SKILL.md',
    );

    const bad = tempDir('caduceus-skill-bad-');
    writeFiles(bad, { 'broken/SKILL.md': '---\nname: broken\ndescription: x\nversion: 2\n---\nbody\n' });
    const r = cli(repo, 'skill', 'import', join(bad, 'broken'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('skills/broken/SKILL.md:4:1  error  unknown property "version"');
    expect(git(repo, 'branch', '--list', 'skill-import/broken')).toBe('');
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('exports a SKILL.md skill as its folder and a YAML skill as a SKILL.md that loads again', async () => {
    const repo = makeRepo({
      'skills/triage/SKILL.md': SKILL_MD,
      'skills/triage/scripts/sort.sh': 'sort -r\n',
      'skills/greet.yaml': skillYaml('greet', 'echo "hi $PARAM_WHO"', {
        extra: '  instructions: Greet warmly.\n  params:\n    - name: who\n      type: string\n      required: true\n',
      }),
    });
    const out = tempDir('caduceus-skill-out-');
    expect(cli(repo, 'skill', 'export', 'triage', '--out', out).status).toBe(0);
    expect(readFileSync(join(out, 'triage/SKILL.md'), 'utf8')).toBe(SKILL_MD);
    expect(readFileSync(join(out, 'triage/scripts/sort.sh'), 'utf8')).toBe('sort -r\n');

    const r = cli(repo, 'skill', 'export', 'greet', '--out', out);
    expect(r.stdout).toBe(`wrote ${join(out, 'greet')} (1 file(s))\n`);
    expect(readFileSync(join(out, 'greet/SKILL.md'), 'utf8')).toBe(
      [
        '---',
        'name: greet',
        'description: Says greet',
        'metadata:',
        '  version: 1.0.0',
        '---',
        'Greet warmly.',
        '',
        '## Parameters',
        '',
        '- `who` (string, required)',
        '',
        '## Steps',
        '',
        'Each parameter is in the environment as PARAM_<NAME> (upper case, - as _).',
        '',
        '1. step 1',
        '',
        '```sh',
        'echo "hi $PARAM_WHO"',
        '```',
        '',
      ].join('\n'),
    );
    const dir = tempDir('caduceus-skill-load-');
    cpSync(join(out, 'greet'), join(dir, 'skills', 'greet'), { recursive: true });
    const { resources, findings } = await loadDirectory(dir);
    expect(findings).toEqual([]);
    expect(resources[0]?.spec).toMatchObject({ version: '1.0.0', description: 'Says greet', steps: [] });
  });
});
