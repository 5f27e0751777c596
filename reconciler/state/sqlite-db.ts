// The embedded engine: one SQLite file (WAL) opened through better-sqlite3, which already
// speaks the store interface of sql.ts; this file only adds the pragmas and the name.

import Database from 'better-sqlite3';
import { CaduceusError } from '../errors.js';
import type { Dialect, SqlDatabase, SqlStatement } from './sql.js';

export class SqliteDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'sqlite';
  readonly raw: Database.Database;
  private readonly statements = new Map<string, SqlStatement>();

  /**
   * `checkWhole` (for `up`): PRAGMA quick_check before anything writes, so a damaged file
   * is refused (StateCorrupt) instead of made worse by a migration.
   */
  constructor(path: string, opts: { readonly?: boolean; checkWhole?: boolean } = {}) {
    this.raw = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    try {
      this.raw.pragma('busy_timeout = 5000');
      if (opts.checkWhole) this.checkWhole(path);
      if (!opts.readonly) {
        // Pages freed by retention go back to the file system (see StateStore.vacuum). A
        // database made before this setting existed is converted once, by a full VACUUM;
        // while another process holds it, the conversion waits for a later start. A new,
        // empty file takes the setting with its first table: no VACUUM (50-80 ms of a first start).
        if (this.raw.pragma('auto_vacuum', { simple: true }) !== 2) {
          this.raw.pragma('auto_vacuum = INCREMENTAL');
          try {
            if (this.raw.pragma('page_count', { simple: true }) !== 0) this.raw.exec('VACUUM');
          } catch {
            // Busy: retention still bounds the rows; the file shrinks after the conversion.
          }
        }
        this.raw.pragma('journal_mode = WAL');
        this.raw.pragma('synchronous = NORMAL');
        // A checkpoint (copy the WAL into the database, fsync) every 10,000 pages rather than
        // SQLite's 1,000: applying 10,000 resources otherwise spent a third of its time there.
        // The WAL is cut back to 64 MiB after a checkpoint.
        this.raw.pragma('wal_autocheckpoint = 10000');
        this.raw.pragma('journal_size_limit = 67108864');
      }
      this.raw.pragma('foreign_keys = ON');
    } catch (err) {
      this.raw.close();
      throw err;
    }
  }

  /** PRAGMA quick_check: a damaged file is refused at start instead of served as healthy. */
  private checkWhole(path: string): void {
    const rows = this.raw.pragma('quick_check(5)') as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0)
      throw new CaduceusError('StateCorrupt', `state database ${path} is damaged: ${problems.join('; ')}`, {
        hint: 'move it aside (revision and status are rebuilt from git; run history is lost) or restore a copy',
      });
  }

  /** Returns free pages to the file system; how many it freed. */
  incrementalVacuum(): number {
    const before = this.raw.pragma('freelist_count', { simple: true }) as number;
    this.raw.pragma('incremental_vacuum');
    return before - (this.raw.pragma('freelist_count', { simple: true }) as number);
  }

  get open(): boolean {
    return this.raw.open;
  }

  /**
   * A statement for `sql`, compiled once per connection: the stores ask for the same few
   * statements on every run, and compiling one cost about 0.1 ms each time (bench/agent.ts).
   * Statements here are only run, got or listed whole (never iterated), so sharing is safe.
   */
  prepare(sql: string): SqlStatement {
    let st = this.statements.get(sql);
    if (!st) {
      // better-sqlite3's Statement has run/get/all with these shapes already.
      st = this.raw.prepare(sql) as unknown as SqlStatement;
      this.statements.set(sql, st);
    }
    return st;
  }

  exec(sql: string): void {
    this.raw.exec(sql);
  }

  /** An IMMEDIATE transaction: the write lock is taken at BEGIN, so two writers never deadlock. */
  transaction<T>(fn: () => T): T {
    return this.raw.transaction(fn).immediate();
  }

  close(): void {
    if (this.raw.open) this.raw.close();
  }
}
