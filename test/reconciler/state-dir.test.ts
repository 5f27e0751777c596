// The state directory belongs to one `caduceus up`: a second process is refused naming the
// first; after a `kill -9` the next one marks the dead process's runs abandoned and runs the
// task again; a database deleted or damaged under a running process fails /readyz and is
// named by /status and `caduceus status`, and a damaged file is refused at start.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { RunStore, type RunRecord } from '../../reconciler/state/runs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { git, GIT_ENV, makeRepo, skillYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { appStarter } from '../helpers/app.js';
import { doc } from '../helpers/config.js';
import { eventually, waitFor } from '../helpers/wait.js';
import { pidsWith, sleepMarker } from '../helpers/processes.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'app', 'cli.js');
const start = appStarter();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: GIT_ENV, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `caduceus up` as a child process; resolves once it logs that it is up. */
function up(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'up', '--listen', '127.0.0.1:0', ...args], {
    env: GIT_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let logs = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      logs += b.toString();
      const m = /caduceus is up\s+url=(\S+)/.exec(logs);
      if (m) resolve({ child, url: m[1] as string });
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`caduceus up exited with ${code}:\n${logs}`)));
  });
}

function taskRuns(stateDir: string): RunRecord[] {
  const store = new StateStore({ stateDir });
  try {
    return new RunStore(store).list({ kind: 'task', name: 'long', limit: 100 });
  } finally {
    store.close();
  }
}

describe('one caduceus up per state directory', () => {
  it('refuses a second up on the same state directory, naming the pid, host and start of the first', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const first = await up(['--repo', repo, '--state-dir', stateDir]);
    const second = cli(['up', '--repo', repo, '--state-dir', stateDir, '--listen', '127.0.0.1:0']);
    expect(second.code).toBe(2);
    const holder = `pid ${first.child.pid} on host ${hostname()} since \\d{4}-\\d\\d-\\d\\dT`;
    expect(second.stderr).toMatch(new RegExp(`state directory .* is in use by caduceus up \\(${holder}`));
    expect(second.stderr).toContain('another --state-dir');
    // The first one is untouched by the attempt.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(first.child.exitCode).toBe(null);
  });

  it('refuses a second app in the same process, and takes the directory once the first stops', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const first = await start({ repo, stateDir });
    const err = await start({ repo, stateDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('StateDirLocked');
    expect((err as CaduceusError).message).toContain(`pid ${process.pid} on host ${hostname()}`);
    await first.stop();
    const again = await start({ repo, stateDir });
    await again.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    // A clean stop leaves nothing to abandon and no crash to report.
    expect(again.core.events({ limit: 100 }).map((e) => e.reason)).not.toContain('RunsAbandoned');
  });
});

describe('after kill -9 of up', () => {
  it('marks the dead process runs abandoned, ends their processes, and runs the task again', async () => {
    const marker = sleepMarker();
    const repo = makeRepo({
      'runtime.yaml': doc('Runtime', 'default', { execution: { mode: 'local' } }),
      'tasks/long.yaml': doc('Task', 'long', { subtasks: [{ name: 'wait', run: `sleep ${marker}` }] }),
    });
    const stateDir = tempDir();
    const first = await up(['--repo', repo, '--state-dir', stateDir]);
    const running = await waitFor(
      () => {
        const r = taskRuns(stateDir)[0];
        return r?.status === 'running' && pidsWith(marker).length > 0 ? r : undefined;
      },
      30_000,
      'the task run and its sleep',
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Its step ended with it (tied to the daemon), before any restart.
    await eventually(() => expect(pidsWith(marker)).toEqual([]), 10_000);
    expect(taskRuns(stateDir).find((r) => r.id === running.id)?.status).toBe('running');

    const second = await up(['--repo', repo, '--state-dir', stateDir]);
    const runs = await waitFor(
      () => {
        const rs = taskRuns(stateDir);
        return rs.length === 2 && rs[0]?.status === 'running' ? rs : undefined;
      },
      30_000,
      'a new run of the task',
    );
    expect(runs.find((r) => r.id === running.id)).toMatchObject({
      status: 'abandoned',
      error: expect.stringContaining('exited (crashed or was killed)'),
    });
    const listed = cli(['runs', '--state-dir', stateDir]);
    expect(listed.stdout).toMatch(new RegExp(`abandoned .*${running.id.slice(0, 8)}`));
    const events = cli(['events', '--state-dir', stateDir]).stdout;
    expect(events).toMatch(new RegExp(`RunsAbandoned.*pid ${first.child.pid} on host ${hostname()}.*1 run\\(s\\)`));
    const status = JSON.parse(cli(['status', '--json', '--state-dir', stateDir]).stdout) as {
      resources: Array<{ key: string; conditions: Array<{ type: string; message: string }> }>;
    };
    const ready = status.resources.find((r) => r.key === 'Task/long')?.conditions.find((c) => c.type === 'Ready');
    expect(ready?.message).not.toContain('another process');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });

  it('abandons only the runs of the process that crashed, not those of a caduceus run beside it', () => {
    const stateDir = tempDir();
    const crashed = new StateStore({ stateDir });
    const mine = new RunStore(crashed).start({ kind: 'task', name: 'long', trigger: 'apply' });
    const beside = new StateStore({ stateDir });
    const theirs = new RunStore(beside).start({ kind: 'task', name: 'long', trigger: 'cli' });
    const runs = new RunStore(beside);
    expect(runs.abandonRunning(crashed.owner)).toBe(1);
    expect(runs.get(mine)?.status).toBe('abandoned');
    expect(runs.get(theirs)?.status).toBe('running');
    crashed.close();
    beside.close();
  });
});

describe('a deleted or damaged state database', () => {
  it('fails /readyz and is named by /status and caduceus status once deleted under up', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const app = await start({ repo, stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(stateDir, f), { force: true });

    const readyz = await fetch(`${app.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toMatch(/state database .*state\.db was deleted while this process ran/);
    const status = (await (await fetch(`${app.url}/status`)).json()) as { ready: boolean; stateProblem?: string };
    expect(status.ready).toBe(false);
    expect(status.stateProblem).toContain('was deleted');
    const cliStatus = cli(['status', '--state-dir', stateDir]);
    expect(cliStatus.code).toBe(2);
    expect(cliStatus.stderr).toContain(`was deleted while caduceus up (pid ${process.pid} on host ${hostname()}`);
  });

  it('fails /readyz when the file is overwritten under up', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const app = await start({ repo, stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    const db = join(stateDir, 'state.db');
    const ino = statSync(db).ino;
    writeFileSync(db, 'not a database at all\n'.repeat(400));
    expect(statSync(db).ino).toBe(ino);
    const readyz = await fetch(`${app.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toMatch(/state\.db is not a readable SQLite database any more: it was overwritten/);
  });

  it('refuses to start on a file that is not a database, with a clear error', () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    writeFileSync(join(stateDir, 'state.db'), 'garbage '.repeat(1000));
    const r = cli(['up', '--repo', repo, '--state-dir', stateDir, '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /caduceus: state database .*state\.db is not a readable SQLite database \(SQLITE_NOTADB\)/,
    );
    expect(r.stderr).toContain('move it aside');
    const status = cli(['status', '--state-dir', stateDir]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('is not a readable SQLite database');
  });

  it('refuses to start on a database whose pages are damaged', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a'), 'skills/b.yaml': skillYaml('b') });
    const stateDir = tempDir();
    const app = await start({ repo, stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    await app.stop();
    // The header stays (it opens), the pages after it are scribbled over.
    const fd = openSync(join(stateDir, 'state.db'), 'r+');
    const size = statSync(join(stateDir, 'state.db')).size;
    writeSync(fd, Buffer.alloc(size - 8192, 0x5a), 0, size - 8192, 8192);
    closeSync(fd);
    const err = await start({ repo, stateDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('StateCorrupt');
    expect((err as CaduceusError).describe()).toMatch(/state database .*state\.db (is damaged|is not a readable)/);
    // The refusal released the directory: a repaired database starts.
    rmSync(join(stateDir, 'state.db'));
    const fresh = await start({ repo, stateDir });
    await fresh.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
  });
});
