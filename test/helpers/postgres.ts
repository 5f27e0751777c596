// PostgreSQL for tests: the server test/env/ensure-postgres.sh starts on a loopback port,
// one database per test file, dropped afterwards, so two suites running at once on the
// machine never share a table; inside it a schema per store for tests that want a blank
// state (creating a schema is cheap, creating a database is not).

import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test server's admin URL (the `postgres` database); CADUCEUS_TEST_PG_URL overrides it. */
export const PG_ADMIN_URL =
  process.env.CADUCEUS_TEST_PG_URL ??
  `postgres://postgres@127.0.0.1:${process.env.CADUCEUS_TEST_PG_PORT ?? '55432'}/postgres`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** True when the test server answers (checked once per file, before describe blocks decide to skip). */
export async function postgresAvailable(): Promise<boolean> {
  try {
    await admin((c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** URLs of `n` new, empty schemas in this database (search_path set through the URL). */
  schemas(n: number): Promise<string[]>;
  drop(): Promise<void>;
}

let schemaSeq = 0;

/**
 * A new, empty database named caduceus_test_<run>_<pid>_<random>: <run> is the suite run's
 * token (test/env/temp-guard.ts), by which the end-of-run check finds the ones left behind.
 */
export async function createDatabase(): Promise<TestDatabase> {
  const run = process.env.CADUCEUS_TEST_RUN ?? 'norun';
  const name = `caduceus_test_${run}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  return {
    url,
    name,
    schemas: async (n) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const names = Array.from({ length: n }, () => `s${++schemaSeq}`);
        for (const s of names) await c.query(`CREATE SCHEMA ${s}`);
        return names.map((s) => `${url}?options=-c%20search_path%3D${s}`);
      } finally {
        await c.end();
      }
    },
    // FORCE ends connections a killed process may have left open.
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
