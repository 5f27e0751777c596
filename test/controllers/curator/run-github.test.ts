import { describe, it, expect, afterEach } from 'vitest';
import { runCurator } from '../../../controllers/curator/run.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { defaultCuratorSpec } from '../../../controllers/curator/defaults.js';
import type { CuratorSpec } from '../../../reconciler/specs.js';
import { git } from '../../helpers/git.js';
import { FILES, makeFixture, usualRuns, type Fixture } from './fixtures.js';
import { startForgeServer, type ForgeServer, type Recorded } from './forge-server.js';

/** Enough of GitHub's pulls API to hold pull requests between runs. */
function fakeGitHub(): {
  handler: (r: Recorded) => { status: number; body?: unknown };
  pulls: Array<Record<string, unknown>>;
} {
  const pulls: Array<Record<string, unknown>> = [];
  const handler = (r: Recorded): { status: number; body?: unknown } => {
    if (r.headers.authorization !== 'Bearer ghp_test') return { status: 401, body: { message: 'Bad credentials' } };
    const url = new URL(r.path, 'http://x');
    if (r.method === 'GET' && url.pathname === '/repos/acme/config/pulls') {
      const head = url.searchParams.get('head');
      return { status: 200, body: pulls.filter((p) => `acme:${(p.head as { ref: string }).ref}` === head) };
    }
    if (r.method === 'POST' && url.pathname === '/repos/acme/config/pulls') {
      const b = r.body as { title: string; head: string; base: string; body: string };
      const pr = {
        number: pulls.length + 1,
        html_url: `https://github.example/acme/config/pull/${pulls.length + 1}`,
        state: 'open',
        merged_at: null,
        title: b.title,
        body: b.body,
        head: { ref: b.head },
        base: { ref: b.base },
      };
      pulls.push(pr);
      return { status: 201, body: pr };
    }
    const m = /^\/repos\/acme\/config\/(pulls|issues)\/(\d+)(\/labels)?$/.exec(url.pathname);
    const pr = m ? pulls[Number(m[2]) - 1] : undefined;
    if (!pr) return { status: 404, body: { message: 'Not Found' } };
    if (r.method === 'GET') return { status: 200, body: pr };
    if (r.method === 'PATCH') return { status: 200, body: Object.assign(pr, r.body as object) };
    if (r.method === 'POST' && m?.[3])
      return { status: 200, body: (r.body as { labels: string[] }).labels.map((name) => ({ name })) };
    return { status: 405 };
  };
  return { handler, pulls };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe('curator run with the GitHub forge', () => {
  it('opens one labelled pull request, leaves it alone on an unchanged re-run, and honours its closing', async () => {
    const gh = fakeGitHub();
    const server: ForgeServer = await startForgeServer(gh.handler);
    const f: Fixture = makeFixture();
    cleanup.push(
      () => server.close(),
      () => f.store.close(),
    );
    usualRuns(f.runs);
    const spec: CuratorSpec = {
      ...defaultCuratorSpec(),
      forge: {
        type: 'github',
        url: server.url,
        repo: 'acme/config',
        token: { valueFrom: { env: 'CURATOR_GH_TOKEN' } },
      },
      labels: ['curator', 'skills'],
    };
    const env = { ...f.env, env: { CURATOR_GH_TOKEN: 'ghp_test' } };

    const first = await runCurator(env, { spec });
    expect(first.outcome, first.message).toBe('proposed');
    const branch = first.branch as string;
    const head = encodeURIComponent(`acme:${branch}`);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /repos/acme/config/pulls?head=${head}&state=all`,
      'POST /repos/acme/config/pulls',
      'POST /repos/acme/config/issues/1/labels',
    ]);
    const post = server.requests[1] as Recorded;
    expect(post.body).toMatchObject({ title: 'Curator: skill library proposals', head: branch, base: 'main' });
    const body = (post.body as { body: string }).body;
    expect(body).toContain('| id | action | skills | evidence | files |');
    expect(body).toMatch(/\| `[0-9a-f]{12}` \| consolidate \| deploy, deploy-app \| keep deploy: 20 runs/);
    expect(body).toContain('`tasks/release.yaml`');
    expect(body).toMatch(/### Marked stale[\s\S]*- `rotate-keys`: last used never/);
    expect(server.requests[2]?.body).toEqual({ labels: ['curator', 'skills'] });
    expect(first.pr).toEqual({ number: 1, url: 'https://github.example/acme/config/pull/1' });
    expect(new CuratorStore(f.store).proposals({ state: 'open' }).map((p) => p.prNumber)).toEqual([1, 1]);

    server.requests.length = 0;
    const second = await runCurator(env, { spec });
    expect(second.outcome, second.message).toBe('unchanged');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/acme/config/pulls/1',
      `GET /repos/acme/config/pulls?head=${head}&state=all`,
    ]);
    expect(gh.pulls).toHaveLength(1);

    // The reviewer closes the pull request without merging.
    Object.assign(gh.pulls[0] as object, { state: 'closed' });
    git(f.bare, 'branch', '-D', branch);
    server.requests.length = 0;
    const third = await runCurator(env, { spec });
    expect(third.outcome, third.message).toBe('nothing');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/config/pulls/1']);
    expect(third.skipped.filter((s) => s.reason.includes('closed without merging in PR #1'))).toHaveLength(2);
    expect(gh.pulls).toHaveLength(1);
  });

  it('updates its open pull request when the branch is rebuilt; survives a forge outage after a push', async () => {
    const gh = fakeGitHub();
    let down = true;
    const server: ForgeServer = await startForgeServer((r) =>
      down && r.method === 'POST' ? { status: 502, body: { message: 'Bad Gateway' } } : gh.handler(r),
    );
    const f: Fixture = makeFixture();
    cleanup.push(
      () => server.close(),
      () => f.store.close(),
    );
    usualRuns(f.runs);
    const spec: CuratorSpec = {
      ...defaultCuratorSpec(),
      forge: {
        type: 'github',
        url: server.url,
        repo: 'acme/config',
        token: { valueFrom: { env: 'CURATOR_GH_TOKEN' } },
      },
    };
    const env = { ...f.env, env: { CURATOR_GH_TOKEN: 'ghp_test' } };

    const first = await runCurator(env, { spec });
    expect(first.outcome, first.message).toBe('failed');
    expect(first.message).toMatch(/POST .*\/repos\/acme\/config\/pulls answered 502/);
    const branch = first.branch as string;
    expect(git(f.bare, 'rev-list', '--count', `main..${branch}`)).toBe('2');

    down = false;
    server.requests.length = 0;
    const second = await runCurator(env, { spec });
    expect(second.branch).toBe(branch);
    expect(second.pr?.number).toBe(1);
    expect(server.requests.map((r) => `${r.method} ${r.path}`).filter((x) => x.startsWith('POST'))).toEqual([
      'POST /repos/acme/config/pulls',
      'POST /repos/acme/config/issues/1/labels',
    ]);

    f.pushMain(
      { 'config/skills/old-report.yaml': FILES['config/skills/old-report.yaml']!.replace('0.1.0', '0.2.0') },
      'touch old-report',
    );
    server.requests.length = 0;
    const third = await runCurator(env, { spec });
    expect(third.outcome, third.message).toBe('proposed');
    expect(third.branch).toBe(branch);
    const patch = server.requests.find((r) => r.method === 'PATCH');
    expect(patch?.path).toBe('/repos/acme/config/pulls/1');
    expect((patch?.body as { body: string } | undefined)?.body).toContain(third.revision.slice(0, 12));
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false);
    expect(gh.pulls).toHaveLength(1);
  });

  it('reports a forge without a usable token instead of pushing half a proposal', async () => {
    const f: Fixture = makeFixture();
    cleanup.push(() => f.store.close());
    usualRuns(f.runs);
    const refs = f.remoteRefs();
    const spec: CuratorSpec = {
      ...defaultCuratorSpec(),
      forge: {
        type: 'github',
        url: 'http://127.0.0.1:9',
        repo: 'acme/config',
        token: { valueFrom: { env: 'CURATOR_UNSET_TOKEN' } },
      },
    };
    const report = await runCurator({ ...f.env, env: {} }, { spec });
    expect(report.outcome, report.message).toBe('failed');
    expect(report.message).toMatch(/CURATOR_UNSET_TOKEN is unset/);
    expect(f.remoteRefs()).toBe(refs);
  });
});
