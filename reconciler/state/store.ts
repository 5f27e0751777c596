// The state store: SQLite (one file, WAL, under the state directory) by default, or
// PostgreSQL when given a postgres:// URL, behind one synchronous interface (sql.ts).
// Every module owns a namespace of versioned migrations, so controllers add their tables
// (runs, audit log, curator proposals) without touching the core schema. Writes that
// belong together run in one transaction, so a crash leaves either the old or the new state.

import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CaduceusError } from '../errors.js';
import type { RetainedTable } from './retention.js';
import { lockStateDir, type StateLock } from './state-lock.js';
import type { SqlDatabase, Dialect } from './sql.js';
import { SqliteDatabase } from './sqlite-db.js';
import { isPostgresUrl, PostgresDatabase } from './postgres/database.js';
import { translateDdl } from './postgres/translate.js';

export type Db = SqlDatabase;

/**
 * One migration: SQL text (SQLite's DDL, which PostgreSQL gets translated, see
 * postgres/translate.ts), the text per engine when translation is not enough, or a
 * function for the rare step SQL cannot express.
 */
export type Migration = string | { sqlite: string; postgres: string } | ((db: Db) => void);

export interface StoreOptions {
  /** Directory holding state.db (created if missing). Use ':memory:' only in tests. */
  stateDir: string;
  /** A postgres:// URL: the state lives there instead of in stateDir/state.db. */
  url?: string;
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

/** The state location a command uses: --state, else CADUCEUS_STATE_URL, else the SQLite file. */
export function stateUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = flag ?? env.CADUCEUS_STATE_URL;
  return url === undefined || url === '' ? undefined : url;
}

export class StateStore {
  readonly db: Db;
  /** The SQLite file, ':memory:', or the PostgreSQL URL with its password redacted. */
  readonly path: string;
  readonly dialect: Dialect;
  private readonly retained = new Map<string, RetainedTable>();
  /**
   * This process's handle on the store, new on every open: runs it starts and the leader
   * lease it holds carry it, so a successor knows which runs a dead process left behind.
   */
  readonly owner = randomUUID();
  /**
   * Held by `up` (exclusive) on a SQLite state directory: the holder before it, when that
   * one crashed, is `lock.crashed`. PostgreSQL replicas share the store under the leader lease.
   */
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
    if (isPostgresUrl(opts.url)) {
      const pg = new PostgresDatabase(opts.url);
      this.db = pg;
      this.path = pg.location;
    } else {
      if (opts.stateDir === ':memory:') {
        this.path = ':memory:';
      } else {
        if (!opts.readonly) mkdirSync(opts.stateDir, { recursive: true });
        this.path = join(opts.stateDir, 'state.db');
      }
      const local = opts.exclusive && this.path !== ':memory:';
      if (local) this.lock = lockStateDir(opts.stateDir, this.owner);
      try {
        this.db = new SqliteDatabase(this.path, {
          readonly: opts.readonly === true,
          checkWhole: opts.exclusive === true,
        });
      } catch (err) {
        this.lock?.release();
        throw brokenDatabase(this.path, err) ?? err;
      }
      if (local) {
        this.inode = statSync(this.path).ino;
        this.headerFd = openSync(this.path, 'r');
      }
    }
    this.dialect = this.db.dialect;
    if (!opts.readonly) {
      this.tx(() =>
        this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          namespace TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
          PRIMARY KEY (namespace, version))`),
      );
    }
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
   * transaction together with its bookkeeping row. Safe to call on every start, and from
   * several processes at once: the version is read inside the (exclusive) transaction.
   */
  migrate(namespace: string, migrations: readonly Migration[]): void {
    const version = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE namespace = ?');
    const current = (): number => Number((version.get(namespace) as { v: number }).v);
    if (current() >= migrations.length) return;
    for (let i = 0; i < migrations.length; i++) {
      this.tx(() => {
        if (current() > i) return;
        const m = migrations[i] as Migration;
        if (typeof m === 'function') m(this.db);
        else if (typeof m === 'string') this.db.exec(this.dialect === 'postgres' ? translateDdl(m) : m);
        else this.db.exec(m[this.dialect]);
        this.db
          .prepare('INSERT INTO schema_migrations (namespace, version, applied_at) VALUES (?, ?, ?)')
          .run(namespace, i + 1, new Date().toISOString());
      });
    }
  }

  /** Runs fn in one exclusive transaction (SQLite IMMEDIATE, PostgreSQL under a lock): all or nothing. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  /**
   * Milliseconds since the epoch by the database's clock (PostgreSQL's, so replicas on
   * machines whose clocks differ agree on when a lease expires; SQLite's is this machine's).
   */
  nowMs(): number {
    if (this.dialect === 'sqlite') return Date.now();
    const r = this.db.prepare('SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint AS now').get();
    return Number((r as { now: number }).now);
  }

  /** Puts a table under the Runtime's retention limits (see retention.ts). */
  retain(table: RetainedTable): void {
    this.retained.set(table.table, table);
  }

  retainedTables(): RetainedTable[] {
    return [...this.retained.values()];
  }

  /**
   * Returns free pages to the file system; how many it freed. SQLite only: PostgreSQL's
   * autovacuum makes the space of deleted rows reusable on its own (and VACUUM cannot run
   * inside the facade's transactions), so there it frees nothing here.
   */
  vacuum(): number {
    return this.db instanceof SqliteDatabase ? this.db.incrementalVacuum() : 0;
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
