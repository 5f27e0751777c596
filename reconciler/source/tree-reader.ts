// Helpers of reading commits (tree-walk.ts lists their files): which files count, the
// configuration sub-path inside the repository, and a revision resolved to a commit.

import type { SimpleGit } from 'simple-git';
import type { SourceFile } from '../source-file.js';
import { CaduceusError } from '../errors.js';
import type { TreeWalker } from './tree-walk.js';
import { isSkillFolderFile, isSkillMdPath } from '../skill-md.js';

/** YAML files and Agent Skills folders (SKILL.md and its scripts/, references/, assets/). */
export function isConfigFile(path: string): boolean {
  return /\.ya?ml$/i.test(path) || isSkillMdPath(path) || isSkillFolderFile(path);
}

/** `./examples/repo/` → `examples/repo`; `.` and `` → `` (the repository root). */
export function normalizeSubPath(path: string | undefined): string {
  const p = (path ?? '')
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
  if (p.split('/').includes('..'))
    throw new CaduceusError('GitBadPath', `--path must stay inside the repository, got "${path}"`);
  return p;
}

/** Resolves a revision (branch, tag, SHA, HEAD) to a commit SHA, or undefined when it does not exist. */
export async function resolveCommit(git: SimpleGit, rev: string): Promise<string | undefined> {
  try {
    return (
      (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export function missingDirectory(commit: string, subPath: string): CaduceusError {
  return new CaduceusError('GitPathNotFound', `commit ${commit.slice(0, 8)} has no directory "${subPath}"`, {
    hint: 'check --path: it is relative to the repository root',
  });
}

/**
 * The revision at `commit`: its files under `subPath`, or, when the commit has no such
 * directory, a revision marked `missingPath` that the loop rejects: renaming the followed
 * directory must not read as "delete everything".
 */
export async function readRevision(
  walker: TreeWalker,
  commit: string,
  subPath: string,
): Promise<{ id: string; files: SourceFile[]; missingPath?: string }> {
  try {
    return { id: commit, files: await walker.list(commit, subPath) };
  } catch (err) {
    if (err instanceof CaduceusError && err.code === 'GitPathNotFound')
      return { id: commit, files: [], missingPath: subPath };
    throw err;
  }
}
