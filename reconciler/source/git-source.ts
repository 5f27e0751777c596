// TEMPORARY STUB (replaced by the reconciler-core work): the git source's interface.
import type { Logger } from '../types.js';
import type { SourceFile } from '../loader.js';

export interface Revision {
  /** Commit SHA (or `worktree:<hash>` under --worktree). */
  id: string;
  files: SourceFile[];
}

export interface SourceStatus {
  mode: 'local' | 'remote' | 'worktree';
  repo: string;
  branch?: string;
  lastFetchAt?: string;
  lastFetchError?: string;
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
  interval?: number;
}

export function createSource(_opts: SourceOptions): Source {
  throw new Error('git source not built yet');
}

export async function readRevision(_repo: string, _rev: string, _path?: string): Promise<Revision> {
  throw new Error('git source not built yet');
}
