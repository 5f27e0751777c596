// The PostgreSQL side of the suite's end-of-run check: the databases the run's tests made
// (test/helpers/postgres.ts names them caduceus_test_<run>_…, <run> being this run's
// CADUCEUS_TEST_RUN token) that are still there at the end. Another suite's databases
// carry another token; a server that does not answer has nothing to check.

import pg from 'pg';
import { PG_ADMIN_URL } from '../helpers/postgres.js';

/** The name prefix of the databases made by the run with this token. */
export const databasePrefix = (run: string): string => `caduceus_test_${run}_`;

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T | undefined> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
  } catch {
    return undefined;
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The run's databases still on the server; [] when it does not answer. */
export async function leftoverDatabases(run: string): Promise<string[]> {
  const rows = await withAdmin((c) =>
    c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname', [
      databasePrefix(run),
    ]),
  );
  return rows?.rows.map((r) => r.datname) ?? [];
}

/** Drops them (FORCE ends connections a killed process left open). */
export async function dropDatabases(names: string[]): Promise<void> {
  await withAdmin(async (c) => {
    for (const n of names) await c.query(`DROP DATABASE IF EXISTS "${n.replace(/"/g, '""')}" WITH (FORCE)`);
  });
}
