// The git source: where revisions come from. One interface, three modes: a local
// repository (ref watch), a remote URL (mirror + fetch on interval and webhook), and the
// dev --worktree mode (uncommitted files). Desired state is read from a commit's tree,
// never from a half-edited working tree, except in worktree mode.

import { CaduceusError } from '../errors.js';
import { BlobReader } from './blob-reader.js';
import { LocalSource, readCommit } from './local-source.js';
import { openLocalRepo } from './local-repo.js';
import { RemoteSource } from './remote-source.js';
import { WorktreeSource } from './worktree-source.js';
import { normalizeSubPath } from './tree-reader.js';
import type { Revision, Source, SourceOptions } from './source-types.js';

export type { Revision, Source, SourceOptions, SourceStatus } from './source-types.js';

/** A URL (scheme://…) or scp-like `user@host:path` means a remote repository. */
export function isRemoteRepo(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^/\s]+:/.test(repo);
}

export function createSource(opts: SourceOptions): Source {
  const common = { log: opts.log, path: opts.path };
  if (opts.worktree) {
    if (isRemoteRepo(opts.repo))
      throw new CaduceusError('WorktreeNeedsLocalRepo', '--worktree watches files on disk and needs a local --repo', {
        hint: 'drop --worktree or give a local path',
      });
    return new WorktreeSource({ repo: opts.repo, ...common });
  }
  if (isRemoteRepo(opts.repo)) {
    return new RemoteSource({
      url: opts.repo,
      stateDir: opts.stateDir,
      ...common,
      branch: opts.branch,
      interval: opts.interval,
    });
  }
  return new LocalSource({ repo: opts.repo, ...common, branch: opts.branch });
}

/** Any revision (branch, tag, SHA) of a local repository, for `caduceus plan --repo --rev`. */
export async function readRevision(repo: string, rev: string, path?: string): Promise<Revision> {
  if (isRemoteRepo(repo)) {
    throw new CaduceusError('PlanNeedsLocalRepo', `plan --repo reads a local repository, got ${repo}`, {
      hint: 'clone it first and pass the clone',
    });
  }
  const r = await openLocalRepo(repo);
  return readCommit(r, new BlobReader(r.dir), rev, normalizeSubPath(path), 'revision');
}
