// The compiled CLI as people run it: `caduceus up` in a child process (crash with SIGKILL
// mid-apply and converge after restart; the example repository comes up ready), and
// `plan`, `status`, `events`, `init` against its state.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { commitAll, exampleRepo, git, GIT_ENV, makeRepo, skillYaml, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'app', 'cli.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function cli(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: GIT_ENV,
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `caduceus up` and resolves with its server URL once it logs that it is up. */
function up(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  const child = spawn(process.execPath, [CLI, 'up', '--listen', '127.0.0.1:0', ...args], {
    env: { ...GIT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let logs = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      logs += b.toString();
      const m = /caduceus is up\s+url=(\S+)/.exec(logs);
      if (m) resolve({ child, url: m[1] as string, logs: () => logs });
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`caduceus up exited with ${code}:\n${logs}`)));
  });
}

/** A port nothing listens on now (the kernel's pick for a listener closed at once). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function statusCount(stateDir: string): number {
  try {
    const db = new Database(join(stateDir, 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM status').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

describe('caduceus up (compiled CLI)', () => {
  it('converges after a SIGKILL in the middle of an apply', async () => {
    const N = 3000;
    const docs: string[] = [];
    for (let i = 0; i < N; i++) docs.push(skillYaml(`skill-${i}`));
    const files: Record<string, string> = {};
    for (let f = 0; f < 10; f++)
      files[`skills/batch-${f}.yaml`] = docs.slice(f * (N / 10), (f + 1) * (N / 10)).join('---\n');
    const repo = makeRepo(files);
    const head = git(repo, 'rev-parse', 'HEAD');
    const stateDir = tempDir();

    const first = await up(['--repo', repo, '--state-dir', stateDir]);
    // Polled every 5 ms: the process must be killed between the first status rows and the last.
    const partial = await waitFor(
      () => {
        const n = statusCount(stateDir);
        return n > 0 ? n : undefined;
      },
      20_000,
      'the first status rows',
      5,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const afterKill = statusCount(stateDir);
    expect(partial).toBeLessThan(N);
    expect(afterKill).toBeLessThan(N);

    const second = await up(['--repo', repo, '--state-dir', stateDir]);
    await waitFor(
      async () => ((await fetch(`${second.url}/readyz`)).status === 200 ? true : undefined),
      30_000,
      'readiness after restart',
    );
    const status = JSON.parse(cli(['status', '--json', '--state-dir', stateDir]).stdout) as {
      lastAppliedRevision: string;
      resources: unknown[];
    };
    expect(status.lastAppliedRevision).toBe(head);
    expect(status.resources).toHaveLength(N);
  });

  it('brings up examples/repo ready, and a committed edit shows in status', async () => {
    const repo = exampleRepo();
    const stateDir = tempDir();
    const app = await up([repo, '--state-dir', stateDir], {
      CADUCEUS_PROXY_KEY: 'example-proxy-key-for-tests',
      DISCORD_PUBLIC_KEY: '',
    });
    await waitFor(
      async () => ((await fetch(`${app.url}/readyz`)).status === 200 ? true : undefined),
      30_000,
      'readiness',
    );
    const before = JSON.parse(cli(['status', '--json', '--state-dir', stateDir]).stdout) as {
      resources: Array<{ kind: string; name: string }>;
    };
    expect(before.resources.some((r) => r.kind === 'Runtime')).toBe(true);
    expect(before.resources.filter((r) => r.kind === 'Skill').length).toBeGreaterThanOrEqual(6);

    writeFiles(repo, { 'skills/hello-newcomer.yaml': skillYaml('hello-newcomer') });
    const head = commitAll(repo, 'add a skill');
    await waitFor(
      () => {
        const s = JSON.parse(cli(['status', '--json', '--state-dir', stateDir]).stdout) as {
          lastAppliedRevision: string;
          resources: Array<{ name: string }>;
        };
        return s.lastAppliedRevision === head && s.resources.some((r) => r.name === 'hello-newcomer')
          ? true
          : undefined;
      },
      60_000,
      'the commit in status',
    );
    // How fast a commit applies is measured in bench/reconcile, not here.
    const events = cli(['events', '--state-dir', stateDir]);
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('RevisionApplied');
  });
});

describe('caduceus up readiness', () => {
  it('is not ready while the first revision is still being fetched', async () => {
    // A git host that takes the connection and never answers: the first fetch, and so the
    // first sync, cannot finish while the test looks.
    const held: Socket[] = [];
    const host = createNetServer((socket) => held.push(socket));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI,
        'up',
        '--repo',
        `http://127.0.0.1:${(host.address() as AddressInfo).port}/config.git`,
        '--listen',
        `127.0.0.1:${port}`,
        '--state-dir',
        tempDir(),
      ],
      { env: GIT_ENV, stdio: 'ignore' },
    );
    children.push(child);
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => (held.length > 0 && (await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
        30_000,
        'the server up and the fetch waiting on the git host',
      );
      const readyz = await fetch(`${url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toBe('waiting for the first revision to be applied\n');
      const status = (await (await fetch(`${url}/status`)).json()) as { ready: boolean; lastAppliedRevision: unknown };
      expect(status).toMatchObject({ ready: false, lastAppliedRevision: null });
    } finally {
      child.kill('SIGKILL');
      for (const s of held) s.destroy();
      await new Promise((r) => host.close(r));
    }
  });
});

describe('caduceus up shutdown', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops cleanly on ${signal} with exit code 0`, async () => {
      const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
      const stateDir = tempDir();
      const app = await up(['--repo', repo, '--state-dir', stateDir]);
      await waitFor(
        async () => ((await fetch(`${app.url}/readyz`)).status === 200 ? true : undefined),
        20_000,
        'readiness',
      );
      const exited = new Promise<number | null>((r) => app.child.once('exit', (code) => r(code)));
      app.child.kill(signal);
      expect(await exited).toBe(0);
      expect(app.logs()).toContain('shutting down');
      expect(app.logs()).toMatch(/INFO\s+stopped/);
      // The state is intact and readable after the shutdown.
      const status = JSON.parse(cli(['status', '--json', '--state-dir', stateDir]).stdout) as {
        lastAppliedRevision: string;
      };
      expect(status.lastAppliedRevision).toBe(git(repo, 'rev-parse', 'HEAD'));
    });
  }
});

describe('caduceus plan, status, init', () => {
  it('plans against the applied state with terraform-like output and flux-diff exit codes', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const fresh = cli(['plan', '--repo', repo, '--rev', 'HEAD', '--state-dir', stateDir]);
    expect(fresh.code).toBe(1);
    expect(fresh.stdout).toContain('+ Skill "a" will be created');

    const app = await up(['--repo', repo, '--state-dir', stateDir]);
    await waitFor(
      async () => ((await fetch(`${app.url}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'readiness',
    );
    expect(cli(['plan', '--repo', repo, '--rev', 'HEAD', '--state-dir', stateDir]).code).toBe(0);

    writeFiles(repo, { 'skills/a.yaml': skillYaml('a', 'echo changed') });
    const changed = cli(['plan', join(repo), '--state-dir', stateDir, '--json']);
    expect(changed.code).toBe(1);
    const p = JSON.parse(changed.stdout) as {
      entries: Array<{ name: string; action: string; changes?: Array<{ path: string }> }>;
    };
    expect(p.entries.find((e) => e.name === 'a')).toMatchObject({
      action: 'update',
      changes: [{ path: 'spec.steps[0].run' }],
    });

    writeFiles(repo, { 'skills/a.yaml': 'kind: Nope\n' });
    expect(cli(['plan', repo, '--state-dir', stateDir]).code).toBe(2);
  });

  it('init scaffolds a repository that validates and has a first commit', () => {
    const dir = join(tempDir(), 'team-config');
    const r = cli(['init', dir]);
    expect(r.code).toBe(0);
    expect(git(dir, 'log', '--oneline')).toContain('Initial configuration');
    expect(cli(['validate', dir]).code).toBe(0);
    expect(cli(['init', dir]).code).toBe(2);
  });

  it('status without state says what to do and exits 2', () => {
    const r = cli(['status', '--state-dir', join(tempDir(), 'none')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("start 'caduceus up' first");
  });
});
