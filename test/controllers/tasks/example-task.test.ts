// The four-subtask task of examples/repo, run as `caduceus run task` would: at
// concurrency 4 with real output, on the local backend and in Docker containers.

import { describe, expect, it } from 'vitest';
import { chmodSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource, RunProgress, Snapshot } from '../../../reconciler/types.js';
import { resourcesOfKind } from '../../../reconciler/types.js';
import { taskSettings } from '../../../controllers/tasks/settings.js';
import { tempDir } from '../../helpers/temp.js';
import { dockerUnavailable, harnessPerTest, loadSnapshot, type Harness } from './helpers.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'examples', 'repo');
const setup = harnessPerTest();

async function fourSubtaskTask(): Promise<Resource<'Task'>> {
  const snap = await loadSnapshot(EXAMPLE);
  const tasks = resourcesOfKind(snap, 'Task').filter(
    (t) => t.source.file.startsWith('tasks/') && t.spec.subtasks.length === 4,
  );
  expect(
    tasks.map((t) => t.metadata.name),
    'examples/repo/tasks/ declares a Task with four subtasks',
  ).not.toHaveLength(0);
  return tasks[0] as Resource<'Task'>;
}

/** Runs the example task with the Runtime's execution mode set to `mode`. */
async function runExample(mode: 'local' | 'docker'): Promise<{
  task: Resource<'Task'>;
  inFlight: number;
  report: Awaited<ReturnType<Harness['runner']['runTask']>>;
  snapshot: Snapshot;
}> {
  const task = await fourSubtaskTask();
  const dir = tempDir('caduceus-example-copy-');
  cpSync(EXAMPLE, dir, { recursive: true });
  // mkdtemp makes the copy private (0700); a checkout is world-readable, and the
  // container's unprivileged user reads the mounted configuration like any user would.
  chmodSync(dir, 0o755);
  const h = await setup(dir, (snap) => {
    const rt = resourcesOfKind(snap, 'Runtime')[0];
    if (rt) rt.spec.execution.mode = mode;
  });
  let running = 0;
  let inFlight = 0;
  const onProgress = (p: RunProgress): void => {
    if (p.state === 'running' && p.message === undefined && p.attempt === 1) running++;
    if (p.state === 'succeeded' || p.state === 'failed' || p.state === 'timedOut' || p.state === 'cancelled') running--;
    inFlight = Math.max(inFlight, running);
  };
  const report = await h.runner.runTask(task.metadata.name, { trigger: { source: 'test' }, onProgress });
  return { task, inFlight, report, snapshot: h.snapshot };
}

describe('examples/repo four-subtask task', () => {
  it('runs at concurrency 4 with real output on the local backend', async () => {
    const { task, inFlight, report, snapshot } = await runExample('local');
    expect(taskSettings(task.spec, resourcesOfKind(snapshot, 'Runtime')[0]?.spec).concurrency).toBe(4);
    expect(inFlight).toBe(4);
    expect(report.subtasks.map((s) => [s.name, s.status])).toEqual(
      task.spec.subtasks.map((s) => [s.name, 'succeeded']),
    );
    for (const s of report.subtasks) expect(s.output.trim().length, `output of ${s.name}`).toBeGreaterThan(0);
    expect(report.status).toBe('succeeded');
  });

  const noDocker = dockerUnavailable();
  it.skipIf(noDocker !== undefined && process.env.CI !== 'true')(
    'runs at concurrency 4 with real output in Docker containers',
    async () => {
      expect(noDocker).toBeUndefined();
      const { inFlight, report } = await runExample('docker');
      expect(inFlight).toBe(4);
      for (const s of report.subtasks) {
        expect(s.status, `${s.name}: ${s.error ?? ''}`).toBe('succeeded');
        expect(s.output.trim().length, `output of ${s.name}`).toBeGreaterThan(0);
      }
      expect(report.status).toBe('succeeded');
    },
    120_000,
  );
});
