// The curator's own clone of the tracked repository (under <stateDir>/curator/clone):
// fetch, branch from the tracked tip, one commit per proposal, push the curator branch
// with --force-with-lease. It refuses to push any branch outside its prefix, so the
// tracked branch can never be written through it.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { CaduceusError } from '../../reconciler/errors.js';

export const CURATOR_IDENTITY = { name: 'Caduceus Curator', email: 'curator@caduceus.invalid' };

export interface CommitInfo {
  sha: string;
  subject: string;
  proposalId: string | undefined;
}

export class GitWork {
  private constructor(
    readonly dir: string,
    readonly tracked: string,
    private readonly git: SimpleGit,
  ) {}

  /** Clones (first time) or fetches the remote into dir, and resolves the tracked branch. */
  static async open(dir: string, remote: string, branch?: string): Promise<GitWork> {
    const config = [
      `user.name=${CURATOR_IDENTITY.name}`,
      `user.email=${CURATOR_IDENTITY.email}`,
      'commit.gpgsign=false',
    ];
    if (existsSync(join(dir, '.git'))) {
      const git = simpleGit({ baseDir: dir, config });
      const url = (await git.raw(['remote', 'get-url', 'origin'])).trim();
      if (url !== remote) await git.raw(['remote', 'set-url', 'origin', remote]);
      await git.raw(['fetch', '--prune', '--quiet', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
      return new GitWork(dir, branch ?? (await remoteHead(git)), git);
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    await simpleGit().clone(remote, dir, ['--quiet', '--no-checkout']);
    const git = simpleGit({ baseDir: dir, config });
    return new GitWork(dir, branch ?? (await remoteHead(git)), git);
  }

  /** The commit the tracked branch points at on the remote. */
  async trackedTip(): Promise<string> {
    const sha = await this.remoteSha(this.tracked);
    if (!sha)
      throw new CaduceusError('CuratorNoBranch', `the remote has no branch ${this.tracked}`, {
        hint: 'set the branch the reconciler follows (--branch)',
      });
    return sha;
  }

  async remoteSha(branch: string): Promise<string | undefined> {
    try {
      return (
        (await this.git.raw(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`])).trim() ||
        undefined
      );
    } catch {
      return undefined;
    }
  }

  async remoteBranches(): Promise<string[]> {
    const out = await this.git.raw(['for-each-ref', '--format=%(refname:lstrip=3)', 'refs/remotes/origin/']);
    return out.split('\n').filter((b) => b && b !== 'HEAD');
  }

  /** A clean working tree at `commit` on local branch `branch` (detached when undefined). */
  async checkout(commit: string, branch?: string): Promise<void> {
    await this.git.raw(
      branch
        ? ['checkout', '--quiet', '--force', '-B', branch, commit]
        : ['checkout', '--quiet', '--force', '--detach', commit],
    );
    await this.git.raw(['clean', '-fdq']);
  }

  /**
   * Commits the given repo-relative paths (additions, edits and removals). Dates are fixed to
   * `date` so the same proposal on the same tip yields the same commit.
   */
  async commit(paths: string[], message: string, date: string): Promise<string> {
    await this.git.raw(['add', '--all', '--', ...paths]);
    const env = {
      ...baseEnv(),
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      GIT_AUTHOR_NAME: CURATOR_IDENTITY.name,
      GIT_AUTHOR_EMAIL: CURATOR_IDENTITY.email,
      GIT_COMMITTER_NAME: CURATOR_IDENTITY.name,
      GIT_COMMITTER_EMAIL: CURATOR_IDENTITY.email,
    };
    await this.git.env(env).raw(['commit', '--quiet', '--no-verify', '-m', message]);
    this.git.env(baseEnv());
    return this.head();
  }

  async head(): Promise<string> {
    return (await this.git.raw(['rev-parse', 'HEAD'])).trim();
  }

  async commitDate(commit: string): Promise<string> {
    return (await this.git.raw(['show', '-s', '--format=%cI', commit])).trim();
  }

  async tree(commit: string): Promise<string> {
    return (await this.git.raw(['rev-parse', `${commit}^{tree}`])).trim();
  }

  /** Commits in base..tip, oldest first, with their Curator-Proposal trailer. */
  async commitsSince(base: string, tip: string): Promise<CommitInfo[]> {
    const out = await this.git.raw([
      'log',
      '--reverse',
      '--format=%H%x1f%s%x1f%(trailers:key=Curator-Proposal,valueonly,separator=)%x1e',
      `${base}..${tip}`,
    ]);
    return out
      .split('\x1e')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [sha = '', subject = '', id = ''] = l.split('\x1f');
        return { sha, subject, proposalId: id.trim() || undefined };
      });
  }

  async parentOf(commit: string): Promise<string | undefined> {
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', `${commit}^`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async isAncestor(commit: string, of: string): Promise<boolean> {
    // simple-git resolves a silent non-zero exit, so `merge-base --is-ancestor` cannot be
    // read from it: compare the merge base instead.
    try {
      const base = (await this.git.raw(['merge-base', commit, of])).trim();
      const full = (await this.git.raw(['rev-parse', `${commit}^{commit}`])).trim();
      return base !== '' && base === full;
    } catch {
      return false;
    }
  }

  async hasCommit(commit: string): Promise<boolean> {
    try {
      await this.git.raw(['cat-file', '-e', `${commit}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** A file's text at `commit` (repo-relative path), or undefined when it is not there. */
  async fileAt(commit: string, path: string): Promise<string | undefined> {
    try {
      return await this.git.raw(['show', `${commit}:${path}`]);
    } catch {
      return undefined;
    }
  }

  /** The patch of one commit, for `curator show` and the store. */
  async show(commit: string): Promise<string> {
    return this.git.raw(['show', '--no-color', '--format=commit %H%n%n%B', '--stat', '--patch', commit]);
  }

  /**
   * Pushes local `branch` to origin with a lease on what the curator last saw there
   * (undefined: the branch must not exist yet). Only branches under `prefix/` are allowed.
   */
  async pushBranch(branch: string, prefix: string, expected: string | undefined): Promise<void> {
    if (branch === this.tracked || !branch.startsWith(`${prefix}/`)) {
      throw new CaduceusError(
        'CuratorRefusedPush',
        `refusing to push ${branch}: the curator only pushes its own ${prefix}/ branches`,
      );
    }
    await this.git.raw([
      'push',
      '--quiet',
      `--force-with-lease=refs/heads/${branch}:${expected ?? ''}`,
      'origin',
      `refs/heads/${branch}:refs/heads/${branch}`,
    ]);
    await this.git.raw(['fetch', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  }
}

/** The environment git commands get when the curator sets one (simple-git refuses editor and pager variables). */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [
    'PATH',
    'HOME',
    'USER',
    'LANG',
    'LC_ALL',
    'TMPDIR',
    'SSH_AUTH_SOCK',
    'GIT_CONFIG_NOSYSTEM',
    'GIT_CONFIG_GLOBAL',
  ]) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

async function remoteHead(git: SimpleGit): Promise<string> {
  try {
    const out = await git.raw(['ls-remote', '--symref', 'origin', 'HEAD']);
    const m = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(out);
    if (m?.[1]) return m[1];
  } catch {
    // fall through to the usual names
  }
  for (const b of ['main', 'master']) {
    try {
      await git.raw(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${b}`]);
      return b;
    } catch {
      // try the next
    }
  }
  throw new CaduceusError('CuratorNoBranch', 'cannot tell which branch to follow', { hint: 'pass --branch' });
}

/**
 * When each file under `dir` was last added in git history (`git log --diff-filter=A`), in
 * one pass over the log: config-relative path → epoch ms. Empty outside a repository.
 */
export async function firstCommitTimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let top: string;
  const git = simpleGit({ baseDir: dir });
  try {
    top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
  } catch {
    return out;
  }
  let log: string;
  try {
    log = await git.raw([
      'log',
      '--no-renames',
      '--diff-filter=A',
      '--format=%x00%ct',
      '--name-only',
      'HEAD',
      '--',
      '.',
    ]);
  } catch {
    return out;
  }
  const prefix = relative(resolve(top), resolve(dir)).split('\\').join('/');
  let t = 0;
  for (const line of log.split('\n')) {
    if (line.startsWith('\0')) {
      t = Number(line.slice(1)) * 1000;
      continue;
    }
    if (!line) continue;
    const rel = prefix ? (line.startsWith(`${prefix}/`) ? line.slice(prefix.length + 1) : undefined) : line;
    // Newest first: the first time a path shows up is its latest addition.
    if (rel !== undefined && !out.has(rel)) out.set(rel, t);
  }
  return out;
}
