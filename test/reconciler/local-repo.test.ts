// Opening a local repository without starting git: what the files say must be what
// `git rev-parse` says, for the layouts read from disk, and git is asked for the others.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { discoverOnDisk } from '../../reconciler/source/local-repo.js';
import { git, makeRemote, makeRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

/** git's own answer, in the shape discoverOnDisk returns. */
function gitAnswer(dir: string): { gitDir: string; commonDir: string; bare: boolean; prefix: string } {
  const out = git(
    dir,
    'rev-parse',
    '--is-bare-repository',
    '--absolute-git-dir',
    '--path-format=absolute',
    '--git-common-dir',
    '--show-prefix',
  );
  const [bare, gitDir, commonDir, prefix] = out.split('\n');
  return { gitDir: gitDir ?? '', commonDir: commonDir ?? '', bare: bare === 'true', prefix: prefix ?? '' };
}

describe('discoverOnDisk', () => {
  it('reads the top and a sub-directory of a repository as git rev-parse does', () => {
    const repo = makeRepo({ 'config/skills/a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    for (const dir of [repo, join(repo, 'config'), join(repo, 'config/skills')]) {
      expect(discoverOnDisk(dir)).toEqual(gitAnswer(dir));
    }
    expect(discoverOnDisk(join(repo, 'config/skills'))?.prefix).toBe('config/skills/');
  });

  it('reads a linked worktree (a .git file and commondir) as git rev-parse does', () => {
    const repo = makeRepo({ 'config/a.yaml': 'a: 1\n' });
    const wt = join(tempDir('caduceus-wt-'), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
    const answer = discoverOnDisk(join(wt, 'config'));
    expect(answer).toEqual(gitAnswer(join(wt, 'config')));
    expect(answer?.commonDir).not.toBe(answer?.gitDir);
  });

  it('leaves a bare repository, a moved work tree and a directory outside any repository to git', () => {
    const { bare } = makeRemote({ 'a.yaml': 'a: 1\n' });
    expect(discoverOnDisk(bare)).toBeUndefined();
    const moved = makeRepo({ 'a.yaml': 'a: 1\n' });
    git(moved, 'config', 'core.worktree', moved);
    expect(discoverOnDisk(moved)).toBeUndefined();
    expect(discoverOnDisk(tempDir('caduceus-norepo-'))).toBeUndefined();
  });
});
