// runTask end to end: real shell processes through the real execution registration
// composed with the subagent one, and a real SQLite run history.

import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { RunProgress, TaskReport } from '../../../reconciler/types.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import { resolveRetry, delayBounds } from '../../../controllers/tasks/retry.js';
import { tempDir } from '../../helpers/temp.js';
import {
  alive,
  doc,
  dockerUnavailable,
  eventually,
  harnessPerTest,
  interval,
  maxOverlap,
  runtimeYaml,
  taskYaml,
  timedSleep,
} from './helpers.js';

const setup = harnessPerTest();
const cli = { trigger: { source: 'cli' } };
const names = (n: number, prefix = 's'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('runTask: parallel subtasks', () => {
  it('never runs more subtasks at once than the task concurrency, and reaches it', async () => {
    const h = await setup({
      'runtime.yaml': runtimeYaml({ execution: { mode: 'local' } }),
      'task.yaml': taskYaml('fan', {
        concurrency: 2,
        subtasks: names(6).map((name) => ({ name, run: timedSleep(0.4) })),
      }),
    });
    const report = await h.runner.runTask('fan', cli);
    expect(report.status).toBe('succeeded');
    expect(report.subtasks.map((s) => s.status)).toEqual(Array(6).fill('succeeded'));
    expect(maxOverlap(report.subtasks.map((s) => interval(s.output)))).toBe(2);
  });

  it('caps the task concurrency at the Runtime maximum', async () => {
    // The loader rejects such a pair in one revision; the cap still holds when the task
    // asks for more anyway (a Runtime lowered later, a snapshot built in code).
    const h = await setup(
      {
        'runtime.yaml': runtimeYaml({ concurrency: { default: 1, maximum: 2, queueLimit: 100 } }),
        'task.yaml': taskYaml('greedy', {
          concurrency: 2,
          subtasks: names(5).map((name) => ({ name, run: timedSleep(0.4) })),
        }),
      },
      (snap) => {
        (snap.resources.get('Task/greedy')?.spec as { concurrency?: number }).concurrency = 5;
      },
    );
    const report = await h.runner.runTask('greedy', cli);
    expect(report.status).toBe('succeeded');
    expect(maxOverlap(report.subtasks.map((s) => interval(s.output)))).toBe(2);
  });

  it('uses the Runtime default concurrency when the task does not say', async () => {
    const h = await setup({
      'runtime.yaml': runtimeYaml({ concurrency: { default: 3, maximum: 6, queueLimit: 100 } }),
      'task.yaml': taskYaml('plain', { subtasks: names(6).map((name) => ({ name, run: timedSleep(0.5) })) }),
    });
    const report = await h.runner.runTask('plain', cli);
    expect(maxOverlap(report.subtasks.map((s) => interval(s.output)))).toBe(3);
  });

  it('runs skill subtasks with their params and shell subtasks in their workspace; records the run', async () => {
    const h = await setup({
      'skill.yaml': doc('Skill', 'greet', {
        version: '1.2.0',
        description: 'Greets someone',
        params: [{ name: 'who', type: 'string', required: true }],
        steps: [{ run: 'echo "hello $PARAM_WHO"' }],
      }),
      'task.yaml': taskYaml('mixed', {
        subtasks: [
          { name: 'greet-ann', skill: 'greet', params: { who: 'Ann; rm -rf /' } },
          { name: 'where', run: 'pwd; echo marker > here.txt; ls' },
          { name: 'where2', run: 'pwd; ls' },
        ],
      }),
    });
    const progress: RunProgress[] = [];
    const report = await h.runner.runTask('mixed', {
      trigger: { source: 'cli', actor: 'user:test' },
      onProgress: (p) => progress.push(p),
    });
    expect(report.status).toBe('succeeded');
    const by = Object.fromEntries(report.subtasks.map((s) => [s.name, s]));
    expect(by['greet-ann']?.output).toContain('hello Ann; rm -rf /');
    // Each subtask has a fresh workspace: the file written by one is not seen by the other.
    const dir1 = by.where?.output.split('\n')[0];
    const dir2 = by.where2?.output.split('\n')[0];
    expect(dir1).not.toBe(dir2);
    expect(by.where2?.output).not.toContain('here.txt');
    const states = progress.filter((p) => p.subtask === 'where').map((p) => p.state);
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual(['queued', 'running', 'succeeded']);
    // Output lines arrive as live messages of the running state.
    expect(progress.some((p) => p.subtask === 'where' && p.state === 'running' && p.message === 'here.txt')).toBe(true);

    const rec = h.runs.get(report.runId);
    const task = h.snapshot.resources.get('Task/mixed');
    expect(rec).toMatchObject({
      kind: 'task',
      name: 'mixed',
      status: 'succeeded',
      trigger: 'cli',
      actor: 'user:test',
      specHash: task?.hash,
      attempts: 3,
    });
    expect((rec?.report as TaskReport | undefined)?.subtasks).toHaveLength(3);
    // The skill subtask's own run is recorded by the execution engine.
    expect(h.runs.list({ kind: 'skill', name: 'greet' }).map((r) => [r.parentId, r.trigger])).toEqual([
      [report.runId, 'task:mixed'],
    ]);
  });

  it('rejects an unknown task with the names it knows', async () => {
    const h = await setup({ 'task.yaml': taskYaml('real', { subtasks: [{ name: 'a', run: 'true' }] }) });
    await expect(h.runner.runTask('nope', cli)).rejects.toMatchObject({
      code: 'TaskNotFound',
      hint: expect.stringContaining('real'),
    });
  });
});

describe('runTask: bounded queue', () => {
  it('rejects new work with QueueFull while waiting subtasks fill the queue, admits it again later', async () => {
    const h = await setup({
      'runtime.yaml': runtimeYaml({ concurrency: { default: 1, maximum: 6, queueLimit: 2 } }),
      'a.yaml': taskYaml('a', { concurrency: 1, subtasks: names(3).map((name) => ({ name, run: 'sleep 0.3' })) }),
      'b.yaml': taskYaml('b', { concurrency: 1, subtasks: names(2).map((name) => ({ name, run: 'true' })) }),
      'big.yaml': taskYaml('big', { concurrency: 1, subtasks: names(4).map((name) => ({ name, run: 'true' })) }),
    });
    const running = h.runner.runTask('a', cli); // 1 running, 2 waiting: the queue is full
    const err = await h.runner.runTask('b', cli).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('QueueFull');
    expect((err as CaduceusError).message).toMatch(/queue limit of 2/);
    expect((err as CaduceusError).hint).toMatch(/queueLimit/);
    // A task that alone would wait beyond the limit is rejected whole, nothing started.
    await expect(h.runner.runTask('big', cli)).rejects.toMatchObject({ code: 'QueueFull' });
    expect((await running).status).toBe('succeeded');
    expect((await h.runner.runTask('b', cli)).status).toBe('succeeded');
    expect(
      h.runs
        .list({ kind: 'task' })
        .map((r) => r.name)
        .sort(),
    ).toEqual(['a', 'b']);
  });
});

describe('runTask: retries', () => {
  it('retries a subtask that fails twice then succeeds, with exponential backoff and jitter', async () => {
    const marks = tempDir('caduceus-retry-');
    const retry = { maxAttempts: 4, initialDelay: '300ms', maxDelay: '10s', factor: 2, jitter: 0.2 };
    const h = await setup({
      'runtime.yaml': runtimeYaml({
        retry: { maxAttempts: 1, initialDelay: '1s', maxDelay: '1m', factor: 2, jitter: 0.2 },
      }),
      'task.yaml': taskYaml('flaky', {
        retry,
        subtasks: [
          {
            name: 'flaky',
            run: `date +%s%3N >> ${marks}/times; echo "attempt $CADUCEUS_ATTEMPT"; [ "$CADUCEUS_ATTEMPT" -ge 3 ]`,
          },
        ],
      }),
    });
    const progress: RunProgress[] = [];
    const report = await h.runner.runTask('flaky', { ...cli, onProgress: (p) => progress.push(p) });
    const sub = report.subtasks[0];
    expect(sub).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(sub?.output).toContain('attempt 3');
    expect(progress.filter((p) => p.state === 'retrying').map((p) => p.attempt)).toEqual([1, 2]);

    const times = readFileSync(join(marks, 'times'), 'utf8').trim().split('\n').map(Number);
    expect(times).toHaveLength(3);
    const policy = resolveRetry(undefined, retry);
    // A gap is the backoff delay plus the time one short process takes to start and end.
    const overhead = 1500;
    for (const k of [1, 2]) {
      const gap = (times[k] as number) - (times[k - 1] as number);
      const { min, max } = delayBounds(policy, k);
      expect(gap).toBeGreaterThanOrEqual(min);
      expect(gap).toBeLessThanOrEqual(max + overhead);
    }
    expect(delayBounds(policy, 1)).toEqual({ min: 240, max: 360 });
    expect(delayBounds(policy, 2)).toEqual({ min: 480, max: 720 });
    expect(h.runs.get(report.runId)).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('gives up after maxAttempts and reports the last failure', async () => {
    const h = await setup({
      'task.yaml': taskYaml('doomed', {
        retry: { maxAttempts: 2, initialDelay: '50ms' },
        subtasks: [
          { name: 'bad', run: 'echo "broken pipe"; exit 3' },
          { name: 'good', run: 'echo ok' },
        ],
      }),
    });
    const report = await h.runner.runTask('doomed', cli);
    expect(report.status).toBe('failed');
    expect(report.subtasks[0]).toMatchObject({
      name: 'bad',
      status: 'failed',
      attempts: 2,
      error: 'exit code 3: broken pipe',
    });
    expect(report.subtasks[1]).toMatchObject({ name: 'good', status: 'succeeded', attempts: 1 });
    expect(h.runs.get(report.runId)).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: expect.stringContaining('bad (failed)'),
    });
  });
});

describe('runTask: timeouts and cancellation', () => {
  it('times out a subtask after its own timeout, and the whole task after the task timeout', async () => {
    const h = await setup({
      'runtime.yaml': runtimeYaml({
        retry: { maxAttempts: 1, initialDelay: '1s', maxDelay: '1m', factor: 2, jitter: 0.2 },
      }),
      'skill.yaml': doc('Skill', 'snooze', { version: '1.0.0', description: 'Sleeps', steps: [{ run: 'sleep 20' }] }),
      'slow.yaml': taskYaml('slow', {
        subtasks: [
          { name: 'nap', run: 'sleep 20', timeout: '300ms' },
          { name: 'quick', run: 'echo done' },
          { name: 'skill-nap', skill: 'snooze', timeout: '400ms' },
        ],
      }),
      'whole.yaml': taskYaml('whole', {
        timeout: '700ms',
        concurrency: 1,
        subtasks: [
          { name: 'first', run: 'sleep 20' },
          { name: 'second', run: 'echo never' },
        ],
      }),
    });
    let t0 = Date.now();
    const slow = await h.runner.runTask('slow', cli);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(slow.subtasks[0]).toMatchObject({ name: 'nap', status: 'timedOut', attempts: 1 });
    expect(slow.subtasks[0]?.error).toMatch(/timed out after 300ms/);
    expect(slow.subtasks[1]?.status).toBe('succeeded');
    expect(slow.subtasks[2]).toMatchObject({ name: 'skill-nap', status: 'timedOut', error: 'timed out after 400ms' });
    expect(slow.status).toBe('failed');

    t0 = Date.now();
    const whole = await h.runner.runTask('whole', cli);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(whole.status).toBe('failed');
    expect(whole.subtasks[0]).toMatchObject({ status: 'timedOut', error: 'task timed out after 700ms' });
    expect(whole.subtasks[1]).toMatchObject({ status: 'timedOut', attempts: 0 });
    expect(h.runs.get(whole.runId)).toMatchObject({ status: 'timedOut', error: 'task timed out after 700ms' });
  });

  it('cancels running and queued subtasks on abort and leaves no process behind', async () => {
    const pids = tempDir('caduceus-cancel-');
    const h = await setup({
      'task.yaml': taskYaml('long', {
        concurrency: 2,
        subtasks: names(4).map((name) => ({
          name,
          run: `sh -c 'echo $$ > ${pids}/${name}.pid; exec sleep 60' & wait`,
        })),
      }),
    });
    const abort = new AbortController();
    const run = h.runner.runTask('long', { ...cli, signal: abort.signal });
    await eventually(() => expect(existsSync(join(pids, 's1.pid')) && existsSync(join(pids, 's2.pid'))).toBe(true));
    const started = ['s1', 's2'].map((n) => Number(readFileSync(join(pids, `${n}.pid`), 'utf8')));
    expect(started.every(alive)).toBe(true);
    const t0 = Date.now();
    abort.abort();
    const report = await run;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(report.status).toBe('cancelled');
    expect(report.subtasks.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(report.subtasks.slice(2).map((s) => s.attempts)).toEqual([0, 0]);
    expect(existsSync(join(pids, 's3.pid'))).toBe(false);
    await eventually(() => expect(started.filter(alive)).toEqual([]), 5000);
    expect(h.runs.get(report.runId)?.status).toBe('cancelled');
  });
});

describe('runTask in Docker', () => {
  const noDocker = dockerUnavailable();
  const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000 });
  const containersWith = (marker: string): string[] =>
    docker('ps', '-a', '--no-trunc', '--filter', 'label=caduceus.managed=true', '--format', '{{.ID}} {{.Command}}')
      .split('\n')
      .filter((l) => l.includes(marker));

  it.skipIf(noDocker !== undefined && process.env.CI !== 'true')(
    'runs shell subtasks in containers when the task isolation says docker',
    async () => {
      expect(noDocker).toBeUndefined();
      const h = await setup({
        'runtime.yaml': runtimeYaml({ execution: { mode: 'local' } }),
        'task.yaml': taskYaml('boxed', {
          isolation: { mode: 'docker' },
          subtasks: [{ name: 'inside', run: 'echo "pid $$ user $(id -u)"' }],
        }),
      });
      const report = await h.runner.runTask('boxed', cli);
      expect(report.subtasks[0]).toMatchObject({ status: 'succeeded' });
      // sh is PID 1 of its own container and runs as the unprivileged sandbox user.
      expect(report.subtasks[0]?.output.trim()).toBe('pid 1 user 65534');
    },
    60_000,
  );

  it.skipIf(noDocker !== undefined && process.env.CI !== 'true')(
    'cancelling removes every container of the run',
    async () => {
      expect(noDocker).toBeUndefined();
      const marker = `cancel-${randomUUID()}`;
      const h = await setup({
        'runtime.yaml': runtimeYaml({ execution: { mode: 'docker' } }),
        'task.yaml': taskYaml('boxes', {
          concurrency: 2,
          subtasks: names(3).map((name) => ({ name, run: `: ${marker}; echo started; sleep 60` })),
        }),
      });
      const abort = new AbortController();
      const started = new Set<string>();
      const onProgress = (p: RunProgress): void => {
        if (p.message === 'started' && p.subtask) started.add(p.subtask);
      };
      const run = h.runner.runTask('boxes', { ...cli, signal: abort.signal, onProgress });
      // Both containers are running (their first line arrived) before the cancel.
      await eventually(() => expect([...started].sort()).toEqual(['s1', 's2']), 30_000);
      expect(containersWith(marker)).toHaveLength(2);
      abort.abort();
      const report = await run;
      expect(report.status).toBe('cancelled');
      expect(report.subtasks.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      await eventually(() => expect(containersWith(marker)).toEqual([]), 15_000);
    },
    90_000,
  );
});
