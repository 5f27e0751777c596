// PostgreSQL behind the synchronous store interface. The stores are synchronous (as
// better-sqlite3 is) and called from everywhere; rather than make them all async, this
// facade posts each query to a worker thread that owns one `pg` connection and blocks
// with Atomics.wait until the answer is there, then reads it with receiveMessageOnPort
// (the technique of the synckit package). One connection per store means a transaction
// is simply BEGIN … COMMIT sent on it; the event loop waits for PostgreSQL exactly as it
// waits for SQLite's disk. See docs/postgres.md for the trade-off against an async store.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { CaduceusError } from '../../errors.js';
import { redactUrl } from '../../secrets.js';
import type { Dialect, RunInfo, SqlDatabase, SqlStatement } from '../sql.js';
import { PENDING, SLOT, type Reply, type Request } from './protocol.js';
import { bindValues, translateQuery, type Translated } from './translate.js';

/** How long one request may take before the store gives up on the connection. */
const REQUEST_TIMEOUT_MS = 60_000;
const STATEMENT_TIMEOUT_MS = 30_000;
/**
 * Transactions take this transaction-scoped advisory lock first: one writer at a time
 * across every replica, like SQLite's IMMEDIATE transactions, so a read-then-write
 * (a lock row, a lease) cannot interleave with another process's.
 */
const TX_LOCK_KEY = 0x63616475; // "cadu"

/** A PostgreSQL error with its SQLSTATE (e.g. 23505 unique_violation). */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

export function isPostgresUrl(location: string | undefined): location is string {
  return location !== undefined && /^postgres(?:ql)?:\/\//i.test(location);
}

/** The compiled worker next to this module, or (when running from TypeScript sources, as tests do) in dist/. */
function workerScript(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = fileURLToPath(here).replace(
    /([\\/])reconciler([\\/])state([\\/])postgres([\\/])/,
    '$1dist$1reconciler$1state$1postgres$1',
  );
  if (existsSync(built)) return new URL(`file://${built}`);
  throw new CaduceusError('StateUnavailable', 'the PostgreSQL worker script is not built', {
    hint: 'run `npm run build` first',
  });
}

/** One worker and its `pg` connection; exported for the protocol's tests (with a stand-in script). */
export class Connection {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  alive = true;

  constructor(url: string, applicationName: string, script: URL = workerScript()) {
    const signal = new SharedArrayBuffer(4);
    this.flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(script, {
      workerData: { url, port: port2, signal, statementTimeoutMs: STATEMENT_TIMEOUT_MS, applicationName },
      transferList: [port2],
    });
    // The store's owner decides when the process ends, as with an open SQLite file.
    this.worker.unref();
    this.worker.on('error', () => {
      this.alive = false;
    });
  }

  call(req: Request, timeoutMs = REQUEST_TIMEOUT_MS): Reply {
    Atomics.store(this.flag, SLOT, PENDING);
    this.port.postMessage(req);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const woke = Atomics.wait(this.flag, SLOT, PENDING, Math.max(0, deadline - Date.now()));
      const msg = receiveMessageOnPort(this.port);
      if (msg) return msg.message as Reply;
      // Woken with no reply while the flag still says pending: the notify of the previous
      // request, whose reply was read without waiting (the worker posts, sets the flag and
      // only then notifies, so it can be late). Wait on for this one's.
      if (woke !== 'timed-out' && Atomics.load(this.flag, SLOT) === PENDING && Date.now() < deadline) continue;
      this.kill();
      return {
        ok: false,
        message:
          woke === 'timed-out' || Date.now() >= deadline
            ? `PostgreSQL did not answer within ${timeoutMs / 1000} s`
            : 'the PostgreSQL worker stopped',
        code: 'CADUCEUS_TIMEOUT',
      };
    }
  }

  kill(): void {
    this.alive = false;
    void this.worker.terminate();
  }
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'postgres';
  private conn: Connection | undefined;
  private closed = false;
  private depth = 0;
  private readonly translated = new Map<string, Translated>();
  /** The URL with its password redacted, for messages. */
  readonly location: string;

  constructor(
    private readonly url: string,
    private readonly applicationName = 'caduceus',
  ) {
    this.location = redactUrl(url);
    // Connect now, so a wrong URL or a server that is down is a start-up error.
    this.request({ op: 'exec', text: 'SELECT 1' });
  }

  get open(): boolean {
    return !this.closed;
  }

  private request(req: Request): { rows: Array<Record<string, unknown>>; rowCount: number } {
    if (this.closed) throw new CaduceusError('StateUnavailable', 'the state store is closed');
    if (!this.conn?.alive) this.conn = new Connection(this.url, this.applicationName);
    const reply = this.conn.call(req);
    if (reply.ok) return { rows: reply.rows, rowCount: reply.rowCount };
    if (unavailable(reply.code)) {
      // A transaction in progress died with the connection.
      this.depth = 0;
      throw new CaduceusError('StateUnavailable', `PostgreSQL at ${this.location}: ${redactUrl(reply.message)}`, {
        hint: 'check that the server runs and the URL in --state / CADUCEUS_STATE_URL is right',
      });
    }
    throw new PostgresError(reply.message, reply.code, reply.detail);
  }

  prepare(sql: string): SqlStatement {
    // Unnamed statements: on loopback, naming them (server-side prepared) measured slower.
    let t = this.translated.get(sql);
    if (!t) {
      t = translateQuery(sql);
      this.translated.set(sql, t);
    }
    const tr = t;
    const query = (params: unknown[]): { rows: Array<Record<string, unknown>>; rowCount: number } =>
      this.request({ op: 'query', text: tr.text, values: bindValues(tr, params).map(toParam) });
    return {
      run: (...params: unknown[]): RunInfo => ({ changes: query(params).rowCount }),
      get: (...params: unknown[]): unknown => query(params).rows[0],
      all: (...params: unknown[]): unknown[] => query(params).rows,
    };
  }

  exec(sql: string): void {
    this.request({ op: 'exec', text: sql });
  }

  /** BEGIN … COMMIT on the one connection; nested calls become savepoints. */
  transaction<T>(fn: () => T): T {
    const depth = this.depth;
    if (depth === 0) {
      this.exec('BEGIN');
      try {
        this.exec(`SELECT pg_advisory_xact_lock(${TX_LOCK_KEY})`);
      } catch (err) {
        this.rollback('ROLLBACK');
        throw err;
      }
    } else this.exec(`SAVEPOINT tx${depth}`);
    this.depth = depth + 1;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.depth = depth;
      this.rollback(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT tx${depth}`);
      throw err;
    }
    this.depth = depth;
    this.exec(depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT tx${depth}`);
    return result;
  }

  private rollback(sql: string): void {
    try {
      this.exec(sql);
    } catch {
      // The connection is gone; the server rolled the transaction back already.
    }
  }

  close(): void {
    if (this.closed) return;
    if (this.conn?.alive) {
      this.conn.call({ op: 'close' }, 5_000);
      this.conn.kill();
    }
    this.closed = true;
  }
}

/**
 * No answer, a socket error (ECONNREFUSED), a connection exception (08…), an operator
 * intervention (57P…: the server shutting down), failed authentication (28…) or a
 * database that does not exist (3D000): the store is unreachable, not the query wrong.
 */
function unavailable(code: string | undefined): boolean {
  return code === undefined || code === 'CADUCEUS_TIMEOUT' || /^(E[A-Z]+|08|57P|28|3D000)/.test(code);
}

/** better-sqlite3 accepts bigint and Buffer; pg wants strings for bigint. */
function toParam(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
