import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../../helpers/git.js';
import { runCurator } from '../../../controllers/curator/run.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { StateStore } from '../../../reconciler/state/store.js';
import type { CuratorReport } from '../../../controllers/curator/types.js';
import { addRuns, FILES, makeFixture, usualRuns, type Fixture } from './fixtures.js';

// Every test has its own remote, clone and state directory, so the tests of each describe
// run at once (their git work overlaps), each given two minutes as they share the CPU; the
// stores close when the file is done.
const AT_ONCE = { timeout: 120_000 };
const fixtures: Fixture[] = [];
afterAll(() => {
  for (const f of fixtures.splice(0)) f.store.close();
});
function fixture(...args: Parameters<typeof makeFixture>): Fixture {
  const f = makeFixture(...args);
  fixtures.push(f);
  return f;
}

/** Lines added and removed by a commit, without the diff headers. */
function changedLines(repo: string, commit: string): string[] {
  return git(repo, 'show', '--format=', '--unified=0', '--no-renames', commit)
    .split('\n')
    .filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
}

describe.concurrent('curator run (branch-only forge)', AT_ONCE, () => {
  it('proposes a consolidation and a prune as one commit each on a curator branch, leaving main alone', async ({
    expect,
  }) => {
    const f = fixture();
    usualRuns(f.runs);
    const mainBefore = f.mainSha();
    const report = await runCurator(f.env, { trigger: 'test' });
    expect(report.message).toBe('');
    expect(report.outcome, report.message).toBe('proposed');
    expect(f.mainSha()).toBe(mainBefore);
    const branch = report.branch as string;
    expect(branch).toMatch(/^curator\/\d{4}-\d{2}-\d{2}$/);
    const log = git(f.bare, 'log', '--format=%s', `main..${branch}`).split('\n').reverse();
    expect(log).toEqual(['curator: merge skill deploy-app into deploy', 'curator: archive unused skill old-report']);
    expect(report.proposals.map((p) => p.action)).toEqual(['consolidate', 'prune']);

    const [merge, prune] = git(f.bare, 'rev-list', '--reverse', `main..${branch}`).split('\n') as [string, string];
    const body = git(f.bare, 'show', '-s', '--format=%B', merge);
    expect(body).toMatch(/merge deploy-app: similarity 0\.96 \(threshold 0\.8\), 2 runs in the window/);
    expect(body).toMatch(/Curator-Proposal: [0-9a-f]{12}/);

    // Only the intended lines change: references, aliases, the new param, the moved file.
    expect(changedLines(f.bare, merge).sort()).toEqual(
      [
        '+      skill: deploy',
        '-      skill: deploy-app',
        '-        skills: [deploy, deploy-app]   # both names, for now',
        '+        skills: [deploy]   # both names, for now',
        '-          - deploy-app',
        '+          - deploy',
        '+  aliases:',
        '+    - deploy-app',
        '+    - name: region',
        '+      type: string',
        '+      required: false',
        ...git(f.bare, 'show', `${mainBefore}:config/skills/deploy-app.yaml`)
          .split('\n')
          .map((l) => `+${l}`),
        ...git(f.bare, 'show', `${mainBefore}:config/skills/deploy-app.yaml`)
          .split('\n')
          .map((l) => `-${l}`),
      ]
        .filter((l) => l !== '+' && l !== '-')
        .sort(),
    );
    const deploy = git(f.bare, 'show', `${branch}:config/skills/deploy.yaml`);
    expect(deploy).toContain('# Deploys the app. Owned by the platform team.');
    expect(deploy).toContain('    # build first');
    expect(git(f.bare, 'show', `${branch}:config/archive/skills/deploy-app.yaml`)).toContain('an older copy of deploy');
    expect(git(f.bare, 'show', `${branch}:config/tasks/release.yaml`)).toContain(
      '    - name: ship   # the main step\n      skill: deploy\n',
    );

    expect(git(f.bare, 'show', '--format=', '--name-status', prune)).toBe(
      'R100\tconfig/skills/old-report.yaml\tconfig/archive/skills/old-report.yaml',
    );
    // Pinned and referenced skills are never touched.
    const touched = git(f.bare, 'diff', '--name-only', `main...${branch}`);
    expect(touched).not.toContain('keepsake');
    expect(touched).not.toContain('rotate-keys');
    expect(report.skipped).toEqual(
      expect.arrayContaining([
        { action: 'prune', skills: ['keepsake'], reason: expect.stringContaining('pinned') },
        { action: 'prune', skills: ['rotate-keys'], reason: 'referenced by Task/release' },
      ]),
    );

    const cstore = new CuratorStore(f.store);
    const open = cstore.proposals({ state: 'open' });
    expect(open.map((p) => p.action)).toEqual(['consolidate', 'prune']);
    expect(open[0]?.diff).toContain('+  aliases:');
    expect(cstore.lastReport()?.runId).toBe(report.runId);
  });
});

describe.concurrent('curator re-runs and reviews', AT_ONCE, () => {
  it('finds its own branch on a re-run and pushes nothing when nothing changed', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    const first = await runCurator(f.env);
    const refs = f.remoteRefs();
    const second = await runCurator(f.env);
    expect(second.outcome, second.message).toBe('unchanged');
    expect(second.branch).toBe(first.branch);
    expect(f.remoteRefs()).toBe(refs);
    expect(git(f.bare, 'rev-list', '--count', `main..${first.branch}`)).toBe('2');
    expect(new CuratorStore(f.store).proposals({ state: 'open' })).toHaveLength(2);
  });

  it('rebuilds its branch on the new tip with a lease when main moved, and never touches main', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    const first = await runCurator(f.env);
    f.pushMain({ 'config/README.md': 'notes\n' }, 'unrelated change');
    const main = f.mainSha();
    const second = await runCurator(f.env);
    expect(second.outcome, second.message).toBe('proposed');
    expect(second.branch).toBe(first.branch);
    expect(f.mainSha()).toBe(main);
    expect(git(f.bare, 'merge-base', 'main', first.branch as string)).toBe(main);
    expect(git(f.bare, 'rev-list', '--count', `main..${first.branch}`)).toBe('2');
  });

  it('remembers a proposal closed without merging and proposes it again only after the skill changed', async ({
    expect,
  }) => {
    const f = fixture();
    usualRuns(f.runs);
    const first = await runCurator(f.env);
    // A reviewer rejects the branch: without a forge API, deleting the branch closes it.
    git(f.bare, 'branch', '-D', first.branch as string);
    const second = await runCurator(f.env);
    expect(second.outcome, second.message).toBe('nothing');
    expect(second.skipped.filter((s) => s.reason.startsWith('closed without merging')).map((s) => s.skills[0])).toEqual(
      ['deploy', 'old-report'],
    );
    expect(git(f.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/curator/')).toBe('');
    const cstore = new CuratorStore(f.store);
    expect(cstore.proposals({ state: 'closed' })).toHaveLength(2);

    f.pushMain(
      { 'config/skills/old-report.yaml': FILES['config/skills/old-report.yaml']!.replace('0.1.0', '0.1.1') },
      'bump old-report',
    );
    const third = await runCurator(f.env);
    expect(third.outcome, third.message).toBe('proposed');
    expect(third.proposals.map((p) => p.title)).toEqual(['archive unused skill old-report']);
    expect(third.branch).toBe(`${first.branch}-2`);
    expect(git(f.bare, 'log', '--format=%s', `main..${third.branch}`)).toBe('curator: archive unused skill old-report');
  });

  it('pushes nothing when the resulting tree does not pass validation, and says why', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    f.pushMain(
      {
        'config/tasks/broken.yaml':
          'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: broken\n' +
          'spec:\n  subtasks:\n    - name: a\n      skill: ghost\n',
      },
      'broken task',
    );
    const refs = f.remoteRefs();
    const report = await runCurator(f.env);
    expect(report.outcome, report.message).toBe('invalid');
    expect(report.message).toMatch(/does not pass validation .*nothing is pushed/);
    expect(report.findings.join('\n')).toMatch(/tasks\/broken\.yaml:8:\d+ .*ghost.*\(unknown-skill\)/);
    expect(f.remoteRefs()).toBe(refs);
    const cstore = new CuratorStore(f.store);
    expect(cstore.proposals()).toHaveLength(0);
    expect(cstore.lastReport()?.outcome).toBe('invalid');
  });

  it('never proposes a pinned skill, even as a near-duplicate', async ({ expect }) => {
    const files = {
      ...FILES,
      'config/skills/deploy-app.yaml': FILES['config/skills/deploy-app.yaml']!.replace(
        'metadata:\n',
        'metadata:\n  labels:\n    caduceus.dev/pinned: "true"\n',
      ),
    };
    const f = fixture(files);
    usualRuns(f.runs);
    const report = await runCurator(f.env);
    expect(report.proposals.map((p) => p.title)).toEqual(['archive unused skill old-report']);
    expect(git(f.bare, 'diff', '--no-renames', '--name-only', `main...${report.branch}`)).toBe(
      'config/archive/skills/old-report.yaml\nconfig/skills/old-report.yaml',
    );
  });
});

describe.concurrent('curator dry-run and locking', AT_ONCE, () => {
  it('a dry-run prints proposals and the diff and touches nothing', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    const refs = f.remoteRefs();
    const report = await runCurator(f.env, { dryRun: true });
    expect(report.outcome, report.message).toBe('dry-run');
    expect(report.proposals).toHaveLength(2);
    expect(report.diff).toContain('--- a/tasks/release.yaml\n+++ b/tasks/release.yaml');
    expect(report.diff).toContain('-      skill: deploy-app\n+      skill: deploy\n');
    expect(report.diff).toContain('rename from skills/old-report.yaml\nrename to archive/skills/old-report.yaml');
    expect(f.remoteRefs()).toBe(refs);
    expect(existsSync(join(f.stateDir, 'curator', 'clone'))).toBe(false);
    const cstore = new CuratorStore(f.store);
    expect(cstore.proposals()).toHaveLength(0);
    expect(cstore.lastReport()).toBeUndefined();
  });

  it('a dry-run of a directory reads the files in place', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    const report = await runCurator({ ...f.env, source: { dir: join(f.work, 'config') } }, { dryRun: true });
    expect(report.outcome, report.message).toBe('dry-run');
    expect(report.proposals.map((p) => p.action)).toEqual(['consolidate', 'prune']);
    expect(git(f.work, 'status', '--porcelain')).toBe('');
  });

  it('serialises concurrent runs through the lock in the state store', async ({ expect }) => {
    const f = fixture();
    usualRuns(f.runs);
    const other = new StateStore({ stateDir: f.stateDir });
    try {
      const reports = await Promise.all([runCurator(f.env), runCurator({ ...f.env, store: other })]);
      expect(reports.map((r) => r.outcome).sort()).toEqual(['proposed', 'unchanged']);
      const [a, b] = [...reports].sort((x, y) => x.finishedAt - y.finishedAt) as [CuratorReport, CuratorReport];
      expect(b.startedAt + b.timings.fetch! <= b.finishedAt).toBe(true);
      expect(a.finishedAt).toBeLessThanOrEqual(b.finishedAt);
      expect(git(f.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/curator/').split('\n')).toHaveLength(1);
      expect(git(f.bare, 'rev-list', '--count', `main..${a.branch}`)).toBe('2');
    } finally {
      other.close();
    }
  });

  it('refuses to start while another live run holds the lock, and takes over a stale lock', async ({ expect }) => {
    const f = fixture();
    const cstore = new CuratorStore(f.store);
    expect(cstore.tryLock('someone-else', 60_000)).toBe(true);
    await expect(runCurator(f.env, { lockWaitMs: 0 })).rejects.toMatchObject({ code: 'CuratorBusy' });
    cstore.unlock('someone-else');
    expect(cstore.tryLock('crashed-run', 60_000, Date.now() - 120_000)).toBe(true);
    const report = await runCurator(f.env, { lockWaitMs: 0 });
    expect(report.outcome).not.toBe('failed');
  });
});

/** An Agent Skills folder's SKILL.md. */
const skillMd = (name: string, description: string, body: string): string =>
  `---\nname: ${name}\ndescription: ${description}\n---\n${body}\n`;

const TRIAGE = `Read the open incidents, follow the suspect deploy to its config change, compare it with
the service's config, and write the finding up in a file named after the incident. Run
scripts/pool.sh on the service config to see the connection pool.`;

describe('curator run over SKILL.md skills', () => {
  it('merges a near-duplicate on its instructions and archives an unused one, each folder whole', async () => {
    const f = fixture({
      'config/skills/incident-triage/SKILL.md': skillMd('incident-triage', 'Triage an incident', TRIAGE),
      'config/skills/incident-triage/scripts/pool.sh': 'grep maxConnections "$1"\n',
      'config/skills/incident-review/SKILL.md': skillMd(
        'incident-review',
        'Triage an incident',
        TRIAGE.replace('write the finding up', 'write the findings up'),
      ),
      'config/skills/incident-review/references/runbook.md': '# Runbook\n',
      'config/skills/fire-drill/SKILL.md': skillMd('fire-drill', 'Yearly fire drill', 'Run scripts/drill.sh.'),
      'config/skills/fire-drill/scripts/drill.sh': 'echo drill\n',
      'config/tasks/weekly.yaml': [
        'apiVersion: caduceus.dev/v1',
        'kind: Task',
        'metadata:',
        '  name: weekly',
        'spec:',
        '  subtasks:',
        '    - name: review',
        '      skill: incident-review',
        '',
      ].join('\n'),
    });
    // Usage counts their runs like any skill's: triage is busy, review barely used, the drill long idle.
    addRuns(f.runs, 'incident-triage', 20, 1);
    addRuns(f.runs, 'incident-review', 2, 3);
    addRuns(f.runs, 'fire-drill', 1, 40);
    const report = await runCurator(f.env, { trigger: 'test' });
    expect(report.outcome, report.message).toBe('proposed');
    const branch = report.branch as string;
    expect(git(f.bare, 'log', '--format=%s', `main..${branch}`).split('\n').reverse()).toEqual([
      'curator: merge skill incident-review into incident-triage',
      'curator: archive unused skill fire-drill',
    ]);
    const [merge, prune] = git(f.bare, 'rev-list', '--reverse', `main..${branch}`).split('\n') as [string, string];
    expect(git(f.bare, 'show', '-s', '--format=%B', merge)).toMatch(
      /merge incident-review: similarity 0\.\d+ \(threshold 0\.8\), 2 runs in the window/,
    );
    // The merged folder goes whole to the archive; its caller now names the skill that stays.
    expect(git(f.bare, 'show', '--format=', '--name-status', merge).split('\n').sort()).toEqual([
      'M\tconfig/tasks/weekly.yaml',
      'R100\tconfig/skills/incident-review/SKILL.md\tconfig/archive/skills/incident-review/SKILL.md',
      'R100\tconfig/skills/incident-review/references/runbook.md\t' +
        'config/archive/skills/incident-review/references/runbook.md',
    ]);
    const weekly = git(f.bare, 'show', `${branch}:config/tasks/weekly.yaml`);
    expect(weekly.split('\n').slice(-2)).toEqual(['    - name: review', '      skill: incident-triage']);
    expect(git(f.bare, 'show', '--format=', '--name-status', prune).split('\n').sort()).toEqual([
      'R100\tconfig/skills/fire-drill/SKILL.md\tconfig/archive/skills/fire-drill/SKILL.md',
      'R100\tconfig/skills/fire-drill/scripts/drill.sh\tconfig/archive/skills/fire-drill/scripts/drill.sh',
    ]);
    expect(git(f.bare, 'diff', '--name-only', `main...${branch}`)).not.toContain('incident-triage');
  });
});
