// The state store: SQLite (one file, WAL, under the state directory) by default, or
// PostgreSQL when given a postgres:// URL, behind one synchronous interface (sql.ts).
// Every module owns a namespace of versioned migrations, so controllers add their tables
// (runs, audit log, curator proposals) without touching the core schema. Writes that
// belong together run in one transaction, so a crash leaves either the old or the new state.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
}

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
  /**
   * This process's handle on the store, new on every open: runs it starts and the leader
   * lease it holds carry it, so a successor knows which runs a dead process left behind.
   */
  readonly owner = randomUUID();

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
      this.db = new SqliteDatabase(this.path, opts.readonly ? { readonly: true } : {});
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

  close(): void {
    if (this.db.open) this.db.close();
  }
}
