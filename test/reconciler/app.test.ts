// End-to-end tests of the reconciler: real git repositories (a bare remote and clones in
// temp dirs), the real loader, the real SQLite state store, the real HTTP server.

import { describe, expect, it, vi } from 'vitest';
import { createHmac } from 'node:crypto';
import { renameSync } from 'node:fs';
import type { Controller, Registration } from '../../reconciler/types.js';
import { commitAll, git, makeRemote, makeRepo, removeFiles, skillYaml, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { appStarter } from '../helpers/app.js';

const start = appStarter();

describe('reconciler end to end (local repository)', () => {
  it('applies a commit, rejects a bad one while the last good keeps running, then applies the fix', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const head1 = git(repo, 'rev-parse', 'HEAD');
    const app = await start({ repo, stateDir: tempDir() });
    await app.waitForRevision(head1);
    expect(app.core.sourceState().lastAppliedRevision).toBe(head1);
    expect(app.core.status('Skill/a')?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');

    // A bad commit: the second document has an unknown field on line 7.
    writeFiles(repo, {
      'skills/b.yaml': skillYaml('b').replace('  version: "1.0.0"\n', '  version: "1.0.0"\n  bogus: 1\n'),
    });
    const bad = commitAll(repo, 'bad');
    await eventually(() => expect(app.core.sourceState().lastAttemptedRevision).toBe(bad));
    const state = app.core.sourceState();
    expect(state.lastAttemptOutcome).toBe('rejected');
    expect(state.lastAppliedRevision).toBe(head1);
    expect(state.lastAttemptErrors[0]).toMatchObject({ file: 'skills/b.yaml', line: 7, column: 3 });
    expect(app.core.status('Skill/b')).toBeUndefined();
    expect(app.reconciler.snapshot().revision).toBe(head1);
    const status = (await (await fetch(`${app.url}/status`)).json()) as { lastAttemptErrors: Array<{ file: string }> };
    expect(status.lastAttemptErrors[0]?.file).toBe('skills/b.yaml');

    writeFiles(repo, { 'skills/b.yaml': skillYaml('b') });
    const fixed = commitAll(repo, 'fix');
    await app.waitForRevision(fixed, 5000);
    expect(app.core.status('Skill/b')?.lastAppliedRevision).toBe(fixed);
    expect(app.core.events({ limit: 100 }).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['RevisionRejected', 'RevisionApplied', 'Created']),
    );
  });

  it('prunes resources removed from git through their controller', async () => {
    const seen: Array<[string, boolean]> = [];
    const recorder = (): Registration => {
      const c: Controller = {
        kind: 'Skill',
        reconcile: async (ctx, desired) => {
          seen.push([ctx.key, desired !== undefined]);
          return undefined;
        },
      };
      return { controllers: [c] };
    };
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a'), 'skills/b.yaml': skillYaml('b') });
    const app = await start({ repo, stateDir: tempDir(), registrations: [recorder] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    removeFiles(repo, 'skills/b.yaml');
    const head = commitAll(repo, 'remove b');
    await app.waitForRevision(head);
    expect(seen).toContainEqual(['Skill/b', false]);
    expect(app.core.appliedHashes().has('Skill/b')).toBe(false);
    expect(app.core.status('Skill/b')).toBeUndefined();
    expect(app.core.events({ object: 'Skill/b' }).map((e) => e.reason)).toContain('Pruned');
  });

  it('reads the commit, not the half-edited working tree', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    writeFiles(repo, { 'skills/a.yaml': 'this: is: not: valid' });
    const app = await start({ repo, stateDir: tempDir() });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect(app.core.sourceState().lastAttemptOutcome).toBe('accepted');
  });

  it('retries a failing resource with backoff without stalling the others', async () => {
    let failures = 0;
    const flaky = (): Registration => ({
      controllers: [
        {
          kind: 'Skill',
          reconcile: async (ctx) => {
            if (ctx.key === 'Skill/bad' && failures++ < 2) throw new Error('boom');
            return undefined;
          },
        },
      ],
    });
    const repo = makeRepo({ 'skills/bad.yaml': skillYaml('bad'), 'skills/good.yaml': skillYaml('good') });
    const app = await start({ repo, stateDir: tempDir(), registrations: [flaky], backoffBaseMs: 50 });
    await eventually(() => expect(app.core.status('Skill/good')?.conditions[0]?.status).toBe('True'), 2000);
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'), 5000);
    expect(failures).toBe(3);
    expect(app.core.status('Skill/bad')?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(app.core.events({ object: 'Skill/bad' }).map((e) => e.reason)).toContain('ReconcileFailed');
  });

  it('converges on a revert that lands while the reverted change is still being applied', async () => {
    const world = new Map<string, string>();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let slowStarted = false;
    const slow = (): Registration => ({
      controllers: [
        {
          kind: 'Skill',
          reconcile: async (ctx, desired) => {
            const run = (desired?.spec as { steps: Array<{ run: string }> } | undefined)?.steps[0]?.run ?? '(pruned)';
            if (run === 'echo slow') {
              slowStarted = true;
              await gate;
            }
            world.set(ctx.key, run);
            return undefined;
          },
        },
      ],
    });
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo, stateDir: tempDir(), registrations: [slow] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    writeFiles(repo, { 'skills/a.yaml': skillYaml('a', 'echo slow') });
    commitAll(repo, 'slow change');
    await eventually(() => expect(slowStarted).toBe(true));
    writeFiles(repo, { 'skills/a.yaml': skillYaml('a') });
    const reverted = commitAll(repo, 'revert');
    await eventually(() => expect(app.core.sourceState().lastAttemptedRevision).toBe(reverted));
    release();
    await app.waitForRevision(reverted);
    expect(world.get('Skill/a')).toBe('echo a');
    expect(app.core.appliedResource('Skill/a')?.spec).toMatchObject({ steps: [{ run: 'echo a' }] });
  });

  it('applies uncommitted edits in --worktree dev mode', async () => {
    const repo = makeRepo({ 'cfg/skills/a.yaml': skillYaml('a') });
    const app = await start({ repo, path: 'cfg', worktree: true, stateDir: tempDir() });
    await eventually(() => expect(app.reconciler.ready()).toBe(true));
    writeFiles(repo, { 'cfg/skills/b.yaml': skillYaml('b') });
    await eventually(() => expect(app.core.status('Skill/b')?.lastAppliedRevision).toMatch(/^worktree:/));
    expect(app.source.status()).toMatchObject({ mode: 'worktree', path: 'cfg' });
    expect(git(repo, 'status', '--porcelain')).toContain('cfg/skills/b.yaml');
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo, stateDir: tempDir() });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('caduceus_reconcile_duration_seconds_bucket');
    expect(metrics).toMatch(/caduceus_resources\{kind="Skill",ready="True"\} 1/);
    expect(metrics).toContain(`caduceus_applied_revision_info{revision="${git(repo, 'rev-parse', 'HEAD')}"} 1`);
  });
});

describe('reconciler end to end (remote repository)', () => {
  it('follows a force-push that rewrites history', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo: `file://${bare}`, stateDir: tempDir(), interval: 60_000 });
    await app.waitForRevision(git(clone, 'rev-parse', 'HEAD'));
    writeFiles(clone, { 'skills/a.yaml': skillYaml('a', 'echo rewritten') });
    git(clone, 'add', '-A');
    git(clone, 'commit', '-q', '--amend', '-m', 'rewritten');
    git(clone, 'push', '-q', '--force', 'origin', 'main');
    const rewritten = git(clone, 'rev-parse', 'HEAD');
    await app.source.fetchNow();
    await app.reconciler.requestSync();
    await app.waitForRevision(rewritten);
    expect(app.core.status('Skill/a')?.lastAppliedRevision).toBe(rewritten);
  });

  it('survives an unreachable remote and keeps the last revision applied', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo: `file://${bare}`, stateDir: tempDir(), interval: 60_000 });
    const head = git(clone, 'rev-parse', 'HEAD');
    await app.waitForRevision(head);
    renameSync(bare, `${bare}-gone`);
    await app.source.fetchNow().catch(() => undefined);
    await app.reconciler.requestSync();
    expect(app.source.status().fetchErrors).toBeGreaterThan(0);
    expect(app.source.status().lastFetchError).toContain('fetching file://');
    expect(app.core.sourceState().lastAppliedRevision).toBe(head);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    renameSync(`${bare}-gone`, bare);
  });

  it('fetches at once on a correctly signed webhook and ignores a bad signature', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': skillYaml('a') });
    const secret = 'webhook-secret-for-tests';
    const app = await start({
      repo: `file://${bare}`,
      stateDir: tempDir(),
      interval: 600_000,
      env: { CADUCEUS_WEBHOOK_SECRET: secret },
    });
    await app.waitForRevision(git(clone, 'rev-parse', 'HEAD'));
    writeFiles(clone, { 'skills/b.yaml': skillYaml('b') });
    const head = commitAll(clone, 'add b');
    git(clone, 'push', '-q', 'origin', 'main');
    const fetches = vi.spyOn(app.source, 'fetchNow');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: head });
    const bad = await fetch(`${app.url}/hooks/git`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      },
      body,
    });
    expect(bad.status).toBe(401);
    // A push is acted on before its answer is sent: refused, nothing was fetched.
    expect(fetches).not.toHaveBeenCalled();
    expect(app.core.status('Skill/b')).toBeUndefined();
    const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const good = await fetch(`${app.url}/hooks/git`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-2',
        'x-hub-signature-256': sig,
      },
      body,
    });
    expect(good.status).toBe(202);
    expect(fetches).toHaveBeenCalledTimes(1);
    await app.waitForRevision(head, 5000);
    expect(app.core.status('Skill/b')?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});
