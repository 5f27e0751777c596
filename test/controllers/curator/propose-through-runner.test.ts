// runner.proposeSkill: the seam through which the agent reaches the curator's skill
// auto-creation path without importing it. Composed exactly as `caduceus up` does, against
// a real bare git repository and a real SQLite state file.

import { describe, it, expect, afterEach } from 'vitest';
import { Registry } from 'prom-client';
import { register as curator } from '../../../controllers/curator/index.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { defaultCuratorSpec } from '../../../controllers/curator/defaults.js';
import { compose, lateBoundRunner, type Composition } from '../../../app/compose.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { ControllerDeps, ReconcileContext, Resource, Runner } from '../../../reconciler/types.js';
import { git } from '../../helpers/git.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { startForgeServer } from './forge-server.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';

const SKILL = `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: disk-usage
spec:
  version: "0.1.0"
  description: Show the largest directories under a path
  params:
    - name: path
      type: string
      default: /var
  steps:
    - run: du -x -d 1 "$PARAM_PATH" | sort -n | tail -n 10
`;
const fromChat = {
  reason: 'the agent ran du 8 times in one turn',
  trigger: { source: 'gateway:discord', actor: 'discord:1234' },
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** A fixture repository and a composition holding only the curator, wired like `caduceus up`. */
function composed(opts: { gitSource?: boolean } = {}): { f: Fixture; runner: Runner; composition: Composition } {
  const f = makeFixture();
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store: f.store,
    events: new CoreStore(f.store),
    log: silentLogger,
    stateDir: f.stateDir,
    snapshot: () => ({ revision: '', resources: new Map() }),
    runner,
    metrics: new Registry(),
    ...(opts.gitSource === false ? {} : { gitSource: { repo: f.bare, path: 'config', branch: 'main' } }),
  };
  const composition = compose(deps, provide, [curator]);
  cleanup.push(async () => {
    await composition.stop();
    f.store.close();
  });
  return { f, runner, composition };
}

function context(): ReconcileContext {
  return {
    key: 'Curator/weekly',
    revision: 'r1',
    snapshot: { revision: 'r1', resources: new Map() },
    signal: new AbortController().signal,
    log: silentLogger,
    setCondition: () => {},
    setObserved: () => {},
    event: () => {},
  };
}

describe('runner.proposeSkill', () => {
  it('delivers a proposed skill on its own branch through the runner, leaving the tracked branch alone', async () => {
    const { f, runner } = composed();
    const main = f.mainSha();
    const r = await runner.proposeSkill!(SKILL, fromChat);
    expect(r).toEqual({
      proposalId: expect.stringMatching(/^[0-9a-f]{12}$/),
      action: 'create',
      skill: 'disk-usage',
      file: 'skills/disk-usage.yaml',
      branch: 'curator/new-skill-disk-usage',
      outcome: 'proposed',
    });
    // The branch exists on the remote with exactly the new file, one commit on top of main.
    expect(git(f.bare, 'show', `${r.branch}:config/skills/disk-usage.yaml`)).toBe(SKILL.trimEnd());
    expect(git(f.bare, 'rev-parse', `${r.branch}~1`)).toBe(main);
    expect(git(f.bare, 'diff', '--name-only', `main..${r.branch}`)).toBe('config/skills/disk-usage.yaml');
    const body = git(f.bare, 'show', '-s', '--format=%b', r.branch);
    expect(body).toContain('the agent ran du 8 times in one turn');
    expect(body).toContain('proposed by gateway:discord (discord:1234)');
    expect(body).toContain(`Curator-Proposal: ${r.proposalId}`);
    // The tracked branch never moves, and the proposal is known to `caduceus curator show`.
    expect(f.mainSha()).toBe(main);
    expect(git(f.bare, 'for-each-ref', '--format=%(refname)')).toBe(
      ['refs/heads/curator/new-skill-disk-usage', 'refs/heads/main'].join('\n'),
    );
    expect(new CuratorStore(f.store).proposal(r.proposalId)).toMatchObject({
      action: 'create',
      state: 'open',
      branch: r.branch,
      skills: ['disk-usage'],
    });

    const again = await runner.proposeSkill!(SKILL, { ...fromChat, reason: 'once more' });
    expect(again).toMatchObject({ proposalId: r.proposalId, outcome: 'unchanged' });
    expect(git(f.bare, 'rev-list', '--count', `main..${r.branch}`)).toBe('1');
  });

  it("uses the applied Curator's branch prefix", async () => {
    const { f, runner, composition } = composed();
    const spec = { ...defaultCuratorSpec(), branchPrefix: 'bot' };
    const res: Resource<'Curator'> = {
      apiVersion: 'caduceus.dev/v1',
      kind: 'Curator',
      metadata: { name: 'weekly' },
      spec,
      source: { file: 'curator.yaml', line: 1, column: 1 },
      hash: 'h',
    };
    await composition.controllers[0]!.reconcile(context(), res, { status: undefined });
    const r = await runner.proposeSkill!(SKILL, fromChat);
    expect(r.branch).toBe('bot/new-skill-disk-usage');
    expect(git(f.bare, 'show', `bot/new-skill-disk-usage:config/skills/disk-usage.yaml`)).toBe(SKILL.trimEnd());
  });

  it("returns the pull request the applied Curator's forge opened", async () => {
    // Enough of GitHub's pulls API for one new pull request with labels.
    const server = await startForgeServer((r) => {
      if (r.headers.authorization !== 'Bearer ghp_seam') return { status: 401, body: { message: 'Bad credentials' } };
      const path = new URL(r.path, 'http://x').pathname;
      if (r.method === 'GET' && path === '/repos/acme/config/pulls') return { status: 200, body: [] };
      if (r.method === 'POST' && path === '/repos/acme/config/pulls') {
        const b = r.body as { title: string; head: string; base: string };
        return {
          status: 201,
          body: {
            number: 7,
            html_url: 'https://github.example/acme/config/pull/7',
            state: 'open',
            merged_at: null,
            title: b.title,
            head: { ref: b.head },
            base: { ref: b.base },
          },
        };
      }
      if (r.method === 'POST' && path === '/repos/acme/config/issues/7/labels')
        return { status: 200, body: [{ name: 'curator' }] };
      return { status: 404, body: { message: 'Not Found' } };
    });
    process.env.CURATOR_SEAM_TOKEN = 'ghp_seam';
    cleanup.push(
      () => server.close(),
      () => void delete process.env.CURATOR_SEAM_TOKEN,
    );
    const { runner, composition } = composed();
    const spec = {
      ...defaultCuratorSpec(),
      forge: {
        type: 'github' as const,
        url: server.url,
        repo: 'acme/config',
        token: { valueFrom: { env: 'CURATOR_SEAM_TOKEN' } },
      },
    };
    const res: Resource<'Curator'> = {
      apiVersion: 'caduceus.dev/v1',
      kind: 'Curator',
      metadata: { name: 'weekly' },
      spec,
      source: { file: 'curator.yaml', line: 1, column: 1 },
      hash: 'h',
    };
    await composition.controllers[0]!.reconcile(context(), res, { status: undefined });
    const r = await runner.proposeSkill!(SKILL, fromChat);
    expect(r).toMatchObject({ outcome: 'proposed', pullRequest: 'https://github.example/acme/config/pull/7' });
    expect(server.requests.map((q) => `${q.method} ${new URL(q.path, 'http://x').pathname}`)).toEqual([
      'GET /repos/acme/config/pulls',
      'POST /repos/acme/config/pulls',
      'POST /repos/acme/config/issues/7/labels',
    ]);
    expect(server.requests[1]?.body).toMatchObject({
      title: 'Curator: new skill disk-usage',
      head: 'curator/new-skill-disk-usage',
      base: 'main',
    });
  });

  it('passes on why a skill is refused and pushes nothing', async () => {
    const { f, runner } = composed();
    const refs = f.remoteRefs();
    await expect(
      runner.proposeSkill!(SKILL.replace('name: disk-usage', 'name: deploy'), fromChat),
    ).rejects.toMatchObject({ code: 'SkillExists' });
    await expect(
      runner.proposeSkill!(SKILL.replace('    - run: du', '    - skill: {name: nowhere}\n    - run: du'), fromChat),
    ).rejects.toMatchObject({ code: 'SkillInvalid' });
    expect(f.remoteRefs()).toBe(refs);
  });

  it('fails clearly without a git source, and with RunnerUnavailable when no curator is registered', async () => {
    const { runner } = composed({ gitSource: false });
    await expect(runner.proposeSkill!(SKILL, fromChat)).rejects.toMatchObject({
      code: 'NoGitSource',
      hint: expect.stringContaining('--repo'),
    });
    const bare = lateBoundRunner();
    await expect(bare.runner.proposeSkill!(SKILL, fromChat)).rejects.toMatchObject({
      code: 'RunnerUnavailable',
      message: expect.stringContaining('curator'),
    });
  });
});
