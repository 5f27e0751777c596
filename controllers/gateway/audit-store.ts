// The gateway's audit log in the state store: one row per decision about a chat request
// (accepted, refused, rejected before parsing) and per outcome (run finished, reply
// delivered or not). `caduceus gateway log` and `gateway status` read it. Times are epoch ms.
// GATEWAY_MIGRATIONS is the whole `gateway` namespace: it also creates the replay table.

import type { SqlStatement } from '../../reconciler/state/sql.js';
import type { StateStore } from '../../reconciler/state/store.js';
import { redact } from '../../reconciler/secrets.js';

export const GATEWAY_MIGRATIONS = [
  `CREATE TABLE gateway_audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
     policy TEXT,
     platform TEXT NOT NULL,
     "user" TEXT,
     channel TEXT,
     command TEXT,
     decision TEXT NOT NULL,
     reason TEXT NOT NULL,
     request_id TEXT,
     run_id TEXT
   );
   CREATE INDEX gateway_audit_by_at ON gateway_audit (at);
   CREATE INDEX gateway_audit_by_decision ON gateway_audit (decision);`,
  // 2: replay keys (see replay.ts), kept until they expire so a restart does not forget them.
  `CREATE TABLE gateway_replay (
     key TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX gateway_replay_by_expiry ON gateway_replay (expires_at);`,
];

export type AuditLevel = 'info' | 'warn' | 'error';

/**
 * accepted: work queued · answered: status/help served · refused: the policy said no ·
 * rejected: the request itself was bad (signature, replay, size, shape) ·
 * completed/failed: how the run ended · delivered/delivery-failed: the reply's fate.
 */
export type AuditDecision =
  | 'accepted'
  | 'answered'
  | 'refused'
  | 'rejected'
  | 'completed'
  | 'failed'
  | 'delivered'
  | 'delivery-failed';

export interface AuditEntry {
  id: number;
  at: number;
  level: AuditLevel;
  policy: string | null;
  platform: string;
  user: string | null;
  channel: string | null;
  command: string | null;
  decision: AuditDecision;
  reason: string;
  requestId: string | null;
  runId: string | null;
}

export type NewAuditEntry = Omit<
  AuditEntry,
  'id' | 'at' | 'policy' | 'user' | 'channel' | 'command' | 'requestId' | 'runId'
> &
  Partial<Pick<AuditEntry, 'at' | 'policy' | 'user' | 'channel' | 'command' | 'requestId' | 'runId'>>;

const RANK: Record<AuditLevel, number> = { info: 0, warn: 1, error: 2 };
/** The columns under AuditEntry's names, so that a row comes back as an entry. */
const ENTRY_COLUMNS =
  'id, at, level, policy, platform, "user", channel, command, decision, reason, ' +
  'request_id AS "requestId", run_id AS "runId"';
const MAX_FIELD = 500;

function clip(s: string | null | undefined): string | null {
  if (s === undefined || s === null) return null;
  const r = redact(s);
  return r.length > MAX_FIELD ? `${r.slice(0, MAX_FIELD)}…` : r;
}

export class AuditStore {
  /** Prepared once: a row is written for every gateway request. */
  private readonly insert: SqlStatement;

  constructor(private readonly store: StateStore) {
    store.migrate('gateway', GATEWAY_MIGRATIONS);
    this.insert = store.db.prepare(
      `INSERT INTO gateway_audit (at, level, policy, platform, "user", channel, command, decision, reason,
         request_id, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(e: NewAuditEntry): void {
    this.insert.run(
      e.at ?? Date.now(),
      e.level,
      e.policy ?? null,
      e.platform,
      clip(e.user),
      clip(e.channel),
      clip(e.command),
      e.decision,
      clip(e.reason) ?? '',
      e.requestId ?? null,
      e.runId ?? null,
    );
  }

  /** Newest first; `minLevel` keeps that level and above. */
  list(
    filter: { minLevel?: AuditLevel; limit?: number; platform?: string; decision?: AuditDecision } = {},
  ): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.minLevel) {
      const levels = (Object.keys(RANK) as AuditLevel[]).filter((l) => RANK[l] >= RANK[filter.minLevel as AuditLevel]);
      where.push(`level IN (${levels.map(() => '?').join(', ')})`);
      args.push(...levels);
    }
    if (filter.platform) {
      where.push('platform = ?');
      args.push(filter.platform);
    }
    if (filter.decision) {
      where.push('decision = ?');
      args.push(filter.decision);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const sql = `SELECT ${ENTRY_COLUMNS} FROM gateway_audit ${whereSql} ORDER BY id DESC LIMIT ?`;
    return this.store.db.prepare(sql).all(...args, filter.limit ?? 50) as AuditEntry[];
  }

  /** Rows per platform and decision, for `gateway status`. */
  counts(since = 0): Array<{ platform: string; decision: AuditDecision; count: number }> {
    return this.store.db
      .prepare(
        `SELECT platform, decision, COUNT(*) AS count FROM gateway_audit WHERE at >= ?
         GROUP BY platform, decision ORDER BY platform, decision`,
      )
      .all(since) as Array<{ platform: string; decision: AuditDecision; count: number }>;
  }
}
