// One `caduceus up` per state directory. The lock is a write lock the kernel holds on
// `up.lock` (SQLite's file locking, kept by a transaction that never ends), so it goes
// away with the process however it dies, and no pid read back from a file can be stale
// or reused. `up.holder` says who holds it (pid, host, since) for the refusal message;
// one left behind by a holder that did not stop cleanly names the process that crashed.

import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { CaduceusError } from '../errors.js';

export interface StateHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
  /** StateStore.owner of the holder: the runs it started carry it. */
  owner: string;
}

export interface StateLock {
  readonly holder: StateHolder;
  /** The holder before this one, when it did not release the lock (it crashed or was killed). */
  readonly crashed?: StateHolder;
  release(): void;
}

const LOCK_FILE = 'up.lock';
const HOLDER_FILE = 'up.holder';

/** Who holds (or last held without releasing) the state directory, from `up.holder`. */
export function readHolder(stateDir: string): StateHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(join(stateDir, HOLDER_FILE), 'utf8')) as Partial<StateHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.since !== 'string') return undefined;
    return { pid: h.pid, host: h.host, since: h.since, owner: typeof h.owner === 'string' ? h.owner : '' };
  } catch {
    return undefined;
  }
}

/** Whether a process other than `up` holds the lock now (for `status` when the database is gone). */
export function isLocked(stateDir: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(stateDir, LOCK_FILE), { timeout: 0, fileMustExist: true });
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    db?.close();
  }
}

/**
 * Takes the state directory for this process, or throws StateDirLocked naming the process
 * that has it. The directory must exist.
 */
export function lockStateDir(stateDir: string, owner: string): StateLock {
  const db = new Database(join(stateDir, LOCK_FILE), { timeout: 0 });
  try {
    // Rollback journal (never WAL): BEGIN IMMEDIATE then holds SQLite's RESERVED lock.
    db.pragma('journal_mode = DELETE');
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    const h = readHolder(stateDir);
    const who = h ? `pid ${h.pid} on host ${h.host} since ${h.since}` : 'a process that is starting';
    throw new CaduceusError('StateDirLocked', `state directory ${stateDir} is in use by caduceus up (${who})`, {
      hint: 'stop that process first, or give this one another --state-dir',
    });
  }
  const crashed = readHolder(stateDir);
  const holder: StateHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), owner };
  const tmp = join(stateDir, `${HOLDER_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
  renameSync(tmp, join(stateDir, HOLDER_FILE));
  let released = false;
  return {
    holder,
    ...(crashed ? { crashed } : {}),
    release: () => {
      if (released) return;
      released = true;
      // The holder file goes first: a process that finds one without the lock knows it crashed.
      rmSync(join(stateDir, HOLDER_FILE), { force: true });
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
