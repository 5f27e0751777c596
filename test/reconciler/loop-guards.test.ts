// The reconciler never applies half a revision and never prunes by accident: a state
// write that fails leaves the loop on the revision it had and is retried until it goes
// through; a commit without the followed directory is rejected; a revision that would
// prune everything, or most of what is applied, is held until someone allows it.

import { describe, expect, it } from 'vitest';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller, Registration } from '../../reconciler/types.js';
import { commitAll, git, makeRepo, removeFiles, skillYaml, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { eventually, waitFor } from '../helpers/wait.js';
import { appStarter } from '../helpers/app.js';
import type { SqliteDatabase } from '../../reconciler/state/sqlite-db.js';

/** A Skill controller that records every reconcile it is asked for: key, and the step it would run (or prune). */
function recorder(): { seen: string[]; registration: () => Registration } {
  const seen: string[] = [];
  const c: Controller = {
    kind: 'Skill',
    reconcile: async (ctx, desired) => {
      seen.push(
        desired
          ? `${ctx.key}:${(desired.spec as { steps: Array<{ run?: string }> }).steps[0]?.run}`
          : `${ctx.key}:pruned`,
      );
      return undefined;
    },
  };
  return { seen, registration: () => ({ controllers: [c] }) };
}

const start = appStarter();

describe('a state write that fails', () => {
  it('leaves the loop on the revision it had, says why, and applies the revision once writes go through', async () => {
    const rec = recorder();
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a', 'echo a1'), 'skills/b.yaml': skillYaml('b', 'echo b1') });
    const first = git(repo, 'rev-parse', 'HEAD');
    const app = await start({
      repo,
      stateDir: tempDir(),
      registrations: [rec.registration],
      backoffBaseMs: 100,
      backoffMaxMs: 400,
    });
    await app.waitForRevision(first);
    rec.seen.length = 0;

    // The database refuses every write from here on, as a full disk would.
    (app.store.db as SqliteDatabase).raw.pragma('query_only = ON');
    writeFiles(repo, { 'skills/a.yaml': skillYaml('a', 'echo a2'), 'skills/c.yaml': skillYaml('c', 'echo c1') });
    const second = commitAll(repo, 'a2 and c');
    const problem = await waitFor(() => app.reconciler.syncProblem(), 15_000, 'the failed sync');
    expect(problem.message).toMatch(/readonly/);
    // Nothing of the revision moved: no controller saw it, the snapshot is the old one.
    expect(app.reconciler.snapshot().revision).toBe(first);
    expect(rec.seen).toEqual([]);
    const status = (await (await fetch(`${app.url}/status`)).json()) as { syncProblem?: { message: string } };
    expect(status.syncProblem?.message).toMatch(/readonly/);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
    // Retried with backoff, not only on the next commit.
    await waitFor(() => (app.reconciler.syncProblem()?.failures ?? 0) >= 2, 15_000, 'a retry');

    (app.store.db as SqliteDatabase).raw.pragma('query_only = OFF');
    await app.waitForRevision(second, 15_000);
    expect(rec.seen.sort()).toEqual(['Skill/a:echo a2', 'Skill/c:echo c1']);
    expect(app.reconciler.syncProblem()).toBeUndefined();
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    expect(app.core.events({ limit: 50 }).map((e) => e.reason)).toContain('StateWriteFailed');
  });
});

describe('the followed path', () => {
  it('rejects a commit in which the configuration directory is gone, and prunes nothing', async () => {
    const rec = recorder();
    const repo = makeRepo({
      'config/a.yaml': skillYaml('a'),
      'config/b.yaml': skillYaml('b'),
      'config/c.yaml': skillYaml('c'),
    });
    const first = git(repo, 'rev-parse', 'HEAD');
    const app = await start({ repo, path: 'config', stateDir: tempDir(), registrations: [rec.registration] });
    await app.waitForRevision(first);
    rec.seen.length = 0;
    renameSync(join(repo, 'config'), join(repo, 'conf'));
    const renamed = commitAll(repo, 'rename the directory');
    await eventually(() => expect(app.core.sourceState().lastAttemptedRevision).toBe(renamed));
    expect(app.core.sourceState()).toMatchObject({ lastAttemptOutcome: 'rejected', lastAppliedRevision: first });
    expect(app.core.sourceState().lastAttemptErrors).toEqual([
      expect.objectContaining({ file: 'config', rule: 'path-not-found' }),
    ]);
    expect(rec.seen).toEqual([]);
    expect(
      app.core
        .allStatus()
        .map((s) => s.key)
        .sort(),
    ).toEqual(['Skill/a', 'Skill/b', 'Skill/c']);
    // Back under its name, the next commit is read in full again.
    renameSync(join(repo, 'conf'), join(repo, 'config'));
    writeFiles(repo, { 'config/d.yaml': skillYaml('d') });
    await app.waitForRevision(commitAll(repo, 'back, with d'), 10_000);
    expect(rec.seen).toEqual(['Skill/d:echo d']);
  });
});

describe('the prune guard', () => {
  const four = {
    'skills/a.yaml': skillYaml('a'),
    'skills/b.yaml': skillYaml('b'),
    'skills/c.yaml': skillYaml('c'),
    'skills/d.yaml': skillYaml('d'),
  };

  it('holds a revision that would prune everything, names what would go, lets it through once annotated', async () => {
    const rec = recorder();
    const repo = makeRepo(four);
    const app = await start({ repo, stateDir: tempDir(), registrations: [rec.registration] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    rec.seen.length = 0;
    removeFiles(repo, 'skills');
    const empty = commitAll(repo, 'remove everything');
    await eventually(() => expect(app.core.sourceState().lastAttemptOutcome).toBe('held'));
    const state = app.core.sourceState();
    expect(state.lastAttemptedRevision).toBe(empty);
    expect(state.lastAttemptMessage).toContain(
      'no resources and would prune every one: Skill/a, Skill/b, Skill/c, Skill/d',
    );
    const events = app.core.events({ limit: 50 }).filter((e) => e.reason === 'PruneGuard');
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toContain('Skill/a, Skill/b, Skill/c, Skill/d');
    expect(rec.seen).toEqual([]);
    expect(app.reconciler.snapshot().resources.size).toBe(4);
    // A resync or another look at the same revision does not hold it twice.
    app.reconciler.resync();
    await app.reconciler.idle();
    expect(app.core.events({ limit: 50 }).filter((e) => e.reason === 'PruneGuard')).toHaveLength(1);
    rec.seen.length = 0; // the resync reconciled the applied four again

    writeFiles(repo, {
      'runtime.yaml':
        'apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: rt\n' +
        '  annotations:\n    caduceus.dev/allow-prune: "true"\nspec: {}\n',
    });
    await app.waitForRevision(commitAll(repo, 'allowed'), 10_000);
    expect(rec.seen.sort()).toEqual(['Skill/a:pruned', 'Skill/b:pruned', 'Skill/c:pruned', 'Skill/d:pruned']);
  });

  it('holds a revision that prunes more than the limit, and applies it when up allows prunes', async () => {
    const repo = makeRepo(four);
    const stateDir = tempDir();
    const app = await start({ repo, stateDir, registrations: [recorder().registration] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    removeFiles(repo, 'skills/a.yaml', 'skills/b.yaml', 'skills/c.yaml');
    const most = commitAll(repo, 'remove three of four');
    await eventually(() => expect(app.core.sourceState().lastAttemptOutcome).toBe('held'));
    expect(app.core.sourceState().lastAttemptMessage).toContain('would prune 3 of 4 resources, more than 50%');
    await app.stop();

    const rec = recorder();
    const allowed = await start({ repo, stateDir, registrations: [rec.registration], pruneGuard: { allow: true } });
    await allowed.waitForRevision(most, 10_000);
    expect(rec.seen.filter((s) => s.endsWith(':pruned')).sort()).toEqual([
      'Skill/a:pruned',
      'Skill/b:pruned',
      'Skill/c:pruned',
    ]);
  });

  it('lets ordinary prunes through', async () => {
    const rec = recorder();
    const repo = makeRepo(four);
    const app = await start({ repo, stateDir: tempDir(), registrations: [rec.registration] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    removeFiles(repo, 'skills/a.yaml', 'skills/b.yaml');
    await app.waitForRevision(commitAll(repo, 'remove two of four'), 10_000);
    expect(rec.seen.filter((s) => s.endsWith(':pruned')).sort()).toEqual(['Skill/a:pruned', 'Skill/b:pruned']);
  });
});
