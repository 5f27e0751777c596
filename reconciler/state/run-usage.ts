// CPU and memory of runs: live figures while a run is in flight (what `caduceus top`
// shows, written at most once a second per run) and the totals of each finished run (peak
// memory, CPU time) that `caduceus runs` shows. Kept beside the runs table, keyed by run id.

import type { StateStore } from './store.js';

export const RUN_USAGE_MIGRATIONS = [
  `CREATE TABLE run_usage (
     run_id TEXT PRIMARY KEY,
     cpu_ms INTEGER NOT NULL,
     cpu_percent REAL,
     memory_bytes INTEGER,
     peak_memory_bytes INTEGER NOT NULL,
     processes INTEGER,
     source TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
];

export interface RunUsage {
  runId: string;
  /** CPU time used so far (user + system), in milliseconds. */
  cpuMs: number;
  /** CPU use over the last sampling interval, in percent of one core. */
  cpuPercent: number | null;
  /** Resident memory now; null once the run is over. */
  memoryBytes: number | null;
  peakMemoryBytes: number;
  processes: number | null;
  /** `proc` (local process groups) or `docker` (container stats). */
  source: string;
  updatedAt: number;
}

export class RunUsageStore {
  constructor(private readonly store: StateStore) {
    store.migrate('run_usage', RUN_USAGE_MIGRATIONS);
  }

  put(u: RunUsage): void {
    this.store.db
      .prepare(
        `INSERT INTO run_usage
           (run_id, cpu_ms, cpu_percent, memory_bytes, peak_memory_bytes, processes, source, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET cpu_ms = excluded.cpu_ms, cpu_percent = excluded.cpu_percent,
           memory_bytes = excluded.memory_bytes, peak_memory_bytes = excluded.peak_memory_bytes,
           processes = excluded.processes, source = excluded.source, updated_at = excluded.updated_at`,
      )
      .run(
        u.runId,
        Math.round(u.cpuMs),
        u.cpuPercent,
        u.memoryBytes,
        Math.round(u.peakMemoryBytes),
        u.processes,
        u.source,
        u.updatedAt,
      );
  }

  /** Usage of the given runs; a task run without its own row sums its children (CPU) and takes their peak. */
  forRuns(ids: readonly string[]): Map<string, RunUsage> {
    const out = new Map<string, RunUsage>();
    if (ids.length === 0) return out;
    const marks = ids.map(() => '?').join(',');
    const rows = this.store.db
      .prepare(
        `SELECT r.id AS run_id,
                COALESCE(u.cpu_ms, (SELECT SUM(c.cpu_ms) FROM run_usage c
                                      JOIN runs k ON k.id = c.run_id WHERE k.parent_id = r.id)) AS cpu_ms,
                u.cpu_percent AS cpu_percent, u.memory_bytes AS memory_bytes,
                COALESCE(u.peak_memory_bytes, (SELECT MAX(c.peak_memory_bytes) FROM run_usage c
                                                 JOIN runs k ON k.id = c.run_id WHERE k.parent_id = r.id))
                  AS peak_memory_bytes,
                u.processes AS processes, COALESCE(u.source, 'children') AS source,
                COALESCE(u.updated_at, 0) AS updated_at
           FROM runs r LEFT JOIN run_usage u ON u.run_id = r.id WHERE r.id IN (${marks})`,
      )
      .all(...ids) as Array<{
      run_id: string;
      cpu_ms: number | null;
      cpu_percent: number | null;
      memory_bytes: number | null;
      peak_memory_bytes: number | null;
      processes: number | null;
      source: string;
      updated_at: number;
    }>;
    for (const r of rows) {
      if (r.cpu_ms === null && r.peak_memory_bytes === null) continue;
      out.set(r.run_id, {
        runId: r.run_id,
        cpuMs: r.cpu_ms ?? 0,
        cpuPercent: r.cpu_percent,
        memoryBytes: r.memory_bytes,
        peakMemoryBytes: r.peak_memory_bytes ?? 0,
        processes: r.processes,
        source: r.source,
        updatedAt: r.updated_at,
      });
    }
    return out;
  }
}
