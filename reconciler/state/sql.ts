// The one database interface every store is written against: prepare a statement, then
// run, get or all, synchronously. SQLite (better-sqlite3) provides it natively; the
// PostgreSQL facade (postgres/database.ts) provides it by blocking on a worker thread.
//
// Portable SQL, the rules every store follows so both engines run the same text:
// - placeholders are `?` (positional) or `@name` (named, with one object argument);
// - upserts are `INSERT … ON CONFLICT (key) DO UPDATE SET col = excluded.col` or
//   `ON CONFLICT DO NOTHING` (never `INSERT OR IGNORE/REPLACE`);
// - no SQLite-only functions (json_each, datetime, strftime): decode JSON in TypeScript;
// - column aliases in camelCase are quoted (`AS "lastUsed"`), since PostgreSQL folds
//   unquoted names to lower case; `"user"` and other reserved words are quoted too;
// - integers are JavaScript numbers (epoch milliseconds fit); `rowid` means insertion
//   order on both (PostgreSQL tables get a rowid column, see postgres/translate.ts).

/** What a write reports: the rows it changed. */
export interface RunInfo {
  changes: number;
}

export interface SqlStatement {
  run(...params: unknown[]): RunInfo;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export type Dialect = 'sqlite' | 'postgres';

export interface SqlDatabase {
  readonly dialect: Dialect;
  /** Compiles once; keep the statement when the same text runs often. */
  prepare(sql: string): SqlStatement;
  /** Runs one or more statements without parameters (migrations). */
  exec(sql: string): void;
  /** Runs fn as one exclusive transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T;
  readonly open: boolean;
  close(): void;
}
