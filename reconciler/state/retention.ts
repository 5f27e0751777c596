// Bounds on the state database's logs: each table that grows with use (events, audit
// rows, the run history) is registered with its class, and applyRetention deletes what is
// older than the class's maxAge or beyond its newest maxRows, then gives the freed pages
// back to the file system (incremental vacuum). The limits come from the Runtime's
// `spec.retention`; `up` applies them at start and every hour.

import type { RetentionClass, RetentionLimit } from '../specs.js';
import { parseDuration } from '../duration.js';
import type { StateStore } from './store.js';

export const DEFAULT_RETENTION: Record<RetentionClass, RetentionLimit> = {
  events: { maxAge: '30d', maxRows: 10_000 },
  audit: { maxAge: '90d', maxRows: 100_000 },
  runs: { maxAge: '90d', maxRows: 100_000 },
};

/** One table under retention. Rows are ordered by rowid, which grows with insertion. */
export interface RetainedTable {
  table: string;
  class: RetentionClass;
  /** Column holding the row's time. */
  time: string;
  /** How that column stores time: epoch milliseconds or ISO-8601 text. */
  unit: 'ms' | 'iso';
  /** SQL condition of rows never deleted (a run still in progress). */
  keep?: string;
}

export interface RetentionResult {
  /** Rows deleted per table. */
  deleted: Record<string, number>;
  /** Pages given back to the file system. */
  freedPages: number;
}

/** The Runtime's limits over the defaults, class by class and field by field. */
export function retentionLimits(
  spec: Partial<Record<RetentionClass, Partial<RetentionLimit>>> | undefined,
): Record<RetentionClass, RetentionLimit> {
  const out = { ...DEFAULT_RETENTION };
  for (const c of Object.keys(out) as RetentionClass[]) out[c] = { ...DEFAULT_RETENTION[c], ...spec?.[c] };
  return out;
}

export function applyRetention(
  store: StateStore,
  limits: Record<RetentionClass, RetentionLimit>,
  now = Date.now(),
): RetentionResult {
  const deleted: Record<string, number> = {};
  for (const t of store.retainedTables()) {
    const limit = limits[t.class];
    const cutoffMs = now - parseDuration(limit.maxAge);
    const cutoff = t.unit === 'ms' ? cutoffMs : new Date(cutoffMs).toISOString();
    const spare = t.keep ? ` AND NOT (${t.keep})` : '';
    const n = store.tx(() => {
      let gone = store.db.prepare(`DELETE FROM ${t.table} WHERE ${t.time} < ?${spare}`).run(cutoff).changes;
      // The newest maxRows stay: everything below the maxRows-th newest rowid goes.
      const edge = store.db
        .prepare(`SELECT rowid AS r FROM ${t.table} ORDER BY rowid DESC LIMIT 1 OFFSET ?`)
        .get(limit.maxRows) as { r: number } | undefined;
      if (edge) gone += store.db.prepare(`DELETE FROM ${t.table} WHERE rowid <= ?${spare}`).run(edge.r).changes;
      return gone;
    });
    if (n > 0) deleted[t.table] = n;
  }
  const freedPages = Object.keys(deleted).length > 0 ? store.vacuum() : 0;
  return { deleted, freedPages };
}
