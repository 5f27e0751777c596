// The compiled CLI as people run it: `caduceus curator run` (and --dry-run), `status`,
// `proposals` and `show`, against a real bare remote and state directory. The two tests have
// their own fixtures and run at once; the read-only commands of one run at once too.

import { describe, it, type TestContext } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_ENV, git } from '../../helpers/git.js';
import { makeFixture, usualRuns, type Fixture } from './fixtures.js';
import { type Finished, runProcess } from '../../helpers/process.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'app', 'cli.js');
/** A fixture closed when its own test ends (the tests run at once, so not in a shared afterEach). */
function fixture(ctx: TestContext): Fixture {
  const f = makeFixture();
  ctx.onTestFinished(() => f.store.close());
  return f;
}

function cli(args: string[]): Promise<Finished> {
  return runProcess(process.execPath, [CLI, 'curator', ...args], { env: GIT_ENV });
}

// Two minutes each: the two tests share the CPU.
describe.concurrent('caduceus curator (CLI)', { timeout: 120_000 }, () => {
  it('runs, then lists, shows and reports the proposals', async (ctx) => {
    const { expect } = ctx;
    const f = fixture(ctx);
    usualRuns(f.runs);
    const dry = await cli([
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

    const run = await cli([
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

    const [list, show, status] = await Promise.all([
      cli(['proposals', '--state-dir', f.stateDir]),
      cli(['show', report.proposals[0]!.id.slice(0, 6), '--state-dir', f.stateDir]),
      cli(['status', '--state-dir', f.stateDir]),
    ]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+ACTION\s+SKILLS\s+STATE\s+BRANCH\s+PULL REQUEST\s+TITLE$/);
    expect(list.stdout).toMatch(
      new RegExp(`${report.proposals[0]!.id}\\s+consolidate\\s+deploy,deploy-app\\s+open\\s+${report.branch}`),
    );

    expect(show.code).toBe(0);
    expect(show.stdout).toContain('merge deploy-app: similarity 0.96');
    expect(show.stdout).toContain('+  aliases:\n+    - deploy-app');

    expect(status.stdout).toMatch(/Curator default: proposed/);
    expect(status.stdout).toContain('most used:  deploy (20)');
  });

  it('a dry-run of a directory with no state creates nothing, and usage errors exit 2', async (ctx) => {
    const { expect } = ctx;
    const f = fixture(ctx);
    const stateDir = join(f.stateDir, 'not-there');
    const dry = await cli(['run', '--dry-run', join(f.work, 'config'), '--state-dir', stateDir]);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('no run history');
    expect(existsSync(stateDir)).toBe(false);
    // Without --dry-run a DIR means the repository around it, on its checked-out branch.
    usualRuns(f.runs);
    const run = await cli(['run', join(f.work, 'config'), '--state-dir', f.stateDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(git(f.work, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/curator/')).toMatch(
      /^curator\/\d{4}-\d{2}-\d{2}$/,
    );
    expect(git(f.work, 'status', '--porcelain')).toBe('');
    const [usage, missing] = await Promise.all([cli(['frobnicate']), cli(['show', 'nope', '--state-dir', f.stateDir])]);
    expect(usage.code).toBe(2);
    expect(missing.stderr).toMatch(/no proposal nope/);
  });
});
