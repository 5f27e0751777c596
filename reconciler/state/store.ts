// The state store: one SQLite file (WAL) under the state directory. Every module owns a
// namespace of versioned migrations, so controllers add their tables (runs, audit log,
// curator proposals) without touching the core schema. Writes that belong together run
// in one transaction, so a crash leaves either the old or the new state.

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CaduceusError } from '../errors.js';
import type { RetainedTable } from './retention.js';
import { lockStateDir, type StateLock } from './state-lock.js';

export type Db = Database.Database;

/** One migration: SQL text or a function for the rare step SQL cannot express. */
export type Migration = string | ((db: Db) => void);

export interface StoreOptions {
  /** Directory holding state.db (created if missing). Use ':memory:' only in tests. */
  stateDir: string;
  readonly?: boolean;
  /**
   * For `caduceus up`: the directory is held by this process alone (state-lock.ts; a
   * second one is refused naming the first), and the database is checked whole before use.
   */
  exclusive?: boolean;
}

/** SQLite's answers for a file that is not a database, or a damaged one. */
const BROKEN_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);
/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export class StateStore {
  readonly db: Db;
  readonly path: string;
  private readonly retained = new Map<string, RetainedTable>();

  /** This process's mark on what it starts (runs), so a successor knows what a crashed one left. */
  readonly owner = randomUUID();
  /** Held by `up` (exclusive): the holder before it, when that one crashed, is `lock.crashed`. */
  readonly lock: StateLock | undefined;
  /** The file's inode when it was opened: another one at that path means it was replaced. */
  private readonly inode: number | undefined;
  /**
   * Read-only handle on the file for health(), opened once and closed only after the
   * connection: closing any handle on a file drops every POSIX lock this process holds on
   * it, SQLite's included (https://sqlite.org/howtocorrupt.html, 2.2).
   */
  private readonly headerFd: number | undefined;
  private headerClosed = false;

  constructor(opts: StoreOptions) {
    if (opts.stateDir === ':memory:') {
      this.path = ':memory:';
    } else {
      if (!opts.readonly) mkdirSync(opts.stateDir, { recursive: true });
      this.path = join(opts.stateDir, 'state.db');
    }
    if (opts.exclusive && this.path !== ':memory:') this.lock = lockStateDir(opts.stateDir, this.owner);
    let db: Db | undefined;
    try {
      db = new Database(this.path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
      this.db = db;
      this.db.pragma('busy_timeout = 5000');
      // Before anything writes to it: a damaged file is not made worse by a migration.
      if (opts.exclusive) this.checkWhole();
      this.configure(opts);
    } catch (err) {
      if (db?.open) db.close();
      this.lock?.release();
      throw brokenDatabase(this.path, err) ?? err;
    }
    if (opts.exclusive && this.path !== ':memory:') {
      this.inode = statSync(this.path).ino;
      this.headerFd = openSync(this.path, 'r');
    }
  }

  private configure(opts: StoreOptions): void {
    if (!opts.readonly) {
      // Pages freed by retention go back to the file system (see vacuum()). A database
      // made before this setting existed is converted once, by a full VACUUM; while
      // another process holds it, the conversion waits for a later start.
      if (this.db.pragma('auto_vacuum', { simple: true }) !== 2) {
        this.db.pragma('auto_vacuum = INCREMENTAL');
        try {
          this.db.exec('VACUUM');
        } catch {
          // Busy: retention still bounds the rows; the file shrinks after the conversion.
        }
      }
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    if (!opts.readonly) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        namespace TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
        PRIMARY KEY (namespace, version))`);
    }
  }

  /** PRAGMA quick_check: a damaged file is refused at start instead of served as healthy. */
  private checkWhole(): void {
    const rows = this.db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0)
      throw new CaduceusError('StateCorrupt', `state database ${this.path} is damaged: ${problems.join('; ')}`, {
        hint: 'move it aside (revision and status are rebuilt from git; run history is lost) or restore a copy',
      });
  }

  /**
   * What is wrong with the database file under the running process, if anything: deleted,
   * replaced, emptied or overwritten. SQLite keeps writing to the file it opened (and, in
   * WAL mode, to the log beside it), so without this check such a database would swallow
   * every write and look healthy. Only `exclusive` stores (`up`) watch their file.
   */
  health(): string | undefined {
    if (this.headerFd === undefined || !this.db.open) return undefined;
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch {
      return (
        `state database ${this.path} was deleted while this process ran; nothing written since is kept ` +
        '(restart caduceus up to rebuild it from git)'
      );
    }
    if (st.ino !== this.inode)
      return (
        `state database ${this.path} was replaced by another file while this process ran ` +
        '(restart caduceus up to use the new one)'
      );
    const header = Buffer.alloc(SQLITE_MAGIC.length);
    const n = st.size < 512 ? 0 : readSync(this.headerFd, header, 0, header.length, 0);
    if (n !== header.length || !header.equals(SQLITE_MAGIC))
      return (
        `state database ${this.path} is not a readable SQLite database any more: it was overwritten or ` +
        'emptied while this process ran (move the file aside and restart caduceus up)'
      );
    return undefined;
  }

  /**
   * Applies the migrations of one namespace that have not run yet, each in its own
   * transaction together with its bookkeeping row. Safe to call on every start.
   */
  migrate(namespace: string, migrations: readonly Migration[]): void {
    const row = this.db
      .prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE namespace = ?')
      .get(namespace) as { v: number };
    for (let i = row.v; i < migrations.length; i++) {
      const m = migrations[i] as Migration;
      this.db.transaction(() => {
        if (typeof m === 'string') this.db.exec(m);
        else m(this.db);
        this.db
          .prepare('INSERT INTO schema_migrations (namespace, version, applied_at) VALUES (?, ?, ?)')
          .run(namespace, i + 1, new Date().toISOString());
      })();
    }
  }

  /** Runs fn in one IMMEDIATE transaction; it commits whole or not at all. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Puts a table under the Runtime's retention limits (see retention.ts). */
  retain(table: RetainedTable): void {
    this.retained.set(table.table, table);
  }

  retainedTables(): RetainedTable[] {
    return [...this.retained.values()];
  }

  /** Returns free pages to the file system; how many it freed. */
  vacuum(): number {
    const before = this.db.pragma('freelist_count', { simple: true }) as number;
    this.db.pragma('incremental_vacuum');
    return before - (this.db.pragma('freelist_count', { simple: true }) as number);
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.headerFd !== undefined && !this.headerClosed) {
      this.headerClosed = true;
      closeSync(this.headerFd);
    }
    this.lock?.release();
  }
}

/** A StateCorrupt error for SQLite's "not a database" and "malformed" answers, else undefined. */
function brokenDatabase(path: string, err: unknown): CaduceusError | undefined {
  const code = (err as { code?: string }).code;
  if (err instanceof CaduceusError) return err.code === 'StateCorrupt' ? err : undefined;
  if (code === undefined || !BROKEN_CODES.has(code)) return undefined;
  return new CaduceusError('StateCorrupt', `state database ${path} is not a readable SQLite database (${code})`, {
    hint: 'move it aside (revision and status are rebuilt from git; run history is lost) or restore a copy',
    cause: err,
  });
}
