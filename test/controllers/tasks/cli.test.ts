// `caduceus run` and `caduceus runs` as users call them: the compiled CLI spawned against a
// temp configuration directory and state directory, with real processes.

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp.js';
import { alive, configDir, doc, dockerUnavailable, eventually, runtimeYaml, taskYaml } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');

beforeAll(() => {
  // tsc emits even when another part of the tree has a type error; the CLI must exist after.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(CLI)).toBe(true);
}, 180_000);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function caduceus(
  args: string[],
  opts: { cwd?: string; onStart?: (pid: number, kill: (s: NodeJS.Signals) => void) => void } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? tempDir(),
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    opts.onStart?.(child.pid as number, (s) => child.kill(s));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const pids = tempDir('caduceus-cli-pids-');
const config = configDir({
  'runtime.yaml': runtimeYaml({
    execution: { mode: 'local' },
    retry: { maxAttempts: 1, initialDelay: '100ms', maxDelay: '1s', factor: 2, jitter: 0.2 },
  }),
  'skills/greet.yaml': doc('Skill', 'greet', {
    version: '2.0.0',
    description: 'Greets someone',
    params: [{ name: 'who', type: 'string', required: true }],
    steps: [{ run: 'echo "hello $PARAM_WHO"' }],
  }),
  'tasks/pair.yaml': taskYaml('pair', {
    concurrency: 2,
    subtasks: [
      { name: 'greet-bob', skill: 'greet', params: { who: 'Bob' } },
      { name: 'count', run: 'for i in 1 2 3; do echo "line $i"; done' },
    ],
  }),
  'tasks/broken.yaml': taskYaml('broken', { subtasks: [{ name: 'nope', run: 'echo "disk full" >&2; exit 7' }] }),
  'tasks/long.yaml': taskYaml('long', {
    concurrency: 2,
    subtasks: ['a', 'b', 'c'].map((name) => ({
      name,
      run: `sh -c 'echo $$ > ${pids}/${name}.pid; exec sleep 60' & wait`,
    })),
  }),
});

describe('caduceus run / runs', () => {
  const state = tempDir('caduceus-cli-state-');

  it('runs a task with plain progress lines and its subtasks output, exit 0', async () => {
    const r = await caduceus(['run', 'task', 'pair', config, '--state-dir', state]);
    expect(r.stderr).toMatch(/count: running/);
    expect(r.stderr).toMatch(/greet-bob: succeeded/);
    expect(r.stdout).toMatch(/task pair succeeded/);
    expect(r.stdout).toContain('hello Bob');
    expect(r.stdout).toContain('line 3');
    expect(r.code).toBe(0);
  });

  it('runs a skill with -p params and prints JSON', async () => {
    const r = await caduceus([
      'run',
      'skill',
      'greet',
      '-p',
      'who=World; echo injected',
      config,
      '--state-dir',
      state,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; output: string; version: string };
    expect(result).toMatchObject({ status: 'succeeded', version: '2.0.0' });
    expect(result.output.trim()).toBe('hello World; echo injected');
  });

  it('exits 1 when the task fails, with the error in the summary', async () => {
    const r = await caduceus(['run', 'task', 'broken', config, '--state-dir', state]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/task broken failed/);
    expect(r.stdout).toMatch(/exit code 7: disk full/);
  });

  it('lists the run history, filtered and as JSON', async () => {
    const all = await caduceus(['runs', '--state-dir', state, '--json']);
    expect(all.code).toBe(0);
    const runs = JSON.parse(all.stdout) as Array<{ kind: string; name: string; status: string; trigger: string }>;
    expect(
      runs
        .filter((r) => r.kind === 'task')
        .map((r) => `${r.name}:${r.status}`)
        .sort(),
    ).toEqual(['broken:failed', 'pair:succeeded']);
    expect(runs.filter((r) => r.kind === 'skill' && r.name === 'greet')).toHaveLength(2);
    const table = await caduceus(['runs', '--task', 'pair', '--state-dir', state]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^STARTED\s+KIND\s+NAME/);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
    expect(table.stdout).toMatch(/task\s+pair\s+cli/);
    const skills = JSON.parse(
      (await caduceus(['runs', '--skill', 'greet', '--limit', '1', '--state-dir', state, '--json'])).stdout,
    ) as unknown[];
    expect(skills).toHaveLength(1);
    expect((await caduceus(['runs', '--task', 'a', '--skill', 'b', '--state-dir', state])).code).toBe(2);
  });

  it('rejects an invalid configuration with its findings and exit 1', async () => {
    const bad = configDir({ 'tasks/t.yaml': taskYaml('t', { subtasks: [{ name: 'x', skill: 'missing-skill' }] }) });
    const r = await caduceus(['run', 'task', 't', bad, '--state-dir', tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tasks\/t\.yaml:\d+:\d+/);
    expect(r.stderr).toMatch(/missing-skill/);
  });

  it('reports usage errors with exit 2', async () => {
    expect((await caduceus(['run'])).code).toBe(2);
    expect((await caduceus(['run', 'task'])).code).toBe(2);
    expect((await caduceus(['run', 'skill', 'greet', '-p', 'novalue', config])).code).toBe(2);
  });

  it('cancels on SIGINT, removes its processes and exits 130', async () => {
    const s = tempDir('caduceus-cli-sigint-');
    let started: number[] = [];
    const r = await caduceus(['run', 'task', 'long', config, '--state-dir', s], {
      onStart: (_pid, kill) => {
        void eventually(
          () => expect(existsSync(join(pids, 'a.pid')) && existsSync(join(pids, 'b.pid'))).toBe(true),
          20_000,
        ).then(() => {
          started = ['a', 'b'].map((n) => Number(readFileSync(join(pids, `${n}.pid`), 'utf8')));
          kill('SIGINT');
        });
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT received, cancelling/);
    expect(started).toHaveLength(2);
    expect(started.filter(alive)).toEqual([]);
    expect(existsSync(join(pids, 'c.pid'))).toBe(false);
    const runs = JSON.parse((await caduceus(['runs', '--task', 'long', '--state-dir', s, '--json'])).stdout) as Array<{
      status: string;
    }>;
    expect(runs.map((x) => x.status)).toEqual(['cancelled']);
  });

  const noDocker = dockerUnavailable();
  it.skipIf(noDocker !== undefined && process.env.CI !== 'true')(
    'cancels on SIGTERM in Docker mode and removes the containers before exiting 130',
    async () => {
      expect(noDocker).toBeUndefined();
      const marker = `sigterm-${randomUUID()}`;
      const boxed = configDir({
        'runtime.yaml': runtimeYaml({ execution: { mode: 'docker' } }),
        'tasks/boxes.yaml': taskYaml('boxes', {
          concurrency: 2,
          subtasks: ['a', 'b', 'c'].map((name) => ({ name, run: `: ${marker}; echo started; sleep 60` })),
        }),
      });
      const containers = (): string[] =>
        execFileSync(
          'docker',
          ['ps', '-a', '--no-trunc', '--filter', 'label=caduceus.managed=true', '--format', '{{.ID}} {{.Command}}'],
          { encoding: 'utf8' },
        )
          .split('\n')
          .filter((l) => l.includes(marker));
      let seen = 0;
      let stderr = '';
      const r = await new Promise<Result>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'run', 'task', 'boxes', boxed, '--state-dir', tempDir()], {
          cwd: tempDir(),
        });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          // Both containers printed their first line: they run, with output attached.
          if ((stderr.match(/: running \(attempt 1\) - started/g) ?? []).length === 2 && seen === 0) {
            seen = containers().length;
            child.kill('SIGTERM');
          }
        });
        // Never leave the CLI (and its containers) behind if the test goes wrong.
        const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('close', (code) => {
          clearTimeout(guard);
          resolve({ code, stdout, stderr });
        });
      });
      expect(seen).toBe(2);
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/SIGTERM received/);
      expect(containers()).toEqual([]);
    },
    90_000,
  );
});
