// The Task controller under `caduceus up`'s own wiring: a real git repository, the real
// loader and loop, the execution and subagent registrations, real processes, cron
// schedules firing every second, and the real SQLite run history and event log.

import { describe, expect, it } from 'vitest';
import cron from 'node-cron';
import type { App } from '../../../app/app.js';
import { RunStore, type RunRecord } from '../../../reconciler/state/runs.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as subagents } from '../../../controllers/tasks/index.js';
import { commitAll, git, makeRepo, removeFiles, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { appStarter } from '../../helpers/app.js';
import { doc, eventually, maxOverlap, taskYaml } from './helpers.js';

const start = appStarter({ registrations: [execution, subagents] });

async function up(repo: string, stateDir = tempDir()): Promise<App> {
  const app = await start({ repo, stateDir });
  await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'), 15_000);
  return app;
}

const taskRuns = (app: App, name: string): RunRecord[] =>
  new RunStore(app.store).list({ kind: 'task', name, limit: 1000 });
const ready = (app: App, name: string) => app.core.status(`Task/${name}`)?.conditions.find((c) => c.type === 'Ready');
/**
 * Reconciles every resource again and waits until the loop is idle. A task without a
 * schedule starts its run synchronously inside reconcile, so once this resolves the
 * controller has decided, and a run it started is already in the history.
 */
const reconcileAll = async (app: App): Promise<void> => {
  app.reconciler.resync();
  await app.reconciler.idle();
};
/** The node-cron jobs alive in this process for task `name`: what can still fire (node-cron keeps undestroyed jobs). */
const liveJobs = (name: string) => [...cron.getTasks().values()].filter((t) => t.name === `task:${name}`);
const span = (r: RunRecord): [number, number] => [
  r.startedAt,
  r.startedAt + (r.durationMs ?? Date.now() - r.startedAt),
];
const everySecond = (policy: string) => ({ cron: '*/1 * * * * *', timezone: 'UTC', concurrencyPolicy: policy });

describe('Task controller: tasks without a schedule', () => {
  it('runs a task once per spec change, in the background, and reports the outcome', async () => {
    const repo = makeRepo({
      'tasks/job.yaml': taskYaml('job', { subtasks: [{ name: 'hello', run: 'echo "v1 from $CADUCEUS_TASK"' }] }),
      'skills/s.yaml': doc('Skill', 'other', { version: '1.0.0', description: 'x', steps: [{ run: 'true' }] }),
    });
    const stateDir = tempDir();
    let app = await up(repo, stateDir);
    await eventually(() => expect(ready(app, 'job')?.reason).toBe('Completed'));
    const first = taskRuns(app, 'job');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      trigger: 'apply',
      status: 'succeeded',
      specHash: app.reconciler.snapshot().resources.get('Task/job')?.hash,
    });
    expect(ready(app, 'job')).toMatchObject({ status: 'True', message: expect.stringContaining('succeeded') });
    expect(app.core.status('Task/job')?.observed).toMatchObject({
      lastRun: { id: first[0]?.id, status: 'succeeded' },
      nextRun: null,
    });

    // An unrelated change does not run it again.
    writeFiles(repo, {
      'skills/s.yaml': doc('Skill', 'other', { version: '1.0.1', description: 'x', steps: [{ run: 'true' }] }),
    });
    await app.waitForRevision(commitAll(repo, 'skill'), 15_000);
    await reconcileAll(app);
    expect(taskRuns(app, 'job')).toHaveLength(1);

    // A changed spec runs once more.
    writeFiles(repo, {
      'tasks/job.yaml': taskYaml('job', { subtasks: [{ name: 'hello', run: 'echo "v2 from $CADUCEUS_TASK"' }] }),
    });
    await app.waitForRevision(commitAll(repo, 'v2'), 15_000);
    await eventually(() => expect(taskRuns(app, 'job')).toHaveLength(2));
    await eventually(() => expect(taskRuns(app, 'job')[0]?.status).toBe('succeeded'));
    const report = taskRuns(app, 'job')[0]?.report as { subtasks: Array<{ output: string }> };
    expect(report.subtasks[0]?.output).toContain('v2 from job');
    expect(app.core.events({ object: 'Task/job', limit: 50 }).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['TaskStarted', 'TaskSucceeded']),
    );

    // A restart on the same state does not run the same spec again.
    await app.stop();
    app = await up(repo, stateDir);
    await eventually(() => expect(ready(app, 'job')?.reason).toBe('Completed'));
    await reconcileAll(app);
    expect(taskRuns(app, 'job')).toHaveLength(2);
  });

  it('cancels its runs when caduceus stops and runs an interrupted spec again on the next start', async () => {
    const repo = makeRepo({ 'tasks/long.yaml': taskYaml('long', { subtasks: [{ name: 'wait', run: 'sleep 2' }] }) });
    const stateDir = tempDir();
    let app = await up(repo, stateDir);
    await eventually(() => expect(ready(app, 'long')?.reason).toBe('Running'));
    await app.stop();
    app = await up(repo, stateDir);
    await eventually(() => expect(ready(app, 'long')?.reason).toBe('Completed'), 15_000);
    const [rerun, interrupted] = taskRuns(app, 'long');
    expect(interrupted).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/^interrupted/) });
    expect(rerun).toMatchObject({ status: 'succeeded', trigger: 'apply', specHash: interrupted?.specHash });
  });

  it('reports a failed run as Failed with its error and a warning event', async () => {
    const repo = makeRepo({
      'tasks/bad.yaml': taskYaml('bad', {
        retry: { maxAttempts: 1 },
        subtasks: [{ name: 'boom', run: 'echo kaput; exit 4' }],
      }),
    });
    const app = await up(repo);
    await eventually(() => expect(ready(app, 'bad')?.reason).toBe('Failed'));
    expect(ready(app, 'bad')?.message).toMatch(/failed.*boom \(failed\)/);
    expect(app.core.events({ object: 'Task/bad', type: 'Warning', limit: 10 }).map((e) => e.reason)).toContain(
      'TaskFailed',
    );
  });
});

describe('Task controller: cron schedules', () => {
  it('Forbid skips a firing while a run is in progress and records the skip', async () => {
    const repo = makeRepo({
      'tasks/f.yaml': taskYaml('f', {
        schedule: everySecond('Forbid'),
        subtasks: [{ name: 'slow', run: 'sleep 2.5' }],
      }),
    });
    const app = await up(repo);
    const observed = app.core.status('Task/f')?.observed as { nextRun: string; schedule: { cron: string } };
    expect(Date.parse(observed.nextRun)).toBeGreaterThan(Date.now() - 1000);
    expect(observed.schedule.cron).toBe('*/1 * * * * *');
    await eventually(
      () => expect(taskRuns(app, 'f').filter((r) => r.status === 'skipped').length).toBeGreaterThanOrEqual(2),
      8000,
    );
    const runs = taskRuns(app, 'f');
    const real = runs.filter((r) => r.status !== 'skipped');
    expect(real.length).toBeGreaterThanOrEqual(1);
    expect(maxOverlap(real.map(span))).toBe(1);
    expect(runs.every((r) => r.trigger === 'schedule')).toBe(true);
    expect(runs.find((r) => r.status === 'skipped')?.error).toMatch(/concurrencyPolicy Forbid/);
    expect(app.core.events({ object: 'Task/f', limit: 100 }).map((e) => e.reason)).toContain('RunSkipped');
  });

  it('Allow lets runs overlap', async () => {
    const repo = makeRepo({
      'tasks/a.yaml': taskYaml('a', { schedule: everySecond('Allow'), subtasks: [{ name: 'slow', run: 'sleep 2.5' }] }),
    });
    const app = await up(repo);
    await eventually(() => expect(maxOverlap(taskRuns(app, 'a').map(span))).toBeGreaterThanOrEqual(2), 8000);
    expect(taskRuns(app, 'a').some((r) => r.status === 'skipped' || r.status === 'cancelled')).toBe(false);
  });

  it('Replace cancels the running run and starts a new one', async () => {
    const repo = makeRepo({
      'tasks/r.yaml': taskYaml('r', {
        schedule: everySecond('Replace'),
        subtasks: [{ name: 'slow', run: 'sleep 2.5' }],
      }),
    });
    const app = await up(repo);
    await eventually(
      () => expect(taskRuns(app, 'r').filter((r) => r.status === 'cancelled').length).toBeGreaterThanOrEqual(2),
      8000,
    );
    const cancelled = taskRuns(app, 'r').filter((r) => r.status === 'cancelled');
    expect(cancelled[0]?.error).toMatch(/replaced by a newer scheduled run/);
    expect(taskRuns(app, 'r').some((r) => r.status === 'succeeded')).toBe(false);
    expect(app.core.events({ object: 'Task/r', limit: 100 }).map((e) => e.reason)).toContain('RunReplaced');
  });

  it('reschedules when the schedule changes in git and stops when it is removed or the task is pruned', async () => {
    const repo = makeRepo({
      'tasks/t.yaml': taskYaml('t', { schedule: everySecond('Allow'), subtasks: [{ name: 'tick', run: 'echo tick' }] }),
    });
    const app = await up(repo);
    await eventually(() => expect(taskRuns(app, 't').length).toBeGreaterThanOrEqual(2), 8000);

    // A yearly schedule: no more firings now, and status shows the new next run.
    writeFiles(repo, {
      'tasks/t.yaml': taskYaml('t', {
        schedule: { cron: '0 0 1 1 *', timezone: 'Europe/Paris', concurrencyPolicy: 'Allow' },
        subtasks: [{ name: 'tick', run: 'echo tick' }],
      }),
    });
    await app.waitForRevision(commitAll(repo, 'yearly'), 15_000);
    const next = new Date(
      (app.core.status('Task/t')?.observed as { nextRun: string } | undefined)?.nextRun ?? Number.NaN,
    );
    expect(next.getUTCMonth() === 11 || next.getUTCMonth() === 0).toBe(true);
    // The every-second job was destroyed, not left beside the yearly one: nothing fires now.
    expect(liveJobs('t').map((j) => j.getNextRun()?.getTime())).toEqual([next.getTime()]);
    const afterChange = taskRuns(app, 't').length;

    // Back to every second, then the schedule removed: the task runs once as a job and stops.
    writeFiles(repo, {
      'tasks/t.yaml': taskYaml('t', { schedule: everySecond('Allow'), subtasks: [{ name: 'tick', run: 'echo tick' }] }),
    });
    await app.waitForRevision(commitAll(repo, 'again'), 15_000);
    await eventually(() => expect(taskRuns(app, 't').length).toBeGreaterThan(afterChange + 1), 8000);
    writeFiles(repo, { 'tasks/t.yaml': taskYaml('t', { subtasks: [{ name: 'tick', run: 'echo once' }] }) });
    await app.waitForRevision(commitAll(repo, 'unscheduled'), 15_000);
    await eventually(() => expect(taskRuns(app, 't')[0]?.trigger).toBe('apply'));
    expect(liveJobs('t')).toEqual([]);
    expect(app.core.status('Task/t')?.observed).toMatchObject({ schedule: null, nextRun: null });
    expect(app.core.events({ object: 'Task/t', limit: 100 }).map((e) => e.reason)).toContain('ScheduleRemoved');
    await reconcileAll(app);
    expect(taskRuns(app, 't').filter((r) => r.trigger === 'apply')).toHaveLength(1);
  });

  it('pruning a scheduled task stops its schedule and cancels its runs', async () => {
    const repo = makeRepo({
      'tasks/p.yaml': taskYaml('p', { schedule: everySecond('Allow'), subtasks: [{ name: 'long', run: 'sleep 30' }] }),
      'tasks/keep.yaml': taskYaml('keep', { subtasks: [{ name: 'k', run: 'true' }] }),
    });
    const app = await up(repo);
    await eventually(
      () => expect(taskRuns(app, 'p').filter((r) => r.status === 'running').length).toBeGreaterThanOrEqual(1),
      8000,
    );
    removeFiles(repo, 'tasks/p.yaml');
    await app.waitForRevision(commitAll(repo, 'prune'), 15_000);
    await eventually(() => expect(taskRuns(app, 'p').filter((r) => r.status === 'running')).toEqual([]), 10_000);
    const runs = taskRuns(app, 'p');
    expect(runs.every((r) => r.status === 'cancelled' && r.error === 'task removed from git')).toBe(true);
    // Its job is destroyed, so no firing can add a run; the other task is left alone.
    expect(liveJobs('p')).toEqual([]);
    expect(app.core.status('Task/p')).toBeUndefined();
  });

  it('never schedules a task in a time zone that does not exist: validation rejects it, the fix applies', async () => {
    const repo = makeRepo({
      'tasks/z.yaml': taskYaml('z', {
        schedule: { cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons', concurrencyPolicy: 'Allow' },
        subtasks: [{ name: 'tick', run: 'echo tick' }],
      }),
    });
    const bad = git(repo, 'rev-parse', 'HEAD');
    const app = await start({ repo, stateDir: tempDir() });
    // Rejected whole at validation (the schedule rule is shared with the controller), so
    // the controller never meets it and nothing is armed.
    await eventually(() => expect(app.core.sourceState().lastAttemptedRevision).toBe(bad));
    expect(app.core.sourceState()).toMatchObject({ lastAttemptOutcome: 'rejected', lastAppliedRevision: null });
    expect(app.core.sourceState().lastAttemptErrors).toEqual([
      expect.objectContaining({ file: 'tasks/z.yaml', rule: 'schedule', message: expect.stringContaining('Mars/') }),
    ]);
    expect(app.core.status('Task/z')).toBeUndefined();

    writeFiles(repo, {
      'tasks/z.yaml': taskYaml('z', {
        schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris', concurrencyPolicy: 'Allow' },
        subtasks: [{ name: 'tick', run: 'echo tick' }],
      }),
    });
    await app.waitForRevision(commitAll(repo, 'a real time zone'), 15_000);
    const condition = (type: string) => app.core.status('Task/z')?.conditions.find((c) => c.type === type);
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'Scheduled' });
    expect(app.core.events({ object: 'Task/z', type: 'Warning', limit: 100 })).toEqual([]);
  });
});
