// The git source's contract with the loop and `caduceus up`: a Revision is a commit's
// configuration files; a Source yields the tip, watches or polls for new ones and
// reports its health for /status and /metrics.

import type { Logger } from '../types.js';
import type { SourceFile } from '../source-file.js';

export interface Revision {
  /** Commit SHA (or `worktree:<hash>` under --worktree). */
  id: string;
  files: SourceFile[];
}

export interface SourceStatus {
  mode: 'local' | 'remote' | 'worktree';
  /** Local path or URL with any credential replaced by `***`. */
  repo: string;
  branch?: string;
  /** Sub-directory of the repository holding the configuration. */
  path?: string;
  lastFetchAt?: string;
  /** When a fetch last worked (remote sources). */
  lastSuccessAt?: string;
  lastFetchError?: string;
  /** Consecutive failed fetches (0 once a fetch works again). */
  fetchErrors: number;
  revision?: string;
}

export interface Source {
  current(): Promise<Revision>;
  /** Starts watching / polling; onChange is called when a new revision may be there. */
  start(onChange: () => void): Promise<void>;
  stop(): Promise<void>;
  /** Fetches a remote now (webhook); a no-op for local repositories. */
  fetchNow(): Promise<void>;
  status(): SourceStatus;
}

export interface SourceOptions {
  repo: string;
  stateDir: string;
  log: Logger;
  path?: string;
  branch?: string;
  worktree?: boolean;
  /** Remote fetch interval in ms (default 60 s, ±5 % jitter). */
  interval?: number;
}
