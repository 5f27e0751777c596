import { describe, it, expect, afterEach } from 'vitest';
import { Registry } from 'prom-client';
import { register } from '../../../controllers/curator/index.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { defaultCuratorSpec } from '../../../controllers/curator/defaults.js';
import { silentLogger } from '../../../reconciler/log.js';
import { lateBoundRunner } from '../../../app/compose.js';
import type { CuratorSpec } from '../../../reconciler/specs.js';
import type { Condition, ControllerDeps, ReconcileContext, Registration, Resource } from '../../../reconciler/types.js';
import { waitFor } from '../../helpers/wait.js';
import { makeFixture, usualRuns, type Fixture } from './fixtures.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(): { f: Fixture; reg: Registration; deps: ControllerDeps } {
  const f = makeFixture();
  usualRuns(f.runs);
  const deps: ControllerDeps = {
    store: f.store,
    events: new CoreStore(f.store),
    log: silentLogger,
    stateDir: f.stateDir,
    snapshot: () => ({ revision: '', resources: new Map() }),
    runner: lateBoundRunner().runner,
    metrics: new Registry(),
    gitSource: { repo: f.bare, path: 'config', branch: 'main' },
  };
  const reg = register(deps);
  cleanup.push(async () => {
    await reg.stop?.();
    f.store.close();
  });
  return { f, reg, deps };
}

function curator(spec: Partial<CuratorSpec>): Resource<'Curator'> {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind: 'Curator',
    metadata: { name: 'weekly' },
    spec: { ...defaultCuratorSpec(), ...spec },
    source: { file: 'curator.yaml', line: 1, column: 1 },
    hash: 'h',
  };
}

function context(): { ctx: ReconcileContext; conditions: Condition[]; observed: Record<string, unknown> } {
  const conditions: Condition[] = [];
  const observed: Record<string, unknown> = {};
  const ctx: ReconcileContext = {
    key: 'Curator/weekly',
    revision: 'r1',
    snapshot: { revision: 'r1', resources: new Map() },
    signal: new AbortController().signal,
    log: silentLogger,
    setCondition: (type, status, reason, message) =>
      conditions.push({ type, status, reason, message, lastTransitionTime: new Date().toISOString() }),
    setObserved: (fields) => Object.assign(observed, fields),
    event: () => {},
  };
  return { ctx, conditions, observed };
}

describe('curator controller', () => {
  it('registers the desired schedule, waits one full cycle before the first run, and reports it', async () => {
    const { f, reg } = setup();
    const controller = reg.controllers[0]!;
    expect(controller.kind).toBe('Curator');
    const { ctx, conditions, observed } = context();
    const t0 = Date.now();
    const result = await controller.reconcile(ctx, curator({ schedule: { every: '2s', timezone: 'UTC' } }), {
      status: undefined,
    });
    expect(conditions.at(-1)).toMatchObject({ type: 'Ready', status: 'True', reason: 'Scheduled' });
    expect(observed.schedule).toBe('every 2s');
    expect(Date.parse(observed.nextRunAt as string)).toBeGreaterThanOrEqual(t0 + 1900);
    expect(result).toMatchObject({ requeueAfter: expect.any(Number) });
    // Reconciling again with the same spec keeps the same registration (and the same anchor).
    const firstNext = observed.nextRunAt;
    await controller.reconcile(ctx, curator({ schedule: { every: '2s', timezone: 'UTC' } }), { status: undefined });
    expect(observed.nextRunAt).toBe(firstNext);

    const cstore = new CuratorStore(f.store);
    const report = await waitFor(() => cstore.lastReport('weekly'), 30_000);
    expect(report.trigger).toBe('schedule');
    expect(report.startedAt - cstore.scheduleAnchor('weekly').createdAt).toBeGreaterThanOrEqual(2000);
    expect(report.outcome, report.message).toBe('proposed');
    // The finished run is an event on the Curator, recorded through ControllerDeps.events.
    const ran = await waitFor(() =>
      new CoreStore(f.store).events({ object: 'Curator/weekly' }).find((e) => e.reason === 'CuratorRunSucceeded'),
    );
    expect(ran).toMatchObject({ type: 'Normal', message: expect.stringMatching(/2 proposal\(s\) on /) });

    const after = context();
    await controller.reconcile(after.ctx, curator({ schedule: { every: '7d', timezone: 'UTC' } }), {
      status: undefined,
    });
    expect(after.observed.schedule).toBe('every 7d');
    expect(after.observed.lastRun).toMatchObject({ outcome: 'proposed', proposals: 2 });
  });

  it('skips the first cron tick after creation and runs on the next', async () => {
    const { f, reg } = setup();
    const { ctx, observed } = context();
    await reg.controllers[0]!.reconcile(
      ctx,
      curator({ schedule: { every: '7d', cron: '*/2 * * * * *', timezone: 'UTC' } }),
      { status: undefined },
    );
    expect(observed.schedule).toBe('cron */2 * * * * * UTC');
    const cstore = new CuratorStore(f.store);
    const report = await waitFor(() => cstore.lastReport('weekly'), 30_000);
    const anchor = cstore.scheduleAnchor('weekly');
    expect(anchor.firstTickAt).not.toBeNull();
    expect(report.startedAt).toBeGreaterThan(anchor.firstTickAt as number);
  });

  it('says why it cannot run: unset token (retried); bad cron, no forge repo, no git (terminal)', async () => {
    const { reg, deps } = setup();
    const c = reg.controllers[0]!;
    let x = context();
    await c.reconcile(
      x.ctx,
      curator({ forge: { type: 'github', repo: 'acme/config', token: { valueFrom: { env: 'CURATOR_TEST_UNSET' } } } }),
      { status: undefined },
    );
    expect(x.conditions.at(-1)).toMatchObject({ status: 'False', reason: 'SecretUnset' });
    // What only a spec change (or another `up`) can fix is terminal: the loop stalls it, no requeue.
    x = context();
    const badCron = await c.reconcile(
      x.ctx,
      curator({ schedule: { every: '7d', cron: 'not a cron', timezone: 'UTC' } }),
      {
        status: undefined,
      },
    );
    expect(badCron).toEqual({
      terminal: { reason: 'InvalidSchedule', message: expect.stringContaining('not a cron') },
    });
    const noRepo = await c.reconcile(x.ctx, curator({ forge: { type: 'gitea', token: { valueFrom: { env: 'T' } } } }), {
      status: undefined,
    });
    expect(noRepo).toEqual({
      terminal: { reason: 'ForgeMisconfigured', message: expect.stringContaining('spec.forge.repo') },
    });
    await c.reconcile(x.ctx, undefined, { status: undefined });
    const noGit = register({ ...deps, gitSource: undefined });
    x = context();
    const noSource = await noGit.controllers[0]!.reconcile(x.ctx, curator({}), { status: undefined });
    expect(noSource).toEqual({ terminal: { reason: 'NoGitSource', message: expect.stringContaining('--repo') } });
    expect(x.conditions).toEqual([]);
    await noGit.stop?.();
  });
});
