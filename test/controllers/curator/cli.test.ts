// The compiled CLI as people run it: `caduceus curator run` (and --dry-run), `status`,
// `proposals` and `show`, against a real bare remote and state directory.

import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_ENV, git } from '../../helpers/git.js';
import { makeFixture, usualRuns, type Fixture } from './fixtures.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'app', 'cli.js');
const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.store.close();
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'curator', ...args], { encoding: 'utf8', env: GIT_ENV, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('caduceus curator (CLI)', () => {
  it('runs, then lists, shows and reports the proposals', () => {
    const f = makeFixture();
    fixtures.push(f);
    usualRuns(f.runs);
    const dry = cli([
      'run',
      '--dry-run',
      '--repo',
      f.bare,
      '--path',
      'config',
      '--branch',
      'main',
      '--state-dir',
      f.stateDir,
    ]);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Curator default: dry-run \(dry run\)/);
    expect(dry.stdout).toContain('-      skill: deploy-app\n+      skill: deploy');
    expect(git(f.bare, 'for-each-ref', '--format=%(refname)')).toBe('refs/heads/main');

    const run = cli([
      'run',
      '--repo',
      f.bare,
      '--path',
      'config',
      '--branch',
      'main',
      '--state-dir',
      f.stateDir,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { outcome: string; branch: string; proposals: Array<{ id: string }> };
    expect(report.outcome).toBe('proposed');
    expect(git(f.bare, 'rev-list', '--count', `main..${report.branch}`)).toBe('2');

    const list = cli(['proposals', '--state-dir', f.stateDir]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+ACTION\s+SKILLS\s+STATE\s+BRANCH\s+PULL REQUEST\s+TITLE$/);
    expect(list.stdout).toMatch(
      new RegExp(`${report.proposals[0]!.id}\\s+consolidate\\s+deploy,deploy-app\\s+open\\s+${report.branch}`),
    );

    const show = cli(['show', report.proposals[0]!.id.slice(0, 6), '--state-dir', f.stateDir]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('merge deploy-app: similarity 0.96');
    expect(show.stdout).toContain('+  aliases:\n+    - deploy-app');

    const status = cli(['status', '--state-dir', f.stateDir]);
    expect(status.stdout).toMatch(/Curator default: proposed/);
    expect(status.stdout).toContain('most used:  deploy (20)');
  });

  it('a dry-run of a directory with no state creates nothing, and usage errors exit 2', () => {
    const f = makeFixture();
    fixtures.push(f);
    const stateDir = join(f.stateDir, 'not-there');
    const dry = cli(['run', '--dry-run', join(f.work, 'config'), '--state-dir', stateDir]);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('no run history');
    expect(existsSync(stateDir)).toBe(false);
    // Without --dry-run a DIR means the repository around it, on its checked-out branch.
    usualRuns(f.runs);
    const run = cli(['run', join(f.work, 'config'), '--state-dir', f.stateDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(git(f.work, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/curator/')).toMatch(
      /^curator\/\d{4}-\d{2}-\d{2}$/,
    );
    expect(git(f.work, 'status', '--porcelain')).toBe('');
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['show', 'nope', '--state-dir', f.stateDir]).stderr).toMatch(/no proposal nope/);
  });
});
