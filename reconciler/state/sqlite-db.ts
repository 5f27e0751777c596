// The embedded engine: one SQLite file (WAL) opened through better-sqlite3, which already
// speaks the store interface of sql.ts; this file only adds the pragmas and the name.

import Database from 'better-sqlite3';
import type { Dialect, SqlDatabase, SqlStatement } from './sql.js';

export class SqliteDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'sqlite';
  readonly raw: Database.Database;

  constructor(path: string, opts: { readonly?: boolean } = {}) {
    this.raw = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!opts.readonly) {
      this.raw.pragma('journal_mode = WAL');
      this.raw.pragma('synchronous = NORMAL');
      // A checkpoint (copy the WAL into the database, fsync) every 10,000 pages rather than
      // SQLite's 1,000: applying 10,000 resources otherwise spent a third of its time there.
      // The WAL is cut back to 64 MiB after a checkpoint.
      this.raw.pragma('wal_autocheckpoint = 10000');
      this.raw.pragma('journal_size_limit = 67108864');
    }
    this.raw.pragma('busy_timeout = 5000');
    this.raw.pragma('foreign_keys = ON');
  }

  get open(): boolean {
    return this.raw.open;
  }

  prepare(sql: string): SqlStatement {
    // better-sqlite3's Statement has run/get/all with these shapes already.
    return this.raw.prepare(sql) as unknown as SqlStatement;
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
