// The curator's tables in the state store (migration namespace `curator`): one row per
// run with its report, one row per proposal with its state (open, merged, closed) so a
// rejected proposal is never made again, the schedule's anchor and the run lock.

import type { StateStore } from '../../reconciler/state/store.js';
import type { CuratorReport, ProposalRecord, ProposalState } from './types.js';

export const CURATOR_MIGRATIONS = [
  `CREATE TABLE curator_runs (
     id TEXT PRIMARY KEY,
     curator TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     outcome TEXT NOT NULL,
     trigger TEXT NOT NULL,
     report TEXT NOT NULL
   );
   CREATE INDEX curator_runs_by_start ON curator_runs (started_at);
   CREATE TABLE curator_proposals (
     id TEXT PRIMARY KEY,
     curator TEXT NOT NULL,
     action TEXT NOT NULL,
     skills TEXT NOT NULL,
     skill_hashes TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('open', 'merged', 'closed')),
     branch TEXT NOT NULL,
     commit_sha TEXT,
     pr_number INTEGER,
     pr_url TEXT,
     title TEXT NOT NULL,
     evidence TEXT NOT NULL,
     files TEXT NOT NULL,
     diff TEXT NOT NULL,
     position INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX curator_proposals_by_state ON curator_proposals (state);
   CREATE TABLE curator_schedule (
     curator TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     last_run_at INTEGER,
     first_tick_at INTEGER
   );
   CREATE TABLE curator_lock (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     acquired_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );`,
];

interface ProposalRow {
  id: string;
  curator: string;
  action: string;
  skills: string;
  skill_hashes: string;
  state: ProposalState;
  branch: string;
  commit_sha: string | null;
  pr_number: number | null;
  pr_url: string | null;
  title: string;
  evidence: string;
  files: string;
  diff: string;
  position: number;
  created_at: number;
  updated_at: number;
}

function fromRow(r: ProposalRow): ProposalRecord {
  return {
    id: r.id,
    curator: r.curator,
    action: r.action as ProposalRecord['action'],
    skills: JSON.parse(r.skills) as string[],
    skillHashes: JSON.parse(r.skill_hashes) as Record<string, string>,
    state: r.state,
    branch: r.branch,
    commit: r.commit_sha,
    prNumber: r.pr_number,
    prUrl: r.pr_url,
    title: r.title,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    files: JSON.parse(r.files) as string[],
    diff: r.diff,
    position: r.position,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class CuratorStore {
  constructor(readonly store: StateStore) {
    store.migrate('curator', CURATOR_MIGRATIONS);
  }

  // ---- lock ----

  /** Takes the run lock unless another live holder has it; a lock past its expiry is stale and taken over. */
  tryLock(holder: string, ttlMs: number, now = Date.now()): boolean {
    return this.store.tx(() => {
      const row = this.store.db.prepare('SELECT holder, expires_at FROM curator_lock WHERE name = ?').get('run') as
        | { holder: string; expires_at: number }
        | undefined;
      if (row && row.expires_at > now && row.holder !== holder) return false;
      this.store.db
        .prepare(`INSERT INTO curator_lock (name, holder, acquired_at, expires_at) VALUES ('run', ?, ?, ?)
                  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
                    expires_at = excluded.expires_at`)
        .run(holder, now, now + ttlMs);
      return true;
    });
  }

  unlock(holder: string): void {
    this.store.db.prepare(`DELETE FROM curator_lock WHERE name = 'run' AND holder = ?`).run(holder);
  }

  lockHolder(now = Date.now()): string | undefined {
    const row = this.store.db.prepare(`SELECT holder, expires_at FROM curator_lock WHERE name = 'run'`).get() as
      | { holder: string; expires_at: number }
      | undefined;
    return row && row.expires_at > now ? row.holder : undefined;
  }

  // ---- reports ----

  saveReport(report: CuratorReport): void {
    this.store.db
      .prepare(
        `INSERT INTO curator_runs (id, curator, started_at, finished_at, outcome, trigger, report)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, outcome = excluded.outcome,
           report = excluded.report`,
      )
      .run(
        report.runId,
        report.curator,
        report.startedAt,
        report.finishedAt,
        report.outcome,
        report.trigger,
        JSON.stringify(report),
      );
  }

  lastReport(curator?: string): CuratorReport | undefined {
    const row = (
      curator
        ? this.store.db
            .prepare('SELECT report FROM curator_runs WHERE curator = ? ORDER BY started_at DESC, rowid DESC LIMIT 1')
            .get(curator)
        : this.store.db.prepare('SELECT report FROM curator_runs ORDER BY started_at DESC, rowid DESC LIMIT 1').get()
    ) as { report: string } | undefined;
    return row ? (JSON.parse(row.report) as CuratorReport) : undefined;
  }

  // ---- proposals ----

  proposals(filter: { state?: ProposalState; curator?: string } = {}): ProposalRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.curator) {
      where.push('curator = ?');
      args.push(filter.curator);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const sql = `SELECT * FROM curator_proposals ${whereSql} ORDER BY created_at, position, id`;
    return (this.store.db.prepare(sql).all(...args) as ProposalRow[]).map(fromRow);
  }

  proposal(id: string): ProposalRecord | undefined {
    const exact = this.store.db.prepare('SELECT * FROM curator_proposals WHERE id = ?').get(id) as
      | ProposalRow
      | undefined;
    if (exact) return fromRow(exact);
    // A unique prefix is enough, like git's short SHAs.
    const rows = this.store.db
      .prepare('SELECT * FROM curator_proposals WHERE id LIKE ? LIMIT 2')
      .all(`${id}%`) as ProposalRow[];
    return rows.length === 1 && rows[0] ? fromRow(rows[0]) : undefined;
  }

  upsertProposal(p: ProposalRecord): void {
    this.store.db
      .prepare(
        `INSERT INTO curator_proposals (id, curator, action, skills, skill_hashes, state, branch, commit_sha,
                                        pr_number, pr_url, title, evidence, files, diff, position, created_at,
                                        updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, branch = excluded.branch,
           commit_sha = excluded.commit_sha, pr_number = excluded.pr_number, pr_url = excluded.pr_url,
           title = excluded.title, evidence = excluded.evidence, files = excluded.files, diff = excluded.diff,
           position = excluded.position, updated_at = excluded.updated_at`,
      )
      .run(
        p.id,
        p.curator,
        p.action,
        JSON.stringify(p.skills),
        JSON.stringify(p.skillHashes),
        p.state,
        p.branch,
        p.commit,
        p.prNumber,
        p.prUrl,
        p.title,
        JSON.stringify(p.evidence),
        JSON.stringify(p.files),
        p.diff,
        p.position,
        p.createdAt,
        p.updatedAt,
      );
  }

  setProposalState(ids: readonly string[], state: ProposalState, now = Date.now()): void {
    const st = this.store.db.prepare('UPDATE curator_proposals SET state = ?, updated_at = ? WHERE id = ?');
    this.store.tx(() => {
      for (const id of ids) st.run(state, now, id);
    });
  }

  deleteProposals(ids: readonly string[]): void {
    const st = this.store.db.prepare('DELETE FROM curator_proposals WHERE id = ?');
    this.store.tx(() => {
      for (const id of ids) st.run(id);
    });
  }

  // ---- schedule anchor ----

  /** When this curator was first seen (inserted on first call); the first scheduled run waits a cycle from it. */
  scheduleAnchor(
    curator: string,
    now = Date.now(),
  ): { createdAt: number; lastRunAt: number | null; firstTickAt: number | null } {
    this.store.db
      .prepare('INSERT INTO curator_schedule (curator, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING')
      .run(curator, now);
    const r = this.store.db
      .prepare('SELECT created_at, last_run_at, first_tick_at FROM curator_schedule WHERE curator = ?')
      .get(curator) as {
      created_at: number;
      last_run_at: number | null;
      first_tick_at: number | null;
    };
    return { createdAt: r.created_at, lastRunAt: r.last_run_at, firstTickAt: r.first_tick_at };
  }

  markScheduledRun(curator: string, at: number): void {
    this.store.db.prepare('UPDATE curator_schedule SET last_run_at = ? WHERE curator = ?').run(at, curator);
  }

  markFirstTick(curator: string, at: number): void {
    this.store.db
      .prepare('UPDATE curator_schedule SET first_tick_at = ? WHERE curator = ? AND first_tick_at IS NULL')
      .run(at, curator);
  }

  forgetSchedule(curator: string): void {
    this.store.db.prepare('DELETE FROM curator_schedule WHERE curator = ?').run(curator);
  }
}
