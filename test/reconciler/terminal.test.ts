// Terminal outcomes end to end: a controller that says only a spec change can help is
// recorded once (Ready=False, Stalled=True, one event), left alone by resyncs and retries,
// quiet across a restart, and reconciled again as soon as its spec changes.

import { describe, expect, it } from 'vitest';
import type { Registration, Resource } from '../../reconciler/types.js';
import { commitAll, git, makeRepo, skillYaml, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { appStarter } from '../helpers/app.js';
import type { App } from '../../app/app.js';

const start = appStarter();

/** A Skill controller that finds `echo never` unworkable, counting its calls per key. */
function strict(calls: Map<string, number>): () => Registration {
  return () => ({
    controllers: [
      {
        kind: 'Skill',
        reconcile: async (ctx, desired: Resource | undefined) => {
          calls.set(ctx.key, (calls.get(ctx.key) ?? 0) + 1);
          const run = (desired?.spec as { steps: Array<{ run?: string }> } | undefined)?.steps[0]?.run;
          if (run === 'echo never') {
            return { terminal: { reason: 'InvalidSchedule' as const, message: `${ctx.key} asks for what cannot be` } };
          }
          return { requeueAfter: 60_000 };
        },
      },
    ],
  });
}

function condition(app: App, key: string, type: 'Ready' | 'Reconciling' | 'Stalled') {
  return app.core.status(key)?.conditions.find((c) => c.type === type);
}

function eventsOf(app: App, key: string): string[] {
  return app.core.events({ object: key, limit: 100 }).map((e) => `${e.type}/${e.reason}`);
}

describe('terminal outcomes', () => {
  it('records a terminal reason once with Stalled=True, retried neither on resync nor after a restart', async () => {
    const calls = new Map<string, number>();
    const repo = makeRepo({ 'skills/bad.yaml': skillYaml('bad', 'echo never'), 'skills/good.yaml': skillYaml('good') });
    const head = git(repo, 'rev-parse', 'HEAD');
    const stateDir = tempDir();
    const opts = { repo, stateDir, registrations: [strict(calls)], backoffBaseMs: 20 };
    let app = await start(opts);
    // A terminal resource has converged: the revision counts as applied.
    await app.waitForRevision(head);

    expect(condition(app, 'Skill/bad', 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSchedule',
      message: 'Skill/bad asks for what cannot be',
    });
    expect(condition(app, 'Skill/bad', 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSchedule' });
    expect(condition(app, 'Skill/bad', 'Reconciling')).toMatchObject({ status: 'False', reason: 'InvalidSchedule' });
    expect(condition(app, 'Skill/good', 'Ready')).toMatchObject({ status: 'True' });

    // Resyncs reconcile every other resource again; the stalled one is left alone.
    for (let i = 0; i < 2; i++) {
      app.reconciler.resync();
      await app.reconciler.idle();
    }
    expect(calls.get('Skill/good')).toBe(3);
    expect(calls.get('Skill/bad')).toBe(1);
    expect(eventsOf(app, 'Skill/bad')).toEqual(['Normal/Created', 'Warning/InvalidSchedule']);

    // A new process reconciles everything once (controllers rebuild their state) and finds
    // the same stall: recorded again, no second event, and no retry after that.
    await app.stop();
    app = await start(opts);
    await app.waitForRevision(head);
    app.reconciler.resync();
    await app.reconciler.idle();
    expect(calls.get('Skill/bad')).toBe(2);
    expect(condition(app, 'Skill/bad', 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSchedule' });
    expect(eventsOf(app, 'Skill/bad')).toEqual(['Normal/Created', 'Warning/InvalidSchedule']);
  });

  it('reconciles a stalled resource again when its spec changes, and stalls it again on a new bad spec', async () => {
    const calls = new Map<string, number>();
    const repo = makeRepo({ 'skills/bad.yaml': skillYaml('bad', 'echo never') });
    const app = await start({ repo, stateDir: tempDir(), registrations: [strict(calls)] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect(condition(app, 'Skill/bad', 'Stalled')).toMatchObject({ status: 'True' });

    writeFiles(repo, { 'skills/bad.yaml': skillYaml('bad', 'echo fixed') });
    await app.waitForRevision(commitAll(repo, 'fix the skill'));
    expect(calls.get('Skill/bad')).toBe(2);
    expect(condition(app, 'Skill/bad', 'Ready')).toMatchObject({ status: 'True', reason: 'ReconciliationSucceeded' });
    expect(condition(app, 'Skill/bad', 'Stalled')).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(eventsOf(app, 'Skill/bad')).toEqual([
      'Normal/Created',
      'Warning/InvalidSchedule',
      'Normal/Updated',
      'Normal/ReconciliationSucceeded',
    ]);

    writeFiles(repo, { 'skills/bad.yaml': skillYaml('bad', 'echo never', { description: 'Back to never' }) });
    await app.waitForRevision(commitAll(repo, 'break it again'));
    expect(calls.get('Skill/bad')).toBe(3);
    expect(condition(app, 'Skill/bad', 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSchedule' });
    expect(eventsOf(app, 'Skill/bad').filter((e) => e === 'Warning/InvalidSchedule')).toHaveLength(2);
  });

  it('stalls a real GatewayPolicy that configures no platform, and serves once one is added', async () => {
    const policy = (platforms: string): string => `apiVersion: caduceus.dev/v1
kind: GatewayPolicy
metadata:
  name: team
spec:
  platforms: ${platforms}
  roles:
    - name: ops
      users: ["webhook:ci"]
      permissions: {skills: [hello]}
`;
    const repo = makeRepo({ 'skills/hello.yaml': skillYaml('hello'), 'gateway.yaml': policy('{}') });
    const { gatewayModule } = await import('../../controllers/gateway/index.js');
    const app = await start({ repo, stateDir: tempDir(), registrations: [gatewayModule.register] });
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    expect(condition(app, 'GatewayPolicy/team', 'Stalled')).toMatchObject({ status: 'True', reason: 'NoPlatforms' });
    expect(condition(app, 'GatewayPolicy/team', 'Ready')).toMatchObject({ status: 'False', reason: 'NoPlatforms' });

    process.env.CADUCEUS_TERMINAL_TEST_SECRET = 'terminal-test-secret';
    writeFiles(repo, {
      'gateway.yaml': policy(
        '\n    webhook:\n      channels: [ops]\n      secret: {valueFrom: {env: CADUCEUS_TERMINAL_TEST_SECRET}}',
      ),
    });
    await app.waitForRevision(commitAll(repo, 'add the webhook platform'));
    expect(condition(app, 'GatewayPolicy/team', 'Ready')).toMatchObject({ status: 'True', reason: 'Serving' });
    expect(condition(app, 'GatewayPolicy/team', 'Stalled')).toMatchObject({ status: 'False' });
    delete process.env.CADUCEUS_TERMINAL_TEST_SECRET;
  });
});
