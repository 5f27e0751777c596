// A local repository as the source: the tip of a branch (default: whatever HEAD points
// to), read from git objects. A chokidar watch on the ref directories reports a commit
// within milliseconds; a slow poll backs it up in case a file event is ever missed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../types.js';
import { CaduceusError, errorMessage } from '../errors.js';
import { BlobReader } from './blob-reader.js';
import { openLocalRepo, readRefFile, type LocalRepo } from './local-repo.js';
import { watchRefs, type RefWatcher } from './ref-watcher.js';
import { normalizeSubPath, resolveCommit } from './tree-reader.js';
import { TreeWalker } from './tree-walk.js';
import type { Revision, Source, SourceStatus } from './source-types.js';

/** Safety poll: the ref watcher is the fast path, this only heals a missed event. */
const SAFETY_POLL_MS = 30_000;

export interface LocalSourceOptions {
  repo: string;
  path?: string;
  branch?: string;
  log: Logger;
}

/** The tip of `branch` (or HEAD) in `repo`, as a Revision; throws a clear error when missing. */
export async function readCommit(
  r: LocalRepo,
  blobs: BlobReader,
  rev: string,
  subPath: string,
  what: string,
): Promise<Revision> {
  const sha = await resolveCommit(r.git, rev);
  if (!sha) throw missingRevision(r, rev, what);
  return { id: sha, files: await new TreeWalker(blobs).list(sha, normalizeSubPath(r.prefix + subPath)) };
}

function missingRevision(r: LocalRepo, rev: string, what: string): CaduceusError {
  if (rev === 'HEAD')
    return new CaduceusError('GitNoCommits', `${r.dir} has no commit yet`, {
      hint: "commit the configuration first: git add -A && git commit -m 'initial configuration'",
    });
  return new CaduceusError(
    what === 'branch' ? 'GitBranchNotFound' : 'GitRevisionNotFound',
    `${what} "${rev.replace(/^refs\/heads\//, '')}" does not exist in ${r.dir}`,
    {
      hint:
        what === 'branch'
          ? "check --branch, or create it with 'git switch -c NAME'"
          : 'give a branch, tag or commit SHA',
    },
  );
}

function headBranch(r: LocalRepo): string | undefined {
  try {
    const head = readFileSync(join(r.gitDir, 'HEAD'), 'utf8').trim();
    return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : undefined;
  } catch {
    return undefined;
  }
}

export class LocalSource implements Source {
  private repo: LocalRepo | undefined;
  private blobs: BlobReader | undefined;
  private walker: TreeWalker | undefined;
  private readonly subPath: string;
  private last: Revision | undefined;
  private watcher: RefWatcher | undefined;
  private watching: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The branch HEAD names when no --branch is given, for status. */
  private headBranch: string | undefined;

  constructor(private readonly opts: LocalSourceOptions) {
    this.subPath = normalizeSubPath(opts.path);
  }

  private async open(): Promise<{ repo: LocalRepo; blobs: BlobReader }> {
    if (this.stopped) throw new CaduceusError('GitSourceClosed', 'the git source was stopped');
    if (!this.repo || !this.blobs) {
      this.repo = await openLocalRepo(this.opts.repo);
      this.blobs = new BlobReader(this.repo.dir);
    }
    return { repo: this.repo, blobs: this.blobs };
  }

  private ref(): string {
    return this.opts.branch ? `refs/heads/${this.opts.branch}` : 'HEAD';
  }

  async current(): Promise<Revision> {
    const { repo, blobs } = await this.open();
    if (!this.opts.branch) this.headBranch = headBranch(repo);
    const sha = readRefFile(repo, this.ref()) ?? (await resolveCommit(repo.git, this.ref()));
    if (!sha) throw missingRevision(repo, this.ref(), 'branch');
    // Same commit, same files: the loop compares ids and stops there.
    if (this.last?.id === sha) return this.last;
    this.walker ??= new TreeWalker(blobs);
    const files = await this.walker.list(sha, normalizeSubPath(repo.prefix + this.subPath));
    this.last = { id: sha, files };
    return this.last;
  }

  async start(onChange: () => void): Promise<void> {
    const { repo } = await this.open();
    // The watch's first scan runs while the tip is read and loaded, not before: a commit
    // made before the watch was ready is caught by the check it asks for once ready.
    this.watching = watchRefs(
      { gitDir: repo.gitDir, commonDir: repo.commonDir },
      () => onChange(),
      (err) => this.opts.log.warn('watching git refs failed; falling back to polling', { error: errorMessage(err) }),
    ).then(
      (w) => {
        if (this.stopped) {
          void w.close();
          return;
        }
        this.watcher = w;
        onChange();
      },
      (err: unknown) =>
        this.opts.log.warn('watching git refs failed; falling back to polling', { error: errorMessage(err) }),
    );
    await this.current(); // fails fast on a missing branch or path
    this.poll = setInterval(onChange, SAFETY_POLL_MS);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    await this.watching;
    await this.watcher?.close();
    this.blobs?.close();
  }

  async fetchNow(): Promise<void> {
    // A local repository is read directly; there is nothing to fetch.
  }

  status(): SourceStatus {
    return {
      mode: 'local',
      repo: this.repo?.dir ?? this.opts.repo,
      // An empty branch or sub-path is no branch or sub-path.
      branch: (this.opts.branch ?? this.headBranch) || undefined,
      path: this.subPath || undefined,
      fetchErrors: 0,
      revision: this.last?.id,
    };
  }
}
