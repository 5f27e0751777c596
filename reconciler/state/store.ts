// The state store: one SQLite file (WAL) under the state directory. Every module owns a
// namespace of versioned migrations, so controllers add their tables (runs, audit log,
// curator proposals) without touching the core schema. Writes that belong together run
// in one transaction, so a crash leaves either the old or the new state.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

/** One migration: SQL text or a function for the rare step SQL cannot express. */
export type Migration = string | ((db: Db) => void);

export interface StoreOptions {
  /** Directory holding state.db (created if missing). Use ':memory:' only in tests. */
  stateDir: string;
  readonly?: boolean;
}

export class StateStore {
  readonly db: Db;
  readonly path: string;

  constructor(opts: StoreOptions) {
    if (opts.stateDir === ':memory:') {
      this.path = ':memory:';
    } else {
      if (!opts.readonly) mkdirSync(opts.stateDir, { recursive: true });
      this.path = join(opts.stateDir, 'state.db');
    }
    this.db = new Database(this.path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A checkpoint (copy the WAL into the database, fsync) every 10,000 pages rather than
      // SQLite's 1,000: applying 10,000 resources otherwise spent a third of its time there.
      // The WAL is cut back to 64 MiB after a checkpoint.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma('journal_size_limit = 67108864');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    if (!opts.readonly) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        namespace TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
        PRIMARY KEY (namespace, version))`);
    }
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

  close(): void {
    if (this.db.open) this.db.close();
  }
}
