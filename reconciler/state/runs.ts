// Run history: every skill, task and agent run with its trigger, timing, outcome and attempts.
// Execution and subagents write it; the curator reads usage figures from it; `caduceus
// runs` lists it. Times are epoch milliseconds.

import { randomUUID } from 'node:crypto';
import type { StateStore } from './store.js';

export const RUNS_MIGRATIONS = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('skill', 'task')),
     name TEXT NOT NULL,
     version TEXT,
     spec_hash TEXT,
     parent_id TEXT,
     trigger TEXT NOT NULL,
     actor TEXT,
     started_at INTEGER NOT NULL,
     duration_ms INTEGER,
     status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timedOut', 'cancelled', 'skipped')),
     attempts INTEGER NOT NULL DEFAULT 1,
     error TEXT,
     report TEXT
   );
   CREATE INDEX runs_by_name ON runs (kind, name, started_at);
   CREATE INDEX runs_by_start ON runs (started_at);`,
  // Covers skillUsage() so usage over a million runs is read from the index alone (the curator).
  `CREATE INDEX runs_usage ON runs (kind, name, version, started_at, status);`,
  // Agent runs join the history. SQLite cannot alter a CHECK, so the table is rebuilt
  // (same columns in the same order) inside the migration's transaction;
  // PostgreSQL alters the CHECK in place (a rebuild would renumber its rowid column).
  {
    sqlite: `CREATE TABLE runs_v3 (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('skill', 'task', 'agent')),
     name TEXT NOT NULL,
     version TEXT,
     spec_hash TEXT,
     parent_id TEXT,
     trigger TEXT NOT NULL,
     actor TEXT,
     started_at INTEGER NOT NULL,
     duration_ms INTEGER,
     status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timedOut', 'cancelled', 'skipped')),
     attempts INTEGER NOT NULL DEFAULT 1,
     error TEXT,
     report TEXT
   );
   INSERT INTO runs_v3 SELECT id, kind, name, version, spec_hash, parent_id, trigger, actor, started_at, duration_ms,
     status, attempts, error, report FROM runs;
   DROP TABLE runs;
   ALTER TABLE runs_v3 RENAME TO runs;
   CREATE INDEX runs_by_name ON runs (kind, name, started_at);
   CREATE INDEX runs_by_start ON runs (started_at);
   CREATE INDEX runs_usage ON runs (kind, name, version, started_at, status);
   CREATE INDEX runs_by_parent ON runs (parent_id);`,
    postgres: `ALTER TABLE runs DROP CONSTRAINT runs_kind_check;
     ALTER TABLE runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('skill', 'task', 'agent'));
     CREATE INDEX runs_by_parent ON runs (parent_id);`,
  },
  // 4: which process (StateStore.owner) started a run, so a new leader abandons exactly the
  // runs of the one that died; and one row per scheduled firing, so a cron slot that two
  // replicas both see (a lease changing hands) runs once.
  `ALTER TABLE runs ADD COLUMN owner TEXT;
   CREATE INDEX runs_by_owner ON runs (status, owner);
   CREATE TABLE schedule_claims (
     task TEXT NOT NULL,
     slot INTEGER NOT NULL,
     holder TEXT NOT NULL,
     claimed_at INTEGER NOT NULL,
     PRIMARY KEY (task, slot)
   );`,
];

/** The error of runs whose process died while they ran. */
export const ABANDONED = 'process exited while the run was in progress';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'timedOut' | 'cancelled' | 'skipped';
export type RunKind = 'skill' | 'task' | 'agent';

export interface RunRecord {
  id: string;
  kind: RunKind;
  name: string;
  version: string | null;
  specHash: string | null;
  parentId: string | null;
  trigger: string;
  actor: string | null;
  startedAt: number;
  durationMs: number | null;
  status: RunStatus;
  attempts: number;
  error: string | null;
  report: unknown;
}

export interface SkillUsage {
  name: string;
  version: string | null;
  runs: number;
  failures: number;
  lastUsed: number | null;
}

interface Row {
  id: string;
  kind: RunKind;
  name: string;
  version: string | null;
  spec_hash: string | null;
  parent_id: string | null;
  trigger: string;
  actor: string | null;
  started_at: number;
  duration_ms: number | null;
  status: RunStatus;
  attempts: number;
  error: string | null;
  report: string | null;
}

function fromRow(r: Row): RunRecord {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    version: r.version,
    specHash: r.spec_hash,
    parentId: r.parent_id,
    trigger: r.trigger,
    actor: r.actor,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    status: r.status,
    attempts: r.attempts,
    error: r.error,
    report: r.report === null ? null : (JSON.parse(r.report) as unknown),
  };
}

export class RunStore {
  constructor(private readonly store: StateStore) {
    store.migrate('runs', RUNS_MIGRATIONS);
  }

  /** Records the start of a run and returns its id. */
  start(run: {
    kind: RunKind;
    name: string;
    version?: string;
    specHash?: string;
    parentId?: string;
    trigger: string;
    actor?: string;
    startedAt?: number;
    id?: string;
  }): string {
    const id = run.id ?? randomUUID();
    this.store.db
      .prepare(
        `INSERT INTO runs (id, kind, name, version, spec_hash, parent_id, trigger, actor, started_at, status, owner)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(
        id,
        run.kind,
        run.name,
        run.version ?? null,
        run.specHash ?? null,
        run.parentId ?? null,
        run.trigger,
        run.actor ?? null,
        run.startedAt ?? Date.now(),
        this.store.owner,
      );
    return id;
  }

  finish(
    id: string,
    result: {
      status: Exclude<RunStatus, 'running'>;
      durationMs: number;
      attempts?: number;
      error?: string;
      report?: unknown;
    },
  ): void {
    this.store.db
      .prepare('UPDATE runs SET status = ?, duration_ms = ?, attempts = ?, error = ?, report = ? WHERE id = ?')
      .run(
        result.status,
        Math.round(result.durationMs),
        result.attempts ?? 1,
        result.error ?? null,
        result.report === undefined ? null : JSON.stringify(result.report),
        id,
      );
  }

  get(id: string): RunRecord | undefined {
    const r = this.store.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  list(filter: { kind?: RunKind; name?: string; parentId?: string; limit?: number } = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind) {
      where.push('kind = ?');
      args.push(filter.kind);
    }
    if (filter.name) {
      where.push('name = ?');
      args.push(filter.name);
    }
    if (filter.parentId) {
      where.push('parent_id = ?');
      args.push(filter.parentId);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const sql = `SELECT * FROM runs ${whereSql} ORDER BY started_at DESC, rowid DESC LIMIT ?`;
    return (this.store.db.prepare(sql).all(...args, filter.limit ?? 50) as Row[]).map(fromRow);
  }

  /**
   * The runs whose id is `id` or starts with it (the list shows ids cut to 8 characters),
   * at most two: more than one means the prefix is ambiguous.
   */
  find(id: string): RunRecord[] {
    if (!/^[0-9A-Za-z-]+$/.test(id)) return [];
    const rows = this.store.db
      .prepare('SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 2')
      .all(id, `${id}\uffff`) as Row[];
    const exact = rows.find((r) => r.id === id);
    return exact ? [fromRow(exact)] : rows.map(fromRow);
  }

  /** The latest run of a task whose spec hash matches, to decide "runs once per spec change". */
  lastForSpec(kind: RunKind, name: string, specHash: string): RunRecord | undefined {
    const r = this.store.db
      .prepare('SELECT * FROM runs WHERE kind = ? AND name = ? AND spec_hash = ? ORDER BY started_at DESC LIMIT 1')
      .get(kind, name, specHash) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /**
   * Marks the runs a dead process left `running` as cancelled with the ABANDONED error:
   * those it started (its StateStore.owner) and those of no recorded owner (written before
   * owners were). A new leader calls it with the owner of the one whose lease expired.
   */
  abandonRunning(owner: string, error = ABANDONED): number {
    return this.store.db
      .prepare(
        `UPDATE runs SET status = 'cancelled', error = ? WHERE status = 'running' AND (owner = ? OR owner IS NULL)`,
      )
      .run(error, owner).changes;
  }

  /**
   * Claims one firing of a schedule (`slot`: the time it was due, epoch ms). True for the
   * first caller only, in this process or any other on the same state.
   */
  claimFiring(task: string, slot: number, now = Date.now()): boolean {
    return this.store.tx(() => {
      // A day of claims is kept: enough for any lease to change hands, small for any cron.
      this.store.db.prepare('DELETE FROM schedule_claims WHERE task = ? AND slot < ?').run(task, slot - 86_400_000);
      return (
        this.store.db
          .prepare(
            'INSERT INTO schedule_claims (task, slot, holder, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
          )
          .run(task, slot, this.store.owner, now).changes === 1
      );
    });
  }

  /** Per skill and version: runs, failures and last use since `since` (epoch ms). */
  skillUsage(since: number): SkillUsage[] {
    return this.store.db
      .prepare(
        `SELECT name, version, COUNT(*) AS runs,
                SUM(CASE WHEN status IN ('failed', 'timedOut') THEN 1 ELSE 0 END) AS failures,
                MAX(started_at) AS "lastUsed"
         FROM runs WHERE kind = 'skill' AND started_at >= ? GROUP BY name, version`,
      )
      .all(since) as SkillUsage[];
  }

  /** Last use of every skill ever run, regardless of window. */
  lastUsedBySkill(): Map<string, number> {
    const rows = this.store.db
      .prepare(`SELECT name, MAX(started_at) AS t FROM runs WHERE kind = 'skill' GROUP BY name`)
      .all() as Array<{ name: string; t: number }>;
    return new Map(rows.map((r) => [r.name, r.t]));
  }
}
