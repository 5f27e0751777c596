// The git source's health as `caduceus status` shows it: `caduceus up` persists fetch
// failures of a remote (file:// bare repositories made unreachable by renaming them) in
// the state database, and the compiled CLI, which reads only that database, reports them.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../../reconciler/state/store.js';
import { CoreStore, CORE_MIGRATIONS, type SourceHealth } from '../../reconciler/state/core-store.js';
import { git, GIT_ENV, makeRemote, makeRepo, skillYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { appStarter } from '../helpers/app.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'app', 'cli.js');
const start = appStarter();

function status(stateDir: string): string {
  const r = spawnSync(process.execPath, [CLI, 'status', '--state-dir', stateDir], {
    encoding: 'utf8',
    env: GIT_ENV,
    timeout: 30_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

interface StatusJson {
  source?: SourceHealth;
  lastAppliedRevision: string | null;
}

function statusJson(stateDir: string): StatusJson {
  const r = spawnSync(process.execPath, [CLI, 'status', '--state-dir', stateDir, '--json'], {
    encoding: 'utf8',
    env: GIT_ENV,
    timeout: 30_000,
  });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

describe('caduceus status shows the git source', () => {
  it('reports an unreachable remote while the applied revision keeps running; clears it once fetched', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': skillYaml('a') });
    const head = git(clone, 'rev-parse', 'HEAD');
    const stateDir = tempDir();
    const app = await start({ repo: `file://${bare}`, branch: 'main', stateDir, interval: 60_000 });
    await app.waitForRevision(head);

    const healthy = status(stateDir);
    expect(healthy).toContain(`Source:             file://${bare}  (branch main, remote)`);
    expect(healthy).not.toContain('fetch failing');
    expect(statusJson(stateDir).source).toMatchObject({
      mode: 'remote',
      repo: `file://${bare}`,
      branch: 'main',
      fetchErrors: 0,
    });

    renameSync(bare, `${bare}-gone`);
    try {
      await expect(app.source.fetchNow()).rejects.toThrow(/fetching .* failed/);
      await app.reconciler.requestSync();

      const failing = status(stateDir);
      expect(failing).toMatch(
        new RegExp(
          String.raw`fetch failing since \d{4}-\d\d-\d\dT[^ ]+ \(\d+s ago\): fetching file://\S+ failed: .+ ` +
            String.raw`\(\d+ attempts?\); the applied revision keeps running`,
        ),
      );
      expect(failing).toContain(`Applied revision:   ${head}`);
      const json = statusJson(stateDir);
      expect(json.lastAppliedRevision).toBe(head);
      expect(json.source?.fetchErrors).toBeGreaterThanOrEqual(1);
      expect(json.source?.lastFetchError).toContain(`fetching file://${bare} failed`);
      expect(Date.parse(String(json.source?.failingSince))).toBeGreaterThan(Date.now() - 600_000);
      expect(app.core.events({ type: 'Warning' }).map((e) => e.reason)).toContain('GitFetchFailed');
      expect(app.reconciler.snapshot().revision).toBe(head);
    } finally {
      renameSync(`${bare}-gone`, bare);
    }

    await app.source.fetchNow();
    const recovered = status(stateDir);
    expect(recovered).toContain(`Source:             file://${bare}  (branch main, remote)`);
    expect(recovered).not.toContain('fetch failing');
    const json = statusJson(stateDir);
    expect(json.source).toMatchObject({ fetchErrors: 0 });
    expect(json.source?.lastFetchError).toBeUndefined();
    expect(json.source?.failingSince).toBeUndefined();
    expect(json.lastAppliedRevision).toBe(head);
    expect(app.core.events().map((e) => e.reason)).toContain('GitFetchRecovered');
  });

  it('records a failure of a timed fetch, and does not rewrite the row on every successful poll', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': skillYaml('a') });
    const head = git(clone, 'rev-parse', 'HEAD');
    const stateDir = tempDir();
    const app = await start({ repo: `file://${bare}`, stateDir, interval: 300 });
    await app.waitForRevision(head);
    const first = app.core.sourceHealth();
    expect(first?.fetchErrors).toBe(0);
    // Several timed fetches succeed: the outcome does not change, so neither does the row.
    const fetchedAt = app.source.status().lastFetchAt;
    await eventually(() => expect(app.source.status().lastFetchAt).not.toBe(fetchedAt));
    const fetchedAgain = app.source.status().lastFetchAt;
    await eventually(() => expect(app.source.status().lastFetchAt).not.toBe(fetchedAgain));
    // A fetch made through the app compares its outcome with the row at once, like the app's
    // once-a-second timer does after the timed ones: same outcome, so still no write.
    await app.source.fetchNow();
    expect(app.core.sourceHealth()?.recordedAt).toBe(first?.recordedAt);

    renameSync(bare, `${bare}-gone`);
    try {
      // Nobody calls fetchNow: the source's own timer fails and the app notices.
      await eventually(() => expect(app.core.sourceHealth()?.fetchErrors).toBeGreaterThanOrEqual(1), 10_000);
      expect(status(stateDir)).toContain('the applied revision keeps running');
      expect(app.core.sourceState().lastAppliedRevision).toBe(head);
    } finally {
      renameSync(`${bare}-gone`, bare);
    }
    // The backoff retries (1 s, 2 s, …) find the remote again on their own.
    await eventually(() => expect(app.core.sourceHealth()?.fetchErrors).toBe(0), 15_000);
    expect(status(stateDir)).not.toContain('fetch failing');
  });

  it('shows a local repository with its branch and no fetch failure', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const stateDir = tempDir();
    const app = await start({ repo, stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    const out = status(stateDir);
    expect(out).toMatch(/^Source: +\S+ +\(branch main, local\)$/m);
    expect(out).not.toContain('fetch failing');
    expect(statusJson(stateDir).source).toMatchObject({ mode: 'local', branch: 'main', fetchErrors: 0 });
  });
});

describe('caduceus status names what is followed', () => {
  it('shows the branch HEAD names and the path, when up was given neither a branch nor DIR', async () => {
    const repo = makeRepo({ 'conf/skills/a.yaml': skillYaml('a') });
    git(repo, 'checkout', '-q', '-b', 'trunk');
    const stateDir = tempDir();
    const app = await start({ repo, path: 'conf', stateDir });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect(status(stateDir)).toMatch(/^Source: +\S+ +\(branch trunk, path conf, local\)$/m);
  });

  it('shows the branch the remote HEAD names, and the path, when no --branch was given', async () => {
    const { bare, clone } = makeRemote({ 'conf/skills/a.yaml': skillYaml('a') });
    git(clone, 'push', '-q', 'origin', 'main:trunk');
    git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/trunk');
    const stateDir = tempDir();
    const app = await start({ repo: `file://${bare}`, path: 'conf', stateDir, interval: 60_000 });
    await app.waitForRevision(git(clone, 'rev-parse', 'HEAD'));
    await eventually(() =>
      expect(status(stateDir)).toMatch(/^Source: +file:\/\/\S+ +\(branch trunk, path conf, remote\)$/m),
    );
    expect(statusJson(stateDir).source).toMatchObject({ mode: 'remote', branch: 'trunk', path: 'conf' });
  });
});

describe('source health in the state database', () => {
  it('stores the repository and the error with credentials redacted', () => {
    const core = new CoreStore(new StateStore({ stateDir: tempDir() }));
    core.recordSourceHealth(
      {
        mode: 'remote',
        repo: 'https://deploy:s3cr3t-token@git.example.invalid/org/config.git',
        fetchErrors: 2,
        lastFetchError:
          'fetching https://deploy:s3cr3t-token@git.example.invalid/org/config.git failed: connection refused',
        failingSince: '2026-01-01T00:00:00.000Z',
      },
      [
        {
          type: 'Warning',
          reason: 'GitFetchFailed',
          message: 'https://deploy:s3cr3t-token@git.example.invalid/x failed',
        },
      ],
    );
    const h = core.sourceHealth();
    expect(h).toMatchObject({
      repo: 'https://***@git.example.invalid/org/config.git',
      fetchErrors: 2,
      failingSince: '2026-01-01T00:00:00.000Z',
    });
    expect(h?.lastFetchError).toBe(
      'fetching https://***@git.example.invalid/org/config.git failed: connection refused',
    );
    const raw =
      JSON.stringify(core.store.db.prepare('SELECT * FROM source_health').all()) + JSON.stringify(core.events());
    expect(raw).not.toContain('s3cr3t-token');
    core.store.close();
  });

  it('adds the table to a state written before it existed, keeping the old rows', () => {
    const dir = tempDir();
    const old = new StateStore({ stateDir: dir });
    old.migrate('core', CORE_MIGRATIONS.slice(0, 1));
    old.db.prepare('UPDATE source_state SET last_applied_revision = ? WHERE id = 1').run('abc123');
    old.close();
    const core = new CoreStore(new StateStore({ stateDir: dir }));
    expect(core.sourceState().lastAppliedRevision).toBe('abc123');
    expect(core.sourceHealth()).toBeUndefined();
    core.recordSourceHealth({ mode: 'local', repo: '/srv/config', fetchErrors: 0 });
    expect(core.sourceHealth()).toMatchObject({ mode: 'local', repo: '/srv/config', fetchErrors: 0 });
    core.store.close();
  });
});
