// The state store interface, one suite run against every engine: SQLite (a file in a temp
// dir) and PostgreSQL (a fresh database on the test server). Every store (core, runs,
// curator, gateway) goes through the same migrations, transactions and SQL on both.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { CORE_MIGRATIONS, CoreStore } from '../../reconciler/state/core-store.js';
import { ABANDONED, RunStore } from '../../reconciler/state/runs.js';
import type { SqliteDatabase } from '../../reconciler/state/sqlite-db.js';
import { CuratorStore } from '../../controllers/curator/store.js';
import { AuditStore } from '../../controllers/gateway/audit-store.js';
import { ReplayStore } from '../../controllers/gateway/replay.js';
import type { ProposalRecord } from '../../controllers/curator/types.js';
import { TraceStore } from '../../controllers/agent/trace-store.js';
import type { AgentResult } from '../../reconciler/agent-contract.js';
import { tempDir } from '../helpers/temp.js';
import { createDatabase, postgresAvailable, type TestDatabase } from '../helpers/postgres.js';
import { resolveSecret } from '../../reconciler/secrets.js';
import type { Resource } from '../../reconciler/types.js';

const res = (name: string, hash: string): Resource =>
  ({
    apiVersion: 'caduceus.dev/v1',
    kind: 'Skill',
    metadata: { name },
    spec: {},
    source: { file: 'a.yaml', line: 1, column: 1 },
    hash,
  }) as unknown as Resource;

interface Engine {
  name: 'sqlite' | 'postgres';
  /** A store on fresh state; `same` reopens the state of the previous call. */
  open(same?: boolean): StateStore;
}

const pgUp = await postgresAvailable();
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs.splice(0)) await d.drop();
});
afterEach(() => {
  vi.useRealTimers();
});

function sqliteEngine(): Engine {
  let dir = '';
  return {
    name: 'sqlite',
    open(same = false) {
      if (!same || !dir) dir = join(tempDir('caduceus-store-'), 'state');
      return new StateStore({ stateDir: dir });
    },
  };
}

function postgresEngine(): Engine & { prepare(): Promise<void> } {
  let current: string | undefined;
  const pool: string[] = [];
  return {
    name: 'postgres',
    // Schemas are made ahead (creating one is async; opening a store is not).
    async prepare() {
      const db = await createDatabase();
      dbs.push(db);
      pool.push(...(await db.schemas(16)));
    },
    open(same = false) {
      if (!same || !current) current = pool.shift();
      if (!current) throw new Error('out of prepared test schemas');
      return new StateStore({ stateDir: tempDir('caduceus-store-'), url: current });
    },
  };
}

const engines: Array<Engine & { prepare?: () => Promise<void> }> = [sqliteEngine(), postgresEngine()];

describe.each(engines)('state store on $name', (engine) => {
  // Outside CI a machine without the test server skips PostgreSQL; under CI=true it fails.
  const skip = engine.name === 'postgres' && !pgUp && process.env.CI !== 'true';
  beforeAll(async () => {
    if (!skip) await engine.prepare?.();
  });

  it.skipIf(skip)('runs namespaced migrations once and survives reopening', () => {
    const s1 = engine.open();
    expect(s1.dialect).toBe(engine.name);
    s1.migrate('demo', ['CREATE TABLE demo (x INTEGER)', 'ALTER TABLE demo ADD COLUMN y TEXT']);
    s1.db.prepare('INSERT INTO demo (x, y) VALUES (?, ?)').run(1_700_000_000_000, 'one');
    s1.close();
    const s2 = engine.open(true);
    s2.migrate('demo', ['CREATE TABLE demo (x INTEGER)', 'ALTER TABLE demo ADD COLUMN y TEXT']);
    // Epoch milliseconds come back as numbers on both (64-bit integers).
    expect(s2.db.prepare('SELECT x, y FROM demo').all()).toEqual([{ x: 1_700_000_000_000, y: 'one' }]);
    const versions = s2.db
      .prepare(`SELECT version FROM schema_migrations WHERE namespace = 'demo' ORDER BY version`)
      .all() as Array<{ version: number }>;
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    s2.close();
  });

  it.skipIf(skip)('binds named parameters and reports the rows a write changed', () => {
    const s = engine.open();
    s.migrate('demo', ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER NOT NULL DEFAULT 0)']);
    const up = s.db.prepare(
      `INSERT INTO kv (k, v) VALUES (@k, @v) ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = kv.n + 1`,
    );
    expect(up.run({ k: 'a', v: "it's" }).changes).toBe(1);
    expect(up.run({ k: 'a', v: '? @not-a-param' }).changes).toBe(1);
    expect(s.db.prepare('SELECT v, n FROM kv WHERE k = ?').get('a')).toEqual({ v: '? @not-a-param', n: 1 });
    expect(s.db.prepare(`DELETE FROM kv WHERE k IN ('a', 'b')`).run().changes).toBe(1);
    expect(s.db.prepare('SELECT * FROM kv WHERE k = ?').get('a')).toBeUndefined();
    s.close();
  });

  it.skipIf(skip)('rolls a failed transaction back whole, nested ones to their savepoint', () => {
    const s = engine.open();
    s.migrate('demo', ['CREATE TABLE t (x INTEGER NOT NULL)']);
    const ins = s.db.prepare('INSERT INTO t (x) VALUES (?)');
    expect(() =>
      s.tx(() => {
        ins.run(1);
        ins.run(null);
      }),
    ).toThrow(/null/i);
    s.tx(() => {
      ins.run(2);
      expect(() =>
        s.tx(() => {
          ins.run(3);
          throw new Error('inner fails');
        }),
      ).toThrow('inner fails');
    });
    expect(s.db.prepare('SELECT x FROM t ORDER BY x').all()).toEqual([{ x: 2 }]);
    s.close();
  });

  it.skipIf(skip)('writes a reconcile step as one transaction: a failing write leaves the old state whole', () => {
    const core = new CoreStore(engine.open());
    core.writeStep({
      key: 'Skill/a',
      revision: 'r1',
      applied: res('a', 'h1'),
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'ok' }],
      events: [],
    });
    expect(() =>
      core.writeStep({
        key: 'Skill/a',
        revision: 'r2',
        applied: res('a', 'h2'),
        conditions: [{ type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'bad' }],
        // An event type outside the CHECK constraint makes the last statement fail.
        events: [{ type: 'Bogus' as 'Normal', reason: 'Created', message: 'x' }],
      }),
    ).toThrow(/check constraint/i);
    expect(core.appliedHashes().get('Skill/a')).toBe('h1');
    expect(core.status('Skill/a')?.conditions[0]?.reason).toBe('ReconciliationSucceeded');
    // A new store object reads what is in the database, not a cache.
    expect(new CoreStore(core.store).appliedResource('Skill/a')?.hash).toBe('h1');
    core.store.close();
  });

  it.skipIf(skip)('writes the steps queued in one turn together; a failing step fails alone', async () => {
    const core = new CoreStore(engine.open());
    const step = (name: string, hash: string, type: 'Normal' | 'Bogus' = 'Normal') => ({
      key: `Skill/${name}`,
      revision: 'r1',
      applied: res(name, hash),
      conditions: [
        { type: 'Ready' as const, status: 'True' as const, reason: 'ReconciliationSucceeded' as const, message: 'ok' },
      ],
      // An event type outside the CHECK constraint makes the step's last statement fail.
      events: [{ type: type as 'Normal', reason: 'Created' as const, message: name }],
    });
    core.writeStep(step('b', 'h0'));
    const results = await Promise.allSettled([
      core.writeStepSoon(step('a', 'h1')),
      core.writeStepSoon(step('b', 'h2', 'Bogus')),
      core.writeStepSoon(step('c', 'h3')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(Object.fromEntries(core.appliedHashes())).toEqual({ 'Skill/a': 'h1', 'Skill/b': 'h0', 'Skill/c': 'h3' });
    expect(core.events().map((e) => e.message)).toEqual(['b', 'a', 'c']);
    core.store.close();
  });

  it.skipIf(skip)('merges a batch into the statuses before it, across many keys and a key written twice', async () => {
    const core = new CoreStore(engine.open());
    const cond = (type: 'Ready' | 'Reconciling', status: 'True' | 'False') => ({
      type,
      status,
      reason: 'ReconciliationSucceeded' as const,
      message: `${type} ${status}`,
    });
    // 450 keys, half with a status before the batch.
    const names = Array.from({ length: 450 }, (_, i) => `s${i}`);
    for (const n of names.filter((_, i) => i % 2 === 0)) {
      core.writeStep({
        key: `Skill/${n}`,
        revision: 'r1',
        conditions: [cond('Reconciling', 'False')],
        observed: { first: n },
        events: [],
      });
    }
    const tx = vi.spyOn(core.store, 'tx');
    await Promise.all([
      ...names.map((n) =>
        core.writeStepSoon({
          key: `Skill/${n}`,
          revision: 'r2',
          applied: res(n, `h-${n}`),
          conditions: [cond('Ready', 'True')],
          observed: { second: n },
          events: [{ type: 'Normal', reason: 'Created', message: n }],
        }),
      ),
      // The same key again in the same batch: it builds on the write just before it.
      core.writeStepSoon({
        key: 'Skill/s7',
        revision: 'r2',
        conditions: [cond('Reconciling', 'True')],
        observed: { third: 'x' },
        events: [{ type: 'Normal', reason: 'Created', message: 's7 again' }],
      }),
      // Pruned and applied again in the same batch: the row that stays is the last one.
      core.writeStepSoon({ key: 'Skill/s8', revision: 'r2', pruned: true, conditions: [], events: [] }),
      core.writeStepSoon({
        key: 'Skill/s8',
        revision: 'r2',
        applied: res('s8', 'h-s8-again'),
        conditions: [cond('Ready', 'True')],
        observed: { fourth: 'y' },
        events: [],
      }),
    ]);
    // One transaction: the batch was not written again step by step after an error (a
    // key twice in one multi-row upsert is one on PostgreSQL).
    expect(tx).toHaveBeenCalledTimes(1);
    // Events in the order of their steps, across the statements that carry many rows.
    expect(core.events({ limit: 1000 }).map((e) => e.message)).toEqual([...names, 's7 again']);
    expect(core.appliedHashes().get('Skill/s8')).toBe('h-s8-again');
    expect(new CoreStore(core.store).status('Skill/s8')?.observed).toEqual({ fourth: 'y' });
    const byKey = new Map(core.allStatus().map((st) => [st.key, st]));
    expect(byKey.size).toBe(450);
    for (const [i, n] of names.entries()) {
      const st = byKey.get(`Skill/${n}`);
      const types = st?.conditions.map((c) => `${c.type}=${c.status}`);
      if (n === 's7') {
        expect(st?.observed).toEqual({ second: 's7', third: 'x' });
        expect(types).toEqual(['Ready=True', 'Reconciling=True']);
      } else if (n === 's8') {
        expect(st?.observed).toEqual({ fourth: 'y' });
        expect(types).toEqual(['Ready=True']);
      } else if (i % 2 === 0) {
        expect(st?.observed).toEqual({ first: n, second: n });
        expect(types).toEqual(['Ready=True', 'Reconciling=False']);
      } else {
        expect(st?.observed).toEqual({ second: n });
        expect(types).toEqual(['Ready=True']);
      }
    }
    core.store.close();
  });

  it.skipIf(skip)('writes a key twice in one batch in order: applied then pruned, pruned then applied', async () => {
    const core = new CoreStore(engine.open());
    const ready = [{ type: 'Ready' as const, status: 'True' as const, reason: 'Stored' as const, message: 'ok' }];
    core.writeStep({ key: 'Skill/c', revision: 'r1', applied: res('c', 'c1'), conditions: ready, events: [] });
    const tx = vi.spyOn(core.store, 'tx');
    await Promise.all([
      core.writeStepSoon({ key: 'Skill/a', revision: 'r2', applied: res('a', 'a1'), conditions: ready, events: [] }),
      core.writeStepSoon({ key: 'Skill/b', revision: 'r2', applied: res('b', 'b1'), conditions: ready, events: [] }),
      core.writeStepSoon({ key: 'Skill/a', revision: 'r2', applied: res('a', 'a2'), conditions: ready, events: [] }),
      core.writeStepSoon({ key: 'Skill/b', revision: 'r2', pruned: true, conditions: [], events: [] }),
      core.writeStepSoon({ key: 'Skill/c', revision: 'r2', pruned: true, conditions: [], events: [] }),
      core.writeStepSoon({ key: 'Skill/c', revision: 'r2', applied: res('c', 'c2'), conditions: ready, events: [] }),
    ]);
    expect(tx).toHaveBeenCalledTimes(1);
    const fresh = new CoreStore(core.store);
    expect(Object.fromEntries(fresh.appliedHashes())).toEqual({ 'Skill/a': 'a2', 'Skill/c': 'c2' });
    expect(fresh.allStatus().map((st) => `${st.key}@${st.appliedHash}`)).toEqual(['Skill/a@a2', 'Skill/c@c2']);
    core.store.close();
  });

  it.skipIf(skip)(
    "keeps the loop's statuses in memory exactly as the database has them, through every kind of write",
    async () => {
      const core = new CoreStore(engine.open());
      const ready = (status: 'True' | 'False') => [
        { type: 'Ready' as const, status, reason: 'ReconciliationSucceeded' as const, message: `ready ${status}` },
      ];
      const keys = ['Skill/a', 'Skill/b', 'Skill/c', 'Skill/d'];
      const same = (): void => {
        for (const k of keys) expect(core.lastStatus(k), k).toEqual(core.status(k));
      };
      core.writeStep({
        key: 'Skill/a',
        revision: 'r1',
        applied: res('a', 'h1'),
        conditions: ready('True'),
        events: [],
      });
      core.writeStep({ key: 'Skill/b', revision: 'r1', conditions: ready('False'), observed: { x: 1 }, events: [] });
      same(); // loads them
      await Promise.all([
        // A status-only write keeps the applied revision and hash of the row.
        core.writeStepSoon({
          key: 'Skill/a',
          revision: 'r2',
          conditions: ready('False'),
          observed: { y: 2 },
          events: [],
        }),
        core.writeStepSoon({
          key: 'Skill/b',
          revision: 'r2',
          applied: res('b', 'h2'),
          conditions: ready('True'),
          events: [],
        }),
        core.writeStepSoon({
          key: 'Skill/c',
          revision: 'r2',
          applied: res('c', 'h3'),
          conditions: ready('True'),
          events: [],
        }),
      ]);
      expect(core.lastStatus('Skill/a')).toMatchObject({
        lastAppliedRevision: 'r1',
        appliedHash: 'h1',
        observed: { y: 2 },
      });
      same();
      // A batch that fails is written again step by step: the failing step leaves no trace.
      const results = await Promise.allSettled([
        core.writeStepSoon({
          key: 'Skill/d',
          revision: 'r3',
          applied: res('d', 'h4'),
          conditions: ready('True'),
          events: [],
        }),
        core.writeStepSoon({
          key: 'Skill/c',
          revision: 'r3',
          applied: res('c', 'h5'),
          conditions: ready('False'),
          events: [{ type: 'Bogus' as 'Normal', reason: 'Created', message: 'x' }],
        }),
        core.writeStepSoon({ key: 'Skill/a', revision: 'r3', pruned: true, conditions: [], events: [] }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(core.lastStatus('Skill/a')).toBeUndefined();
      expect(core.lastStatus('Skill/c')?.appliedHash).toBe('h3');
      same();
      core.store.close();
    },
  );

  it.skipIf(skip)('redacts resolved secrets and URL credentials from condition and event messages', () => {
    const core = new CoreStore(engine.open());
    const token = resolveSecret({ valueFrom: { env: 'T' } }, { env: { T: 'tok-4f9a2c-secret' } });
    const message = `call failed with ${token} at https://bot:pw@example.invalid/x`;
    core.writeStep({
      key: 'Skill/a',
      revision: 'r1',
      applied: res('a', 'h1'),
      conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message }],
      events: [{ type: 'Warning', reason: 'Failed', object: 'Skill/a', message }],
    });
    core.record('Skill/a', 'Warning', 'RunRejected', message);
    const stored = [core.status('Skill/a')?.conditions[0]?.message, ...core.events().map((e) => e.message)];
    expect(stored).toHaveLength(3);
    for (const m of stored) expect(m).toBe('call failed with [REDACTED] at https://***@example.invalid/x');
    expect(core.events({ object: 'Skill/a', type: 'Warning', limit: 1 }).map((e) => e.reason)).toEqual(['RunRejected']);
    core.store.close();
  });

  it.skipIf(skip)('keeps lastTransitionTime when a condition status does not change', async () => {
    const core = new CoreStore(engine.open());
    const step = (revision: string, status: 'True' | 'False', applied?: Resource): void =>
      core.writeStep({
        key: 'Skill/a',
        revision,
        ...(applied ? { applied } : {}),
        conditions: [{ type: 'Ready', status, reason: 'ReconciliationSucceeded', message: revision }],
        events: [],
      });
    step('r1', 'True', res('a', 'h1'));
    const t1 = core.status('Skill/a')?.conditions[0]?.lastTransitionTime;
    // The clock moves on between updates, so an unchanged time is kept, not re-read.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60_000 });
    step('r2', 'True', res('a', 'h2'));
    expect(core.status('Skill/a')?.conditions[0]?.lastTransitionTime).toBe(t1);
    step('r3', 'False');
    expect(core.status('Skill/a')?.conditions[0]?.lastTransitionTime).not.toBe(t1);
    expect(core.status('Skill/a')?.lastAppliedRevision).toBe('r2');
    core.store.close();
  });

  it.skipIf(skip)('keeps the history of the last 10 revisions and the source health row', () => {
    const core = new CoreStore(engine.open());
    for (let i = 0; i < 15; i++) core.recordAttempt(`rev${i}`, i % 2 ? 'rejected' : 'accepted', {}, []);
    const revs = new Set(core.history().map((h) => h.revision));
    expect(revs.size).toBe(10);
    expect(revs.has('rev14')).toBe(true);
    expect(revs.has('rev4')).toBe(false);
    expect(core.sourceState().lastAttemptedRevision).toBe('rev14');
    core.recordSourceHealth({ mode: 'remote', repo: 'https://u:p@h.invalid/r.git', fetchErrors: 2 });
    expect(core.sourceHealth()).toMatchObject({ mode: 'remote', repo: 'https://***@h.invalid/r.git', fetchErrors: 2 });
    core.store.close();
  });

  it.skipIf(skip)(
    'lists runs newest first in insertion order within one millisecond, and abandons running ones',
    () => {
      const store = engine.open();
      const runs = new RunStore(store);
      const at = Date.now();
      const ids = ['a', 'b', 'c'].map((name) => runs.start({ kind: 'skill', name, trigger: 'cli', startedAt: at }));
      runs.finish(ids[0] as string, { status: 'succeeded', durationMs: 5, report: { steps: [] } });
      runs.finish(ids[1] as string, { status: 'failed', durationMs: 7, error: 'exit code 1' });
      expect(runs.list().map((r) => r.name)).toEqual(['c', 'b', 'a']);
      expect(runs.get(ids[0] as string)).toMatchObject({ status: 'succeeded', durationMs: 5, report: { steps: [] } });
      expect(runs.skillUsage(at - 1).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
        { name: 'a', version: null, runs: 1, failures: 0, lastUsed: at },
        { name: 'b', version: null, runs: 1, failures: 1, lastUsed: at },
        { name: 'c', version: null, runs: 1, failures: 0, lastUsed: at },
      ]);
      // Only the dead process's runs: another owner's are left running.
      expect(runs.abandonRunning('another-process')).toBe(0);
      expect(runs.abandonRunning(store.owner)).toBe(1);
      expect(runs.get(ids[2] as string)).toMatchObject({ status: 'abandoned', error: ABANDONED });
      store.close();
    },
  );

  it.skipIf(skip)('keeps curator proposals, its schedule anchor and its run lock', () => {
    const store = engine.open();
    const cur = new CuratorStore(store);
    const p: ProposalRecord = {
      id: 'abc123',
      curator: 'c',
      action: 'prune',
      skills: ['old'],
      skillHashes: { old: 'h' },
      state: 'open',
      branch: 'caduceus/prune-old',
      commit: null,
      prNumber: null,
      prUrl: null,
      title: 'Prune old',
      evidence: { lastUsed: null },
      files: ['skills/old.yaml'],
      diff: '-x',
      position: 0,
      createdAt: 1,
      updatedAt: 1,
    };
    cur.upsertProposal(p);
    cur.upsertProposal({ ...p, prNumber: 7, updatedAt: 2 });
    expect(cur.proposal('abc')).toMatchObject({ id: 'abc123', prNumber: 7, skills: ['old'] });
    cur.setProposalState(['abc123'], 'merged', 3);
    expect(cur.proposals({ state: 'merged' }).map((x) => x.id)).toEqual(['abc123']);
    expect(cur.scheduleAnchor('c', 100).createdAt).toBe(100);
    expect(cur.scheduleAnchor('c', 200).createdAt).toBe(100);
    expect(cur.tryLock('one', 1000, 0)).toBe(true);
    expect(cur.tryLock('two', 1000, 500)).toBe(false);
    expect(cur.tryLock('two', 1000, 1500)).toBe(true);
    expect(cur.lockHolder(1600)).toBe('two');
    store.close();
  });

  it.skipIf(skip)('keeps the gateway audit log and refuses a replayed key', () => {
    const store = engine.open();
    const audit = new AuditStore(store);
    audit.record({ level: 'warn', platform: 'slack', user: 'U1', decision: 'refused', reason: 'no role', at: 10 });
    audit.record({ level: 'info', platform: 'slack', user: 'U2', decision: 'accepted', reason: 'ok', at: 11 });
    expect(audit.list({ minLevel: 'warn' })).toEqual([
      expect.objectContaining({ user: 'U1', decision: 'refused', requestId: null, runId: null }),
    ]);
    expect(audit.counts()).toEqual([
      { platform: 'slack', decision: 'accepted', count: 1 },
      { platform: 'slack', decision: 'refused', count: 1 },
    ]);
    const replay = new ReplayStore(store, 0);
    expect(replay.checkAndRemember('k', 100, 0)).toBe(false);
    expect(replay.checkAndRemember('k', 100, 50)).toBe(true);
    expect(replay.checkAndRemember('k', 100, 100)).toBe(false);
    store.close();
  });
});

describe.each(engines)('agent traces on $name', (engine) => {
  const skip = engine.name === 'postgres' && !pgUp && process.env.CI !== 'true';
  it.skipIf(skip)('replaces a run’s trace whole when it is saved again', async () => {
    await engine.prepare?.();
    const store = engine.open();
    const traces = new TraceStore(store);
    const result = (answer: string, calls: number): AgentResult => ({
      runId: 'run-1',
      status: 'succeeded',
      stopReason: 'answer',
      answer,
      model: 'm',
      durationMs: 5,
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      turns: [{ turn: 1, latencyMs: 4, finishReason: 'stop', toolCalls: calls }],
      toolCalls: Array.from({ length: calls }, (_, i) => ({
        seq: i + 1,
        turn: 1,
        id: `c${i}`,
        tool: 'shell',
        arguments: '{}',
        status: 'succeeded' as const,
        durationMs: 1,
        result: 'ok',
      })),
      notes: [],
      messages: [{ role: 'user', content: 'hi' }],
    });
    traces.save(result('first', 2));
    traces.save(result('second', 1));
    const t = traces.get('run-1');
    expect(t?.answer).toBe('second');
    expect(t?.toolCalls.map((c) => c.id)).toEqual(['c0']);
    expect(t?.usage).toEqual({ promptTokens: 3, completionTokens: 2, totalTokens: 5 });
    store.close();
  });
});

describe('state store on sqlite only', () => {
  it('opens its file in WAL mode', () => {
    const dir = tempDir('caduceus-store-');
    const s = new StateStore({ stateDir: dir });
    expect((s.db as SqliteDatabase).raw.pragma('journal_mode', { simple: true })).toBe('wal');
    s.close();
  });
});

describe.runIf(pgUp || process.env.CI === 'true')('state store on postgres only', () => {
  it('applies each migration once when a second process opens a migrated database', async () => {
    const db = await createDatabase();
    dbs.push(db);
    const [url] = (await db.schemas(1)) as [string];
    const a = new StateStore({ stateDir: tempDir('caduceus-store-'), url });
    const b = new StateStore({ stateDir: tempDir('caduceus-store-'), url });
    new CoreStore(a);
    new CoreStore(b);
    const rows = a.db.prepare(`SELECT COUNT(*) AS n FROM schema_migrations WHERE namespace = 'core'`).get();
    expect(rows).toEqual({ n: CORE_MIGRATIONS.length });
    a.close();
    b.close();
  });

  it('names the server and what to check when it does not answer, without the password', () => {
    expect(
      () => new StateStore({ stateDir: tempDir('caduceus-store-'), url: 'postgres://u:secret@127.0.0.1:1/x' }),
    ).toThrow(/PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
  });
});
