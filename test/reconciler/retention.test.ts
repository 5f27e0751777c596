// The state database stays bounded: events, audit rows, webhook deliveries and finished
// runs are deleted beyond the Runtime's retention (age and row limits, with defaults in
// the schema), runs in progress never, and the freed pages go back to the file system;
// refused unauthenticated requests are aggregated per source, reason and minute.

import { describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { CoreStore } from '../../reconciler/state/core-store.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { applyRetention, DEFAULT_RETENTION, retentionLimits } from '../../reconciler/state/retention.js';
import { AuditStore } from '../../controllers/gateway/audit-store.js';
import { DeliveryLog } from '../../app/webhook-deliveries.js';
import { loadSnapshot } from '../helpers/config.js';
import { configDir, doc } from '../helpers/config.js';
import { makeRepo, git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { appStarter } from '../helpers/app.js';
import { post, slackSigned } from '../controllers/gateway/signers.js';
import { startGateway } from '../controllers/gateway/harness.js';
import type { SqliteDatabase } from '../../reconciler/state/sqlite-db.js';

const DAY = 86_400_000;
const count = (store: StateStore, table: string): number =>
  (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

function filled(now: number): { store: StateStore; dir: string } {
  const dir = tempDir();
  const store = new StateStore({ stateDir: dir });
  const core = new CoreStore(store);
  const runs = new RunStore(store);
  const audit = new AuditStore(store);
  const deliveries = new DeliveryLog(store);
  const pad = 'x'.repeat(400);
  store.tx(() => {
    for (let i = 0; i < 3000; i++) {
      const at = now - (i < 1000 ? 40 * DAY : DAY);
      store.db
        .prepare('INSERT INTO events (at, type, reason, object, message) VALUES (?, ?, ?, ?, ?)')
        .run(new Date(at).toISOString(), 'Normal', 'Applied', 'Skill/x', pad);
      audit.record({ at, level: 'info', platform: 'slack', decision: 'accepted', reason: pad });
      deliveries.firstTime(`github:${i}`, at);
      const id = runs.start({
        kind: 'skill',
        name: 's',
        trigger: 'cli',
        startedAt: now - (i < 1000 ? 100 * DAY : DAY),
      });
      if (i % 500 !== 0) runs.finish(id, { status: 'succeeded', durationMs: 1, report: pad });
    }
  });
  void core;
  return { store, dir };
}

describe('retention', () => {
  it('deletes rows older than maxAge and beyond maxRows, class by class, and never a run in progress', () => {
    const now = Date.now();
    const { store } = filled(now);
    const limits = retentionLimits({ events: { maxRows: 1500 }, audit: { maxAge: '30d', maxRows: 2500 } });
    const r = applyRetention(store, limits, now);
    // events: 1000 too old, then the newest 1500 of the remaining 2000.
    expect(count(store, 'events')).toBe(1500);
    // audit rows and deliveries: 1000 older than 30 days.
    expect(count(store, 'gateway_audit')).toBe(2000);
    expect(count(store, 'git_webhook_deliveries')).toBe(2000);
    // runs: the 1000 older than the default 90 days go, except the two still running among them.
    expect(count(store, 'runs')).toBe(2002);
    expect((store.db.prepare(`SELECT COUNT(*) AS n FROM runs WHERE status = 'running'`).get() as { n: number }).n).toBe(
      6,
    );
    expect(r.deleted).toEqual({ events: 1500, gateway_audit: 1000, git_webhook_deliveries: 1000, runs: 998 });
    expect(r.freedPages).toBeGreaterThan(0);
    expect((store.db as SqliteDatabase).raw.pragma('freelist_count', { simple: true })).toBe(0);
    store.close();
  });

  it('gives the space back to the file system', () => {
    const now = Date.now();
    const { store, dir } = filled(now);
    (store.db as SqliteDatabase).raw.pragma('wal_checkpoint(TRUNCATE)');
    const before = statSync(join(dir, 'state.db')).size;
    applyRetention(
      store,
      retentionLimits({ events: { maxRows: 100 }, audit: { maxRows: 100 }, runs: { maxRows: 100 } }),
      now,
    );
    (store.db as SqliteDatabase).raw.pragma('wal_checkpoint(TRUNCATE)');
    const after = statSync(join(dir, 'state.db')).size;
    expect(after).toBeLessThan(before / 4);
    store.close();
  });

  it('takes its limits from the Runtime, with the schema defaults for what it leaves out', async () => {
    const snap = await loadSnapshot(
      configDir({ 'runtime.yaml': doc('Runtime', 'rt', { retention: { events: { maxAge: '7d' } } }) }),
    );
    const spec = [...snap.resources.values()][0]?.spec as { retention: unknown };
    expect(spec.retention).toEqual({ ...DEFAULT_RETENTION, events: { maxAge: '7d', maxRows: 10_000 } });
  });

  const start = appStarter();

  it('runs when `up` starts, with the limits of the applied Runtime', async () => {
    const stateDir = tempDir();
    const now = Date.now();
    const pre = new StateStore({ stateDir });
    const core = new CoreStore(pre);
    void core;
    pre.tx(() => {
      for (let i = 0; i < 400; i++)
        pre.db
          .prepare('INSERT INTO events (at, type, reason, object, message) VALUES (?, ?, ?, ?, ?)')
          .run(new Date(now - 10 * DAY).toISOString(), 'Normal', 'Applied', 'Skill/x', 'old');
    });
    pre.close();
    const repo = makeRepo({ 'runtime.yaml': doc('Runtime', 'rt', { retention: { events: { maxAge: '5d' } } }) });
    const app = await start({ repo, stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect(app.core.events({ limit: 1000 }).filter((e) => e.message === 'old')).toEqual([]);
  });
});

describe('refused requests', () => {
  it('are counted one by one and stored as one row per source, reason and minute', { timeout: 120_000 }, async () => {
    const h = await startGateway();
    try {
      const before = h.audit().length;
      const forged = (): ReturnType<typeof slackSigned> => slackSigned('not-the-secret', 'command=%2Fcaduceus&text=x');
      const t0 = Date.now();
      for (let i = 0; i < 300; i++) expect((await post(h.url('slack'), forged())).status).toBe(401);
      // One row per minute the flood spanned (a minute boundary may fall inside it).
      const minutes = Math.floor(Date.now() / 60_000) - Math.floor(t0 / 60_000) + 1;
      const rows = h.audit().slice(0, h.audit().length - before);
      expect(rows.length).toBeLessThanOrEqual(minutes);
      expect(rows.reduce((n, r) => n + r.count, 0)).toBe(300);
      for (const r of rows) {
        expect(r).toMatchObject({ decision: 'rejected', platform: 'slack' });
        expect(r.reason).toMatch(/^HTTP 401: .* \(from 127\.0\.0\.1\)$/);
      }
      const metrics = await h.app.deps.metrics.metrics();
      expect(metrics).toContain('caduceus_gateway_requests_total{platform="slack",decision="rejected"} 300');
    } finally {
      await h.close();
    }
  });
});
