import { describe, it, expect, afterEach } from 'vitest';
import type { Controller, Observed, Resource } from '../../../reconciler/types.js';
import { harness, runtime, skill, snapshot, recordingContext, type Harness } from './helpers.js';
import { execFileSync } from 'node:child_process';
import { dpkgInstalled, isPresent, onPath } from '../../../controllers/execution/prerequisites.js';
import { summarise } from '../../../reconciler/summarise.js';
import { withHostLock } from '../../helpers/host-lock.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const none: Observed = { status: undefined };

function controller(kind: 'Runtime' | 'Skill'): Controller {
  const c = h?.reg.controllers.find((x) => x.kind === kind);
  if (!c) throw new Error(`no ${kind} controller`);
  return c;
}

async function reconcile(kind: 'Runtime' | 'Skill', res: Resource, all: Resource[]) {
  const rec = recordingContext(`${kind}/${res.metadata.name}`, snapshot(all));
  const out = await controller(kind).reconcile(rec.ctx, res, none);
  return { rec, out };
}

describe('Runtime prerequisites', () => {
  it('is Ready when every prerequisite package is installed', async () => {
    const rt = runtime({ prerequisites: { packages: ['coreutils', 'git'] } });
    h = harness([rt]);
    const { rec } = await reconcile('Runtime', rt, [rt]);
    expect(rec.ready()).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(rec.observed.missingPackages).toEqual([]);
  });

  it('reports a made-up package as MissingPrerequisite, names it, checks again later without throwing', async () => {
    const rt = runtime({ prerequisites: { packages: ['coreutils', 'caduceus-no-such-package-x1'] } });
    h = harness([rt]);
    const { rec, out } = await reconcile('Runtime', rt, [rt]);
    expect(rec.ready()).toMatchObject({ status: 'False', reason: 'MissingPrerequisite' });
    expect(rec.ready()?.message).toContain('caduceus-no-such-package-x1');
    expect(rec.ready()?.message).not.toContain('coreutils');
    expect(out).toMatchObject({ requeueAfter: expect.any(Number) });
    // The loop turns Ready=False into a Warning event with the same reason, once.
    const summary = summarise({
      key: 'Runtime/default',
      revision: 'r1',
      desired: rt,
      driven: true,
      outcome: { kind: 'done' },
      set: { conditions: rec.conditions, events: rec.events },
      previous: undefined,
      appliedHash: undefined,
    });
    expect(summary.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'MissingPrerequisite', message: rec.ready()?.message }),
    );
  });

  it('counts a package as present when its command is on PATH (sh) and not when neither exists', async () => {
    expect(await isPresent('sh')).toBe(true);
    expect(await isPresent('caduceus-no-such-command')).toBe(false);
  });

  it('with autoInstall tries apt-get, shows its failure in events and status, stays MissingPrerequisite', async () => {
    const rt = runtime({ prerequisites: { packages: ['caduceus-no-such-package-x2'], autoInstall: true } });
    h = harness([rt]);
    const { rec } = await reconcile('Runtime', rt, [rt]);
    expect(rec.events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['InstallingPrerequisites', 'PrerequisiteInstallFailed']),
    );
    expect(rec.ready()).toMatchObject({ status: 'False', reason: 'MissingPrerequisite' });
    expect(rec.observed.lastInstall).toMatchObject({ ok: false, packages: 'caduceus-no-such-package-x2' });
    // The failed install is remembered: the next reconcile reports without running apt-get again.
    const again = await reconcile('Runtime', rt, [rt]);
    expect(again.rec.events.map((e) => e.reason)).not.toContain('InstallingPrerequisites');
  }, 120_000);

  // A real apt-get install of Debian's `hello` (a few kB) beside a name no package has: as
  // root with apt available only; the machine is left as it was found. The machine's packages
  // are shared: another suite running this test at once takes its turn on a host-wide lock
  // (one suite removing `hello` while the other installs it would change both outcomes), and
  // the removals wait for dpkg's lock like the install does (apt's DPkg::Lock::Timeout).
  const isDpkgInstalled = async (pkg: string): Promise<boolean> => (await dpkgInstalled([pkg])).has(pkg);
  const canApt = process.getuid?.() === 0 && onPath('apt-get') && onPath('dpkg') && onPath('flock');
  const removeHello = (): void => {
    execFileSync('apt-get', ['remove', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'hello'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  it.runIf(canApt)(
    'installs every package it can and reports only the one that does not exist',
    () =>
      withHostLock('caduceus-test-packages', async () => {
        const hadHello = await isDpkgInstalled('hello');
        if (hadHello) removeHello();
        try {
          expect(await isDpkgInstalled('hello')).toBe(false);
          const rt = runtime({
            prerequisites: { packages: ['caduceus-no-such-package-x3', 'hello'], autoInstall: true },
          });
          h = harness([rt]);
          const { rec } = await reconcile('Runtime', rt, [rt]);
          expect(await isDpkgInstalled('hello')).toBe(true);
          expect(rec.events.filter((e) => e.reason === 'PrerequisitesInstalled').map((e) => e.message)).toEqual([
            'installed hello',
          ]);
          const failed = rec.events.filter((e) => e.reason === 'PrerequisiteInstallFailed').map((e) => e.message);
          expect(failed).toEqual([
            expect.stringMatching(/^apt-get install caduceus-no-such-package-x3 failed: apt knows no/),
          ]);
          expect(rec.ready()).toMatchObject({ status: 'False', reason: 'MissingPrerequisite' });
          expect(rec.ready()?.message).toMatch(/^missing packages: caduceus-no-such-package-x3 \(/);
          expect(rec.observed.missingPackages).toEqual(['caduceus-no-such-package-x3']);
          expect(rec.observed.lastInstall).toMatchObject({
            installed: ['hello'],
            failed: ['caduceus-no-such-package-x3'],
          });
        } finally {
          if (!hadHello) removeHello();
        }
      }),
    300_000,
  );
});

describe('Skill controller', () => {
  it('marks a local skill Ready and one calling a missing skill not Ready', async () => {
    const ok = skill('ok', { steps: [{ run: 'true' }] });
    const broken = skill('broken', { steps: [{ skill: { name: 'ghost' } }] });
    h = harness([ok, broken]);
    expect((await reconcile('Skill', ok, [ok, broken])).rec.ready()).toMatchObject({ status: 'True', reason: 'Ready' });
    expect((await reconcile('Skill', broken, [ok, broken])).rec.ready()).toMatchObject({
      status: 'False',
      reason: 'UnknownSkill',
    });
  });

  it('does nothing when a skill is pruned', async () => {
    h = harness([]);
    const rec = recordingContext('Skill/gone', snapshot([]));
    await controller('Skill').reconcile(rec.ctx, undefined, none);
    expect(rec.conditions).toEqual([]);
  });
});
