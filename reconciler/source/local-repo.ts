// Opens a local repository for reading: where its git directories are, and the
// sub-directory the user pointed at when that is inside the work tree. Errors say
// which path is wrong and what to do.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { CaduceusError } from '../errors.js';
import { gitClient, gitMessage } from './git-cli.js';

export interface LocalRepo {
  git: SimpleGit;
  /** The directory git commands run in. */
  dir: string;
  gitDir: string;
  commonDir: string;
  bare: boolean;
  /** Sub-directory of the work tree `dir` is in (`sub/`), '' at the top or in a bare repository. */
  prefix: string;
}

export async function openLocalRepo(repo: string): Promise<LocalRepo> {
  const dir = resolve(repo);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CaduceusError('GitRepoNotFound', `repository ${dir} does not exist`, { hint: 'pass --repo the path of a git repository or a remote URL' });
  }
  const git = gitClient(dir);
  let out: string;
  try {
    out = await git.raw(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--path-format=absolute', '--git-common-dir', '--show-prefix']);
  } catch (err) {
    throw new CaduceusError('GitRepoNotFound', `${dir} is not a git repository (${gitMessage(err)})`, {
      hint: `run 'git init && git add -A && git commit -m init' there, or use 'caduceus init'`,
    });
  }
  const [bare, gitDir, commonDir, prefix] = out.split('\n');
  return { git, dir, bare: bare === 'true', gitDir: gitDir ?? '', commonDir: commonDir ?? gitDir ?? '', prefix: bare === 'true' ? '' : (prefix ?? '') };
}
