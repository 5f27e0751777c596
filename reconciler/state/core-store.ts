// The reconciler's own tables: which revision was attempted and applied, the applied
// snapshot (one row per resource with its hash), per-resource status with conditions,
// the last revisions' history and the event log. Each write that belongs to one apply
// step happens in one transaction, so a crash leaves a state a restart converges from.

import type { StateStore } from './store.js';
import type { SqlStatement } from './sql.js';
import type {
  Condition,
  ConditionType,
  ConditionUpdate,
  EventRecorder,
  EventType,
  Finding,
  Kind,
  Reason,
  Resource,
  ResourceKey,
  ResourceStatus,
} from '../types.js';
import { randomUUID } from 'node:crypto';
import { splitKey } from '../types.js';
import { CONDITION_TYPES } from '../reasons.js';
import { redactUrl } from '../secrets.js';

export const CORE_MIGRATIONS = [
  `CREATE TABLE source_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     last_applied_revision TEXT,
     last_applied_at TEXT,
     last_attempted_revision TEXT,
     last_attempted_at TEXT,
     last_attempt_outcome TEXT,
     last_attempt_errors TEXT
   );
   INSERT INTO source_state (id) VALUES (1);
   CREATE TABLE applied (
     key TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     hash TEXT NOT NULL,
     revision TEXT NOT NULL,
     resource TEXT NOT NULL
   );
   CREATE TABLE status (
     key TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     conditions TEXT NOT NULL,
     observed TEXT NOT NULL,
     last_applied_revision TEXT,
     applied_hash TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE revisions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     revision TEXT NOT NULL,
     at TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'applied')),
     message TEXT,
     errors TEXT,
     summary TEXT
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     type TEXT NOT NULL CHECK (type IN ('Normal', 'Warning')),
     reason TEXT NOT NULL,
     object TEXT,
     message TEXT NOT NULL,
     revision TEXT
   );
   CREATE INDEX events_by_object ON events (object, id);`,
  // The git source's health, so `caduceus status` (which reads only this file) shows an
  // unreachable remote. One row, written by `caduceus up` when the outcome changes.
  `CREATE TABLE source_health (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     mode TEXT NOT NULL,
     repo TEXT NOT NULL,
     branch TEXT,
     path TEXT,
     last_fetch_at TEXT,
     fetch_errors INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     failing_since TEXT,
     recorded_at TEXT NOT NULL
   );`,
  // 3: the identity of this deployment (one per state directory, or per PostgreSQL database
  // shared by replicas): what containers and Swarm services are labelled with, so garbage
  // collection never touches another Caduceus's on a shared engine. And the leader lease
  // of replicas on PostgreSQL (see leader.ts).
  `CREATE TABLE instance (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     instance_id TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE leader_lease (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     term INTEGER NOT NULL,
     acquired_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );`,
  // 4: a revision the prune guard holds is neither accepted nor rejected: 'held', with the
  // message that says what it would prune and how to allow it. SQLite cannot alter a CHECK
  // (the table is rebuilt); PostgreSQL alters it in place.
  {
    sqlite: `ALTER TABLE source_state ADD COLUMN last_attempt_message TEXT;
   CREATE TABLE revisions_v2 (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     revision TEXT NOT NULL,
     at TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'held', 'applied')),
     message TEXT,
     errors TEXT,
     summary TEXT
   );
   INSERT INTO revisions_v2 SELECT * FROM revisions;
   DROP TABLE revisions;
   ALTER TABLE revisions_v2 RENAME TO revisions;`,
    postgres: `ALTER TABLE source_state ADD COLUMN last_attempt_message TEXT;
   ALTER TABLE revisions DROP CONSTRAINT revisions_outcome_check;
   ALTER TABLE revisions ADD CONSTRAINT revisions_outcome_check
     CHECK (outcome IN ('accepted', 'rejected', 'held', 'applied'));`,
  },
];

const HISTORY = 10;
/** Reconcile steps written in one transaction at most (writeStepSoon). */
const MAX_BATCH = 500;

export interface SourceState {
  lastAppliedRevision: string | null;
  lastAppliedAt: string | null;
  lastAttemptedRevision: string | null;
  lastAttemptedAt: string | null;
  lastAttemptOutcome: 'accepted' | 'rejected' | 'held' | null;
  lastAttemptErrors: Finding[];
  /** What the last attempt came to, in a sentence (why it was held, what it changes). */
  lastAttemptMessage: string | null;
}

/**
 * The git source as `caduceus up` last saw it. Written when the fetch outcome changes
 * (a new failure, a recovery, another failed attempt), not on every successful poll: while
 * fetches keep working, lastFetchAt is the fetch that last changed the outcome.
 */
export interface SourceHealth {
  mode: 'local' | 'remote' | 'worktree';
  /** Path or URL; any credential is replaced by `***` before it is stored. */
  repo: string;
  branch?: string;
  path?: string;
  lastFetchAt?: string;
  /** Consecutive failed fetches; 0 when the last one worked. */
  fetchErrors: number;
  lastFetchError?: string;
  /** When the current run of failures started. */
  failingSince?: string;
  /** When `caduceus up` wrote this (read-only for callers). */
  recordedAt?: string;
}

export interface RevisionRecord {
  seq: number;
  revision: string;
  at: string;
  outcome: 'accepted' | 'rejected' | 'held' | 'applied';
  message: string | null;
  errors: Finding[];
  summary: Record<string, number> | null;
}

export interface EventRecord {
  id: number;
  at: string;
  type: 'Normal' | 'Warning';
  reason: string;
  object: string | null;
  message: string;
  revision: string | null;
}

export interface AppliedRow {
  key: ResourceKey;
  hash: string;
  revision: string;
  resource: Resource;
}

export interface NewEvent {
  type: EventType;
  reason: Reason;
  object?: string;
  message: string;
  revision?: string;
}

/** The outcome of one reconcile, written in one transaction. */
export interface StepWrite {
  key: ResourceKey;
  revision: string;
  /** Set after a successful apply: the resource becomes part of the applied snapshot. */
  applied?: Resource;
  /** Set after a successful prune: the row and its status are removed. */
  pruned?: boolean;
  conditions: ConditionUpdate[];
  observed?: Record<string, unknown>;
  events: NewEvent[];
}

interface StatusRow {
  key: string;
  kind: string;
  name: string;
  conditions: string;
  observed: string;
  last_applied_revision: string | null;
  applied_hash: string | null;
  created_at: string;
  updated_at: string;
}

function toStatus(r: StatusRow): ResourceStatus {
  const s: ResourceStatus = {
    key: r.key,
    kind: r.kind as Kind,
    name: r.name,
    conditions: JSON.parse(r.conditions) as Condition[],
    observed: JSON.parse(r.observed) as Record<string, unknown>,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.last_applied_revision) s.lastAppliedRevision = r.last_applied_revision;
  if (r.applied_hash) s.appliedHash = r.applied_hash;
  return s;
}

const CONDITION_ORDER = Object.keys(CONDITION_TYPES) as ConditionType[];
const NO_CONDITIONS: Condition[] = [];

/** The last entry of type t: a later update of a type wins. */
function lastOfType<C extends { type: ConditionType }>(list: readonly C[], t: ConditionType): C | undefined {
  for (let i = list.length - 1; i >= 0; i--) if ((list[i] as C).type === t) return list[i];
  return undefined;
}

/**
 * The conditions to store: new ones merged into old ones, in CONDITION_TYPES order, with
 * messages redacted (they carry error text, a controller's or the loop's, like events);
 * lastTransitionTime moves only when status changes. Runs once per reconcile: no Map,
 * spread or intermediate list per call.
 */
export function mergeConditions(old: Condition[], updates: ConditionUpdate[], now: string): Condition[] {
  const out: Condition[] = [];
  for (const t of CONDITION_ORDER) {
    const u = lastOfType(updates, t);
    const prev = lastOfType(old, t);
    if (u) {
      out.push({
        type: u.type,
        status: u.status,
        reason: u.reason,
        message: redactUrl(u.message),
        lastTransitionTime: prev && prev.status === u.status ? prev.lastTransitionTime : now,
      });
    } else if (prev) out.push(prev);
  }
  return out;
}

/**
 * An INSERT written for many rows at once: `head VALUES (…), (…) tail`. One statement
 * per row cost more than the row (a first apply of 10,000 resources wrote 30,000).
 */
interface MultiRow {
  head: string;
  width: number;
  tail: string;
}

/** Rows in one statement at most; statements hold a power of two of rows, so few texts are prepared. */
const ROWS_PER_STATEMENT = 64;

const APPLIED_ROWS: MultiRow = {
  head: 'INSERT INTO applied (key, kind, name, hash, revision, resource)',
  width: 6,
  tail: `ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, revision = excluded.revision,
           resource = excluded.resource`,
};

// The COALESCEs keep the applied fields of a status-only write.
const STATUS_ROWS: MultiRow = {
  head: `INSERT INTO status (key, kind, name, conditions, observed, last_applied_revision, applied_hash, created_at,
                          updated_at)`,
  width: 9,
  tail: `ON CONFLICT (key) DO UPDATE SET conditions = excluded.conditions, observed = excluded.observed,
         last_applied_revision = COALESCE(excluded.last_applied_revision, status.last_applied_revision),
         applied_hash = COALESCE(excluded.applied_hash, status.applied_hash), updated_at = excluded.updated_at`,
};

const EVENT_ROWS: MultiRow = {
  head: 'INSERT INTO events (at, type, reason, object, message, revision)',
  width: 6,
  tail: '',
};

/**
 * The rows of a batch's steps not yet written, flat, `width` values a row. Per table, rows
 * go in step order; a key comes at most once (an upsert of the same key twice in one
 * statement is an error on PostgreSQL), so a step whose key waits writes the rows first.
 */
interface PendingRows {
  keys: Set<ResourceKey>;
  applied: unknown[];
  status: unknown[];
  events: unknown[];
}

function pushEvents(into: unknown[], events: NewEvent[], now: string): void {
  // Every event is written through here: messages carry error text, so credentials are redacted here.
  for (const e of events) into.push(now, e.type, e.reason, e.object ?? null, redactUrl(e.message), e.revision ?? null);
}

export class CoreStore implements EventRecorder {
  /** Prepared once: compiling SQL on every write costs more than the write itself. */
  private readonly statements = new Map<string, SqlStatement>();
  /** insertRows' statements, by shape and then by log2 of their row count. */
  private readonly multiRow = new Map<MultiRow, SqlStatement[]>();
  /**
   * The applied snapshot's hashes, kept in memory once read: the loop plans every
   * revision against them, and only writeStep (through this object) changes them.
   */
  private hashes: Map<ResourceKey, string> | undefined;
  /**
   * Every status as last written, read in one query when the loop first asks for one or
   * writes: only the loop writes statuses, through writeSteps, which keeps this current
   * after each commit.
   */
  private statuses: Map<ResourceKey, ResourceStatus> | undefined;
  private batch: Array<{ step: StepWrite; resolve(): void; reject(err: unknown): void }> = [];
  /** Size of the batch at the previous turn (flushBatch). */
  private batchSeen = 0;

  constructor(readonly store: StateStore) {
    store.retain({ table: 'events', class: 'events', time: 'at', unit: 'iso' });
    store.migrate('core', CORE_MIGRATIONS);
  }

  private sql(text: string): SqlStatement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.store.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** The deployment's stable id, made on first use. */
  instanceId(): string {
    const read = (): string | undefined =>
      (this.sql('SELECT instance_id FROM instance WHERE id = 1').get() as { instance_id: string } | undefined)
        ?.instance_id;
    const id = read();
    if (id) return id;
    this.store.tx(() =>
      this.sql('INSERT INTO instance (id, instance_id, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING').run(
        randomUUID(),
        new Date().toISOString(),
      ),
    );
    return read() as string;
  }

  sourceState(): SourceState {
    const r = this.sql('SELECT * FROM source_state WHERE id = 1').get() as Record<string, string | null>;
    return {
      lastAppliedRevision: r.last_applied_revision ?? null,
      lastAppliedAt: r.last_applied_at ?? null,
      lastAttemptedRevision: r.last_attempted_revision ?? null,
      lastAttemptedAt: r.last_attempted_at ?? null,
      lastAttemptOutcome: (r.last_attempt_outcome as SourceState['lastAttemptOutcome']) ?? null,
      lastAttemptErrors: r.last_attempt_errors ? (JSON.parse(r.last_attempt_errors) as Finding[]) : [],
      lastAttemptMessage: r.last_attempt_message ?? null,
    };
  }

  sourceHealth(): SourceHealth | undefined {
    const r = this.sql('SELECT * FROM source_health WHERE id = 1').get() as
      | Record<string, string | number | null>
      | undefined;
    if (!r) return undefined;
    const opt = (name: string, v: string | number | null | undefined): Record<string, string> =>
      typeof v === 'string' ? { [name]: v } : {};
    return {
      mode: r.mode as SourceHealth['mode'],
      repo: r.repo as string,
      ...opt('branch', r.branch),
      ...opt('path', r.path),
      ...opt('lastFetchAt', r.last_fetch_at),
      fetchErrors: Number(r.fetch_errors),
      ...opt('lastFetchError', r.last_error),
      ...opt('failingSince', r.failing_since),
      ...opt('recordedAt', r.recorded_at),
    };
  }

  /**
   * Replaces the source's health row, with its events (a failure starting, a recovery),
   * in one transaction. Credentials are redacted here, the last step before the disk.
   */
  recordSourceHealth(h: SourceHealth, events: NewEvent[] = []): void {
    const now = new Date().toISOString();
    this.store.tx(() => {
      this.sql(
        `INSERT INTO source_health (id, mode, repo, branch, path, last_fetch_at, fetch_errors, last_error,
                                    failing_since, recorded_at)
         VALUES (1, @mode, @repo, @branch, @path, @lastFetchAt, @fetchErrors, @lastError, @failingSince, @now)
         ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, repo = excluded.repo, branch = excluded.branch,
           path = excluded.path, last_fetch_at = excluded.last_fetch_at, fetch_errors = excluded.fetch_errors,
           last_error = excluded.last_error, failing_since = excluded.failing_since,
           recorded_at = excluded.recorded_at`,
      ).run({
        mode: h.mode,
        repo: redactUrl(h.repo),
        branch: h.branch ?? null,
        path: h.path ?? null,
        lastFetchAt: h.lastFetchAt ?? null,
        fetchErrors: h.fetchErrors,
        lastError: h.lastFetchError !== undefined ? redactUrl(h.lastFetchError) : null,
        failingSince: h.failingSince ?? null,
        now,
      });
      this.insertEvents(events, now);
    });
  }

  /** Records an attempted revision (accepted or rejected) and trims history to the last 10. */
  recordAttempt(
    revision: string,
    outcome: 'accepted' | 'rejected' | 'held',
    info: { message?: string; errors?: Finding[]; summary?: Record<string, number> },
    events: NewEvent[],
  ): void {
    const now = new Date().toISOString();
    this.store.tx(() => {
      this.sql(
        `UPDATE source_state SET last_attempted_revision = ?, last_attempted_at = ?, last_attempt_outcome = ?,
                                 last_attempt_errors = ?, last_attempt_message = ?
         WHERE id = 1`,
      ).run(revision, now, outcome, JSON.stringify(info.errors ?? []), info.message ? redactUrl(info.message) : null);
      this.pushHistory(revision, outcome, now, info);
      this.insertEvents(events, now);
    });
  }

  /** Marks a revision as fully applied. */
  recordApplied(revision: string, summary: Record<string, number>, events: NewEvent[]): void {
    const now = new Date().toISOString();
    this.store.tx(() => {
      this.sql('UPDATE source_state SET last_applied_revision = ?, last_applied_at = ? WHERE id = 1').run(
        revision,
        now,
      );
      this.pushHistory(revision, 'applied', now, { summary });
      this.insertEvents(events, now);
    });
  }

  private pushHistory(
    revision: string,
    outcome: string,
    now: string,
    info: { message?: string; errors?: Finding[]; summary?: Record<string, number> },
  ): void {
    this.sql('INSERT INTO revisions (revision, at, outcome, message, errors, summary) VALUES (?, ?, ?, ?, ?, ?)').run(
      revision,
      now,
      outcome,
      info.message ?? null,
      info.errors?.length ? JSON.stringify(info.errors) : null,
      info.summary ? JSON.stringify(info.summary) : null,
    );
    // Keep the entries of the last HISTORY distinct revisions.
    this.sql(
      `DELETE FROM revisions WHERE revision NOT IN (
         SELECT revision FROM revisions GROUP BY revision ORDER BY MAX(seq) DESC LIMIT ?)`,
    ).run(HISTORY);
  }

  history(): RevisionRecord[] {
    const rows = this.sql('SELECT * FROM revisions ORDER BY seq DESC').all() as Array<
      Record<string, string | number | null>
    >;
    return rows.map((r) => ({
      seq: r.seq as number,
      revision: r.revision as string,
      at: r.at as string,
      outcome: r.outcome as RevisionRecord['outcome'],
      message: (r.message as string | null) ?? null,
      errors: r.errors ? (JSON.parse(r.errors as string) as Finding[]) : [],
      summary: r.summary ? (JSON.parse(r.summary as string) as Record<string, number>) : null,
    }));
  }

  appliedRows(): Map<ResourceKey, AppliedRow> {
    const rows = this.sql('SELECT key, hash, revision, resource FROM applied').all() as Array<{
      key: string;
      hash: string;
      revision: string;
      resource: string;
    }>;
    return new Map(
      rows.map((r) => [
        r.key,
        { key: r.key, hash: r.hash, revision: r.revision, resource: JSON.parse(r.resource) as Resource },
      ]),
    );
  }

  /** Only keys and hashes: cheap enough to call on every revision of a large repository. */
  appliedHashes(): Map<ResourceKey, string> {
    return new Map(this.hashMap());
  }

  appliedHashesFor(key: ResourceKey): string | undefined {
    return this.hashMap().get(key);
  }

  private hashMap(): Map<ResourceKey, string> {
    if (!this.hashes) {
      const rows = this.sql('SELECT key, hash FROM applied').all() as Array<{ key: string; hash: string }>;
      this.hashes = new Map(rows.map((r) => [r.key, r.hash]));
    }
    return this.hashes;
  }

  appliedResource(key: ResourceKey): Resource | undefined {
    const r = this.sql('SELECT resource FROM applied WHERE key = ?').get(key) as { resource: string } | undefined;
    return r ? (JSON.parse(r.resource) as Resource) : undefined;
  }

  status(key: ResourceKey): ResourceStatus | undefined {
    const r = this.sql('SELECT * FROM status WHERE key = ?').get(key) as StatusRow | undefined;
    return r ? toStatus(r) : undefined;
  }

  /**
   * A key's status for the loop, before it reconciles the key: from memory (statusMap; a
   * query per key was a tenth of `up`'s start at 10,000 resources). Treat it as read-only.
   * Readers other than the loop (the API, the CLI) use status(), which reads the database.
   */
  lastStatus(key: ResourceKey): ResourceStatus | undefined {
    return this.statusMap().get(key);
  }

  private statusMap(): Map<ResourceKey, ResourceStatus> {
    // Not through allStatus(): that is the API's read, in key order, which this does not need.
    this.statuses ??= new Map((this.sql('SELECT * FROM status').all() as StatusRow[]).map((r) => [r.key, toStatus(r)]));
    return this.statuses;
  }

  allStatus(): ResourceStatus[] {
    return (this.sql('SELECT * FROM status ORDER BY kind, name').all() as StatusRow[]).map(toStatus);
  }

  /** Writes one reconcile's outcome: applied row, status, events — all or nothing. */
  writeStep(step: StepWrite): void {
    this.writeSteps([step]);
  }

  /**
   * Writes one reconcile's outcome with the others queued in the same turn of the event
   * loop, in one transaction: a commit costs far more than its rows, and applying 10,000
   * resources made 10,000 commits. Resolves once written. A batch that fails is written
   * again one step per transaction, so one bad step fails alone, each all or nothing.
   */
  writeStepSoon(step: StepWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.batch.length === 0) {
        this.batchSeen = 0;
        setImmediate(() => this.flushBatch());
      }
      this.batch.push({ step, resolve, reject });
    });
  }

  /**
   * Writes the queued steps once a turn of the event loop has added none (or there are
   * MAX_BATCH): while a revision's keys keep finishing, they share one commit.
   */
  private flushBatch(): void {
    if (this.batch.length > this.batchSeen && this.batch.length < MAX_BATCH) {
      this.batchSeen = this.batch.length;
      setImmediate(() => this.flushBatch());
      return;
    }
    const batch = this.batch;
    this.batch = [];
    try {
      this.writeSteps(batch.map((b) => b.step));
      for (const b of batch) b.resolve();
      return;
    } catch {
      // Below, step by step.
    }
    for (const b of batch) {
      try {
        this.writeSteps([b.step]);
        b.resolve();
      } catch (err) {
        b.reject(err);
      }
    }
  }

  private writeSteps(steps: StepWrite[]): void {
    const known = this.statusMap();
    const written = new Map<ResourceKey, ResourceStatus>();
    this.store.tx(() => {
      written.clear();
      // The batch's own view: a key written twice builds on its first write, and the
      // statuses in memory change only after the commit.
      const prev = new Map<ResourceKey, ResourceStatus>();
      for (const s of steps) {
        const st = known.get(s.key);
        if (st) prev.set(s.key, st);
      }
      // One time for the batch: its rows commit together.
      const now = new Date().toISOString();
      const rows: PendingRows = { keys: new Set(), applied: [], status: [], events: [] };
      for (const s of steps) {
        if (rows.keys.has(s.key)) this.writeRows(rows);
        this.writeStepBody(s, prev, written, rows, now);
      }
      this.writeRows(rows);
    });
    // After the commit only: a rolled-back write must not show in the caches.
    if (this.hashes) {
      for (const step of steps) {
        if (step.pruned) this.hashes.delete(step.key);
        else if (step.applied) this.hashes.set(step.key, step.applied.hash);
      }
    }
    for (const step of steps) {
      const st = written.get(step.key);
      if (st) known.set(step.key, st);
      else known.delete(step.key);
    }
  }

  private writeRows(rows: PendingRows): void {
    this.insertRows(APPLIED_ROWS, rows.applied);
    this.insertRows(STATUS_ROWS, rows.status);
    this.insertRows(EVENT_ROWS, rows.events);
    rows.keys.clear();
    rows.applied.length = 0;
    rows.status.length = 0;
    rows.events.length = 0;
  }

  /** Writes flat values, `shape.width` a row, with as few statements as ROWS_PER_STATEMENT allows. */
  private insertRows(shape: MultiRow, values: unknown[]): void {
    let prepared = this.multiRow.get(shape);
    if (!prepared) {
      prepared = [];
      this.multiRow.set(shape, prepared);
    }
    let at = 0;
    while (at < values.length) {
      const left = (values.length - at) / shape.width;
      // The largest power of two of rows that fits: log2(ROWS_PER_STATEMENT) + 1 texts at most.
      let n = 1;
      while (n * 2 <= left && n * 2 <= ROWS_PER_STATEMENT) n *= 2;
      const bit = Math.log2(n);
      let st = prepared[bit];
      if (!st) {
        const row = `(${Array(shape.width).fill('?').join(', ')})`;
        st = this.store.db.prepare(`${shape.head} VALUES ${Array(n).fill(row).join(', ')} ${shape.tail}`);
        prepared[bit] = st;
      }
      st.run(...values.slice(at, at + n * shape.width));
      at += n * shape.width;
    }
  }

  /**
   * Prepares one step's rows (deletes run at once). prev holds the batch's previous
   * statuses and is updated as it goes (a key may come twice); written gets the status as
   * stored, or loses the key on a prune.
   */
  private writeStepBody(
    step: StepWrite,
    prev: Map<ResourceKey, ResourceStatus>,
    written: Map<ResourceKey, ResourceStatus>,
    rows: PendingRows,
    now: string,
  ): void {
    const { kind, name } = splitKey(step.key);
    if (step.pruned) {
      this.sql('DELETE FROM applied WHERE key = ?').run(step.key);
      this.sql('DELETE FROM status WHERE key = ?').run(step.key);
      prev.delete(step.key);
      written.delete(step.key);
      pushEvents(rows.events, step.events, now);
      return;
    }
    rows.keys.add(step.key);
    if (step.applied) {
      rows.applied.push(step.key, kind, name, step.applied.hash, step.revision, JSON.stringify(step.applied));
    }
    const before = prev.get(step.key);
    const conditions = mergeConditions(before?.conditions ?? NO_CONDITIONS, step.conditions, now);
    const observed = { ...(before?.observed ?? {}), ...(step.observed ?? {}) };
    // The row as the upsert leaves it (its COALESCEs keep the applied fields of a status-only write).
    const st: ResourceStatus = {
      key: step.key,
      kind,
      name,
      conditions,
      observed,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    const appliedRevision = step.applied ? step.revision : before?.lastAppliedRevision;
    const appliedHash = step.applied ? step.applied.hash : before?.appliedHash;
    if (appliedRevision) st.lastAppliedRevision = appliedRevision;
    if (appliedHash) st.appliedHash = appliedHash;
    prev.set(step.key, st);
    written.set(step.key, st);
    rows.status.push(
      step.key,
      kind,
      name,
      JSON.stringify(conditions),
      JSON.stringify(observed),
      step.applied ? step.revision : null,
      step.applied ? step.applied.hash : null,
      now,
      now,
    );
    pushEvents(rows.events, step.events, now);
  }

  /** An event outside a reconcile step; controllers reach it as ControllerDeps.events. */
  record(object: ResourceKey, type: EventType, reason: Reason, message: string, revision?: string): void {
    this.insertEvents([{ object, type, reason, message, revision }], new Date().toISOString());
  }

  /** An event of the loop itself, about no one resource. */
  recordLoopEvent(type: EventType, reason: Reason, message: string): void {
    this.insertEvents([{ type, reason, message }], new Date().toISOString());
  }

  private insertEvents(events: NewEvent[], now: string): void {
    const values: unknown[] = [];
    pushEvents(values, events, now);
    this.insertRows(EVENT_ROWS, values);
  }

  events(filter: { object?: string; limit?: number; type?: 'Normal' | 'Warning' } = {}): EventRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.object) {
      where.push('object = ?');
      args.push(filter.object);
    }
    if (filter.type) {
      where.push('type = ?');
      args.push(filter.type);
    }
    const rows = this.sql(
      `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...args, filter.limit ?? 50) as EventRecord[];
    return rows.reverse();
  }
}
