import { describe, it, expect, afterEach } from 'vitest';
import { runCurator } from '../../../controllers/curator/run.js';
import { defaultCuratorSpec } from '../../../controllers/curator/defaults.js';
import { prBody } from '../../../controllers/curator/report.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { git } from '../../helpers/git.js';
import { addRuns, makeFixture, usualRuns, FILES, type Fixture } from './fixtures.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.store.close();
});
function fixture(files: Record<string, string> = FILES): Fixture {
  const f = makeFixture(files);
  fixtures.push(f);
  return f;
}

const MULTI = `# Both fetchers live here.
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: fetch-prices
spec:
  version: "2.0.0"
  description: Download the price list from the supplier API
  params: []
  steps:
    - http: {method: GET, url: "https://supplier.example/api/prices.csv"}
    - run: python3 scripts/normalise_prices.py prices.csv
---
# kept for the old cron job
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: get-prices
  annotations:
    owner: finance
spec:
  version: "1.0.0"
  description: Download the price list from the supplier API
  steps:
    - http: {method: GET, url: "https://supplier.example/api/prices.csv"}
    - run: python3 scripts/normalise_prices.py prices.csv
---
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: price-report
spec:
  version: "1.0.0"
  description: Mail the weekly price report
  steps:
    - skill:
        name: get-prices   # reuse the fetcher
    - run: ./scripts/mail-report.sh
`;

const PROXY = `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: api
spec:
  keys:
    - valueFrom: {env: PROXY_KEY}
  preload:
    - get-prices
    - deploy
`;

describe('curator proposals', () => {
  it('merges skills that share a multi-document file and rewrites skill-call steps and proxy preloads', async () => {
    const f = fixture({ ...FILES, 'config/skills/prices.yaml': MULTI, 'config/proxy.yaml': PROXY });
    usualRuns(f.runs);
    addRuns(f.runs, 'fetch-prices', 9, 1);
    addRuns(f.runs, 'price-report', 5, 1);
    const report = await runCurator(f.env, { dryRun: true });
    expect(report.proposals.map((p) => p.title)).toContain('merge skill get-prices into fetch-prices');
    const diff = report.diff as string;
    const prices = diff.slice(
      diff.indexOf('--- a/skills/prices.yaml'),
      diff.indexOf('diff --git', diff.indexOf('--- a/skills/prices.yaml')),
    );
    // Only the merged document goes, the kept one gains its alias, the call is rewritten.
    expect(prices.split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l))).toEqual([
      ...MULTI.slice(
        MULTI.indexOf('---\n# kept'),
        MULTI.indexOf('---\napiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: price-report'),
      )
        .trimEnd()
        .split('\n')
        .map((l) => `-${l}`),
      '+  aliases:',
      '+    - get-prices',
      '-        name: get-prices   # reuse the fetcher',
      '+        name: fetch-prices   # reuse the fetcher',
    ]);
    expect(prices).toContain('+  aliases:\n+    - get-prices\n');
    expect(prices).toContain(
      '-        name: get-prices   # reuse the fetcher\n+        name: fetch-prices   # reuse the fetcher',
    );
    expect(diff).toContain('--- a/proxy.yaml\n+++ b/proxy.yaml');
    expect(diff).toContain('-    - get-prices\n+    - fetch-prices\n');
    // The merged document is archived on its own, with its comment and annotations.
    expect(diff).toMatch(
      new RegExp(
        String.raw`\+\+\+ b/archive/skills/get-prices\.yaml\n@@ [^\n]+\n` +
          String.raw`\+# kept for the old cron job\n\+apiVersion: caduceus.dev/v1\n\+kind: Skill\n`,
      ),
    );
  });

  it('deletes instead of archiving with archive: false', async () => {
    const f = fixture();
    usualRuns(f.runs);
    const report = await runCurator(f.env, { spec: { ...defaultCuratorSpec(), archive: false, actions: ['prune'] } });
    expect(report.proposals.map((p) => p.title)).toEqual(['remove unused skill old-report']);
    expect(git(f.bare, 'show', '--format=', '--name-status', report.branch as string)).toBe(
      'D\tconfig/skills/old-report.yaml',
    );
  });

  it('pushes nothing when its own edits would break validation, and says which lines', async () => {
    // Similar skills whose enum params disagree: the task's value is valid only for the merged one.
    const files = {
      ...FILES,
      'config/skills/deploy.yaml': FILES['config/skills/deploy.yaml']!.replace(
        '      default: staging\n',
        '      default: staging\n    - name: mode\n      type: enum\n      values: [fast, safe]\n      default: safe\n',
      ),
      'config/skills/deploy-app.yaml': FILES['config/skills/deploy-app.yaml']!.replace(
        '      default: staging\n',
        '      default: staging\n' +
          '    - name: mode\n      type: enum\n      values: [quick, careful]\n      default: careful\n',
      ),
      'config/tasks/release.yaml': FILES['config/tasks/release.yaml']!.replace(
        '        region: eu-west-1\n',
        '        region: eu-west-1\n        mode: quick\n',
      ),
    };
    const f = fixture(files);
    usualRuns(f.runs);
    const refs = f.remoteRefs();
    const report = await runCurator(f.env);
    expect(report.outcome, report.message).toBe('invalid');
    expect(report.message).toBe('the proposals would leave 1 validation error(s); nothing was pushed');
    expect(report.findings).toEqual([expect.stringMatching(/^tasks\/release\.yaml:13:\d+ .*mode.*\(param-type\)$/)]);
    expect(f.remoteRefs()).toBe(refs);
    expect(new CuratorStore(f.store).lastReport()?.outcome).toBe('invalid');
  });

  it('refuses an archive folder the loader would still read', async () => {
    const f = fixture();
    usualRuns(f.runs);
    const refs = f.remoteRefs();
    const report = await runCurator(f.env, {
      spec: { ...defaultCuratorSpec(), archiveDir: 'attic', actions: ['prune'] },
    });
    expect(report.outcome, report.message).toBe('invalid');
    expect(report.message).toMatch(/archiveDir "attic" is read by the loader/);
    expect(report.findings).toEqual([
      'attic/skills/old-report.yaml:1:1  Skill/old-report would still be loaded after archiving',
    ]);
    expect(f.remoteRefs()).toBe(refs);
  });

  it('flags skills whose failure rate is over the threshold and lists stale ones in the PR body', async () => {
    const f = fixture();
    usualRuns(f.runs);
    addRuns(f.runs, 'rotate-keys', 4, 9, 3);
    const report = await runCurator(f.env, { dryRun: true });
    expect(report.flagged).toEqual([{ name: 'rotate-keys', runs: 4, failures: 3, failureRate: 0.75 }]);
    expect(report.stale.map((s) => s.name)).toEqual(['rotate-keys']);
    const body = prBody({
      proposals: [],
      stale: [{ name: 'rotate-keys', lastUsed: Date.UTC(2026, 10, 16) } as never],
      flagged: [{ name: 'rotate-keys', runs: 4, failures: 3, failureRate: 0.75 } as never],
      thresholds: defaultCuratorSpec().thresholds,
      revision: 'abcdef0123456789',
    });
    expect(body).toContain(
      '### Marked stale\nUnused for at least 7d; proposed for archiving once unused for 14d:\n\n' +
        '- `rotate-keys`: last used 2026-11-16',
    );
    expect(body).toContain('### Flagged: failure rate over 0.5\n\n- `rotate-keys`: 3 of 4 runs failed (75 %)');
  });
});
