// The worker thread behind the PostgreSQL facade: it owns the one `pg` connection of a
// store and answers one request at a time. Transactions need nothing here: the facade
// sends BEGIN … COMMIT as queries on this same connection.

import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { ANSWERED, SLOT, type Reply, type Request, type WorkerInit } from './protocol.js';

// int8 (COUNT, SUM over integers, BIGINT columns) and numeric come back as strings by
// default; the stores hold epoch milliseconds and counts, which JavaScript numbers carry.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const init = workerData as WorkerInit & { port: MessagePort };
const flag = new Int32Array(init.signal);
let client: pg.Client | undefined;
let broken: Error | undefined;

async function connection(): Promise<pg.Client> {
  if (client && !broken) return client;
  broken = undefined;
  const c = new pg.Client({
    connectionString: init.url,
    application_name: init.applicationName,
    statement_timeout: init.statementTimeoutMs,
    keepAlive: true,
  });
  // A connection that drops is reported by the next query; the one after reconnects.
  c.on('error', (err) => {
    broken = err;
  });
  await c.connect();
  client = c;
  return c;
}

async function answer(req: Request): Promise<Reply> {
  try {
    if (req.op === 'close') {
      await client?.end().catch(() => undefined);
      client = undefined;
      return { ok: true, rows: [], rowCount: 0 };
    }
    const c = await connection();
    if (req.op === 'exec') {
      await c.query(req.text);
      return { ok: true, rows: [], rowCount: 0 };
    }
    const r = await c.query({
      text: req.text,
      values: req.values,
      ...(req.name !== undefined ? { name: req.name } : {}),
    });
    return { ok: true, rows: r.rows as Array<Record<string, unknown>>, rowCount: r.rowCount ?? 0 };
  } catch (err) {
    const e = err as { message?: string; code?: string; detail?: string };
    if (broken || (e.code !== undefined && /^08/.test(e.code))) {
      // Connection exception class: drop the client so the next request reconnects.
      await client?.end().catch(() => undefined);
      client = undefined;
      broken = undefined;
    }
    return {
      ok: false,
      message: e.message ?? String(err),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.detail !== undefined ? { detail: e.detail } : {}),
    };
  }
}

init.port.on('message', (req: Request) => {
  void answer(req).then((reply) => {
    init.port.postMessage(reply);
    Atomics.store(flag, SLOT, ANSWERED);
    Atomics.notify(flag, SLOT);
    if (req.op === 'close') init.port.close();
  });
});
