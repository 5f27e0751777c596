// A remote repository (file://, https://, ssh://) as the source: a bare, shallow mirror
// of one branch under the state directory, fetched on an interval (±5 % jitter so many
// instances do not fetch in step) and at once on a webhook. A failed fetch is recorded
// with credentials redacted and retried with exponential backoff; the last fetched
// revision keeps running meanwhile (callers say so in status and events). A force-push
// is followed: the ref is fetched with `+`.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import type { Logger } from '../types.js';
import { CaduceusError, errorMessage } from '../errors.js';
import { backoffMs } from '../backoff.js';
import { BlobReader } from './blob-reader.js';
import { redactUrl } from '../secrets.js';
import { gitClient, gitError, gitMessage } from './git-cli.js';
import { normalizeSubPath, resolveCommit } from './tree-reader.js';
import { TreeWalker } from './tree-walk.js';
import type { Revision, Source, SourceStatus } from './source-types.js';

const TIP = 'refs/caduceus/tip';
const DEFAULT_INTERVAL_MS = 60_000;
const FIRST_RETRY_MS = 1_000;

export interface RemoteSourceOptions {
  url: string;
  stateDir: string;
  log: Logger;
  path?: string;
  branch?: string;
  interval?: number;
  /** First retry delay after a failed fetch (default 1 s); doubles up to the interval. */
  retryBaseMs?: number;
}

/** Where the mirror of `url` lives: a name derived from the URL, never the URL itself (it may hold a token). */
export function mirrorDir(stateDir: string, url: string): string {
  return join(stateDir, 'git', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);
}

export class RemoteSource implements Source {
  private readonly dir: string;
  private readonly subPath: string;
  private readonly interval: number;
  private git: SimpleGit | undefined;
  private blobs: BlobReader | undefined;
  private walker: TreeWalker | undefined;
  private tip: string | undefined;
  private last: Revision | undefined;
  private onChange: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private shallow = true;
  private fetchErrors = 0;
  private lastFetchAt: string | undefined;
  private lastSuccessAt: string | undefined;
  private lastFetchError: string | undefined;
  private stopped = false;

  constructor(private readonly opts: RemoteSourceOptions) {
    this.dir = mirrorDir(opts.stateDir, opts.url);
    this.subPath = normalizeSubPath(opts.path);
    this.interval = opts.interval ?? DEFAULT_INTERVAL_MS;
  }

  private async mirror(): Promise<SimpleGit> {
    if (this.git) return this.git;
    if (!existsSync(join(this.dir, 'HEAD'))) {
      mkdirSync(this.dir, { recursive: true });
      await gitClient(this.dir).raw(['init', '-q', '--bare']);
    }
    this.git = gitClient(this.dir);
    this.blobs = new BlobReader(this.dir);
    return this.git;
  }

  /** One fetch of the tracked branch into refs/caduceus/tip; throws a CaduceusError on failure. */
  private async fetchOnce(): Promise<void> {
    const git = await this.mirror();
    const refspec = `+${this.opts.branch ? `refs/heads/${this.opts.branch}` : 'HEAD'}:${TIP}`;
    const args = [
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head',
      ...(this.shallow ? ['--depth', '1'] : []),
      '--end-of-options',
      this.opts.url,
      refspec,
    ];
    try {
      await git.raw(args);
    } catch (err) {
      // Dumb HTTP servers cannot serve shallow fetches: fetch the whole history instead.
      if (this.shallow && /shallow/i.test(gitMessage(err))) {
        this.shallow = false;
        return this.fetchOnce();
      }
      throw this.describeFailure(err);
    }
    const tip = await resolveCommit(git, TIP);
    if (!tip) throw new CaduceusError('GitFetchFailed', `fetching ${redactUrl(this.opts.url)} gave no commit`);
    const changed = tip !== this.tip;
    this.tip = tip;
    if (changed) this.onChange?.();
  }

  private describeFailure(err: unknown): CaduceusError {
    const msg = gitMessage(err);
    const url = redactUrl(this.opts.url);
    if (this.opts.branch && /couldn't find remote ref/i.test(msg)) {
      return new CaduceusError('GitBranchNotFound', `branch "${this.opts.branch}" does not exist in ${url}`, {
        hint: 'check --branch',
      });
    }
    return gitError('GitFetchFailed', `fetching ${url} failed`, err, 'check the URL, the network and the credentials');
  }

  /** Runs fetchOnce, recording the outcome in status(). Fetches never overlap. */
  private async recordedFetch(): Promise<void> {
    try {
      await this.fetchOnce();
      if (this.fetchErrors > 0)
        this.opts.log.info('git fetch works again', { repo: redactUrl(this.opts.url), after: this.fetchErrors });
      this.fetchErrors = 0;
      this.lastFetchError = undefined;
      this.lastSuccessAt = new Date().toISOString();
    } catch (err) {
      this.fetchErrors++;
      this.lastFetchError = errorMessage(err);
      this.opts.log.warn('git fetch failed', {
        repo: redactUrl(this.opts.url),
        failures: this.fetchErrors,
        error: this.lastFetchError,
      });
      throw err;
    } finally {
      this.lastFetchAt = new Date().toISOString();
      // Every fetch, timed or not, sets the next one: the interval after a success,
      // the backoff after a failure.
      if (this.onChange) this.schedule();
    }
  }

  /**
   * Fetches now. A call while a fetch runs waits for one more fetch after it (the push
   * that triggered it may have landed after the running one started); calls made
   * meanwhile share that second fetch.
   */
  fetchNow(): Promise<void> {
    if (this.stopped) return Promise.reject(new CaduceusError('GitSourceClosed', 'the git source was stopped'));
    if (!this.running) {
      const p = this.recordedFetch().finally(() => {
        if (this.running === p) this.running = undefined;
      });
      this.running = p;
      return p;
    }
    if (!this.queued) {
      const q = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.fetchNow();
        });
      this.queued = q;
    }
    return this.queued;
  }

  async current(): Promise<Revision> {
    const git = await this.mirror();
    if (!this.tip) {
      try {
        await this.fetchNow();
      } catch (err) {
        // Offline at start: a tip fetched by an earlier run is better than nothing.
        this.tip = await resolveCommit(git, TIP);
        if (!this.tip) throw err;
        this.opts.log.warn('using the revision fetched by an earlier run', { revision: this.tip });
      }
    }
    const tip = this.tip as string;
    if (this.last?.id === tip) return this.last;
    this.walker ??= new TreeWalker(this.blobs as BlobReader);
    const files = await this.walker.list(tip, this.subPath);
    this.last = { id: tip, files };
    return this.last;
  }

  async start(onChange: () => void): Promise<void> {
    this.onChange = onChange;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const base = this.opts.retryBaseMs ?? FIRST_RETRY_MS;
    const delay =
      this.fetchErrors > 0
        ? backoffMs(this.fetchErrors, { initialMs: base, maxMs: this.interval, maxExponent: 20 })
        : this.interval * (0.95 + Math.random() * 0.1);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fetchNow().catch(() => undefined); // recorded in status() and logged
    }, delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.blobs?.close();
  }

  status(): SourceStatus {
    return {
      mode: 'remote',
      repo: redactUrl(this.opts.url),
      // An empty branch or sub-path is no branch or sub-path.
      branch: this.opts.branch || undefined,
      path: this.subPath || undefined,
      fetchErrors: this.fetchErrors,
      lastFetchAt: this.lastFetchAt,
      lastSuccessAt: this.lastSuccessAt,
      lastFetchError: this.lastFetchError || undefined,
      revision: this.tip,
    };
  }
}
