// Per-run workspace directories under <stateDir>/workspaces/<runId>, and the guard that
// keeps file access inside them (skill file steps, the agent's file tools). A workspace is
// removed when its run succeeds and kept when it fails (for inspection); kept ones older
// than a day are swept at start-up. In the core because execution and the agent share it.

import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  lstatSync,
  type Stats,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep, dirname } from 'node:path';
import { CaduceusError } from './errors.js';

export const KEEP_FAILED_MS = 24 * 3_600_000;

export function workspacesRoot(stateDir: string): string {
  return join(stateDir, 'workspaces');
}

export function createWorkspace(stateDir: string, runId: string): string {
  const dir = join(workspacesRoot(stateDir), runId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Lets a container user (uid:gid) write the workspace: chown when we may (root), else
 * open it up, since the directory is private to one run anyway.
 */
export function shareWorkspaceWith(dir: string, user: string): void {
  const [uid, gid] = user.split(':').map((s) => Number(s));
  try {
    if (uid === undefined || !Number.isInteger(uid)) throw new Error('non-numeric user');
    chownSync(dir, uid, Number.isInteger(gid) ? (gid as number) : uid);
  } catch {
    chmodSync(dir, 0o777);
  }
}

/**
 * removeWorkspace off the event loop, for a caller that should not wait for it: an agent
 * run's workspace holds every file its tools wrote, and removing them synchronously held
 * the run's answer back (about 11 ms for 50 files, bench/agent.ts). Never rejects; the
 * promise lets a stopping controller wait until the removal is done.
 */
export function removeWorkspaceAsync(dir: string): Promise<boolean> {
  return rm(dir, { recursive: true, force: true, maxRetries: 2 }).then(
    () => true,
    () => false,
  );
}

/** Best effort: a container user may have left files this process cannot delete (non-root). */
export function removeWorkspace(dir: string): boolean {
  try {
    // Most trivial runs leave the workspace empty: rmdir is much cheaper than a recursive walk.
    rmdirSync(dir);
    return true;
  } catch {
    // Not empty (or gone): fall through to the recursive removal.
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    return true;
  } catch {
    return false;
  }
}

/** Removes kept workspaces older than maxAgeMs; returns how many went. */
export function sweepWorkspaces(stateDir: string, maxAgeMs = KEEP_FAILED_MS, now = Date.now()): number {
  const root = workspacesRoot(stateDir);
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(root, name);
    try {
      if (now - statSync(p).mtimeMs > maxAgeMs) {
        removeWorkspace(p);
        removed++;
      }
    } catch {
      // Gone already or unreadable: nothing to sweep.
    }
  }
  return removed;
}

/**
 * Resolves a file step's path inside the workspace. Rejects absolute paths, `..`
 * segments, and any path whose existing part resolves (through symlinks) outside.
 */
export function resolveInWorkspace(workspace: string, rel: string, field = 'path'): string {
  return inspectInWorkspace(workspace, rel, field).path;
}

/** A path checked by the workspace guard, and what the check saw on the way. */
export interface WorkspacePath {
  path: string;
  /**
   * What the path is, if it existed when checked and is not a symlink (lstat). A writer
   * needs no second stat of it before opening; it still checks the open descriptor.
   */
  existing?: Stats;
  /** Nothing was at the path when checked. */
  missing: boolean;
  /** The parent directory existed (a real directory, not a symlink): nothing to create. */
  parentIsDirectory: boolean;
}

/**
 * resolveInWorkspace, also returning the lstat results its walk made, so a file step
 * writing a file does not ask the file system the same questions again (each is a trip
 * to libuv's thread pool, and every agent turn makes them cold).
 */
export function inspectInWorkspace(workspace: string, rel: string, field = 'path'): WorkspacePath {
  const outside = (why: string): CaduceusError =>
    new CaduceusError('PathOutsideWorkspace', `file path "${rel}" ${why}`, {
      field,
      hint:
        'file steps take a path relative to the run workspace, without ".." ' +
        'and without symlinks that lead out of it',
    });
  if (rel === '' || rel.includes('\0')) throw outside('is empty or contains a NUL byte');
  if (isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel)) throw outside('is absolute');
  if (rel.split(/[\\/]/).includes('..')) throw outside('contains ".."');
  const root = realpathSync.native(workspace);
  const target = resolve(root, rel);
  if (!isInside(root, target)) throw outside('leaves the workspace');
  const result: WorkspacePath = { path: target, missing: true, parentIsDirectory: false };
  // Walk up to the deepest part that exists and check where it really points.
  for (let probe = target; ; ) {
    let st: Stats | undefined;
    try {
      st = lstatSync(probe);
    } catch {
      st = undefined; // missing, or under something that is not a directory (ENOTDIR)
    }
    if (st) {
      // Any component may be a symlink, not only the last one lstat looked at.
      let real: string;
      try {
        real = realpathSync.native(probe);
      } catch {
        throw outside('goes through a dangling symlink');
      }
      if (!isInside(root, real)) throw outside('goes through a symlink that leads out of the workspace');
      if (probe === target) {
        result.missing = false;
        if (!st.isSymbolicLink()) result.existing = st;
        result.parentIsDirectory = true;
      } else if (probe === dirname(target)) result.parentIsDirectory = st.isDirectory();
      break;
    }
    const up = dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  return result;
}

function isInside(root: string, p: string): boolean {
  // The root itself gives '', which passes every check below.
  const r = relative(root, p);
  return !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
}
