// Helpers of reading commits (tree-walk.ts lists their files): which files count, the
// configuration sub-path inside the repository, and a revision resolved to a commit.

import type { SimpleGit } from 'simple-git';
import { CaduceusError } from '../errors.js';
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
