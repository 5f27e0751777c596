// Lists the configuration files of one commit from git objects (never the working tree):
// every *.yaml / *.yml blob (and skill folder file) under the sub-path, with the blob SHA as the file's id and a
// lazy read() through the shared cat-file process, so the loader re-parses only blobs
// whose id changed since the last revision.

import type { SimpleGit } from 'simple-git';
import type { SourceFile } from '../source-file.js';
import { CaduceusError } from '../errors.js';
import type { BlobReader } from './blob-reader.js';
import { gitError } from './git-cli.js';
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

function keep(mode: string | undefined, path: string): boolean {
  // Regular files only: submodules are commits and symlinks could point outside the tree.
  return (mode === '100644' || mode === '100755') && isConfigFile(path);
}

/**
 * The files of `commit` from those of an earlier commit plus `git diff-tree` between the
 * two: the cost follows the size of the change, not of the repository (a one-file commit
 * in a 10,000-file tree). Falls back to a full listing if the diff cannot be made (the
 * older commit was pruned from a shallow mirror).
 */
export async function readTreeSince(
  git: SimpleGit,
  blobs: BlobReader,
  prev: { id: string; files: SourceFile[] },
  commit: string,
  subPath: string,
): Promise<SourceFile[]> {
  let out: string;
  try {
    out = await git.raw([
      'diff-tree',
      '-r',
      '-z',
      '--no-renames',
      '--no-commit-id',
      ...(subPath ? [`--relative=${subPath}/`] : []),
      '--end-of-options',
      prev.id,
      commit,
    ]);
  } catch {
    return readTree(git, blobs, commit, subPath);
  }
  const byPath = new Map(prev.files.map((f) => [f.path, f]));
  let added = false;
  // Records: `:<old mode> <new mode> <old sha> <new sha> <status>` NUL `<path>` NUL
  const parts = out.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = (parts[i] as string).replace(/^:/, '').split(' ');
    const path = parts[i + 1] as string;
    const [, newMode, , newSha, status] = meta;
    if (status !== 'D' && newSha && keep(newMode, path)) {
      // Replacing an existing key keeps its place in the (sorted) order.
      if (!byPath.has(path)) added = true;
      byPath.set(path, { path, id: newSha, read: () => blobs.read(newSha) });
    } else {
      byPath.delete(path);
    }
  }
  const files = [...byPath.values()];
  return added ? files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : files;
}

/** The config files of `commit` under `subPath`, paths relative to the sub-path. */
export async function readTree(
  git: SimpleGit,
  blobs: BlobReader,
  commit: string,
  subPath: string,
): Promise<SourceFile[]> {
  const treeish = subPath ? `${commit}:${subPath}` : `${commit}^{tree}`;
  let out: string;
  try {
    // --full-tree: run from a sub-directory, ls-tree would otherwise list only below it.
    out = await git.raw(['ls-tree', '-r', '-z', '--full-tree', '--end-of-options', treeish]);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/not a valid object|not a tree object|invalid object/i.test(msg)) {
      throw new CaduceusError('GitPathNotFound', `commit ${commit.slice(0, 8)} has no directory "${subPath}"`, {
        hint: 'check --path: it is relative to the repository root',
      });
    }
    throw gitError('GitReadFailed', `listing the tree of ${commit.slice(0, 8)} failed`, err);
  }
  const files: SourceFile[] = [];
  for (const entry of out.split('\0')) {
    if (entry === '') continue;
    // <mode> SP <type> SP <object> TAB <path>
    const tab = entry.indexOf('\t');
    const [mode, type, sha] = entry.slice(0, tab).split(' ');
    const path = entry.slice(tab + 1);
    if (type !== 'blob' || !sha || !keep(mode, path)) continue;
    files.push({ path, id: sha, read: () => blobs.read(sha) });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}
