// What a finished agent run leaves behind, through the curator's branch-and-pull-request
// path and never in the live configuration: a run with at least autoCreateThreshold
// successful tool calls becomes a proposed skill (steps of each kind, the request's
// literal values as params, a name from one extra model call) that passes `caduceus
// validate` on its own branch; one call fewer proposes nothing; a near-duplicate of an
// existing skill becomes an update of it; `remember` notes become a memory proposal, and
// merged memory is context for the next run. Real git remote, real SQLite, a loopback
// GitHub API and the scripted model.

import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { compose, lateBoundRunner, type Composition } from '../../../app/compose.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { ControllerDeps, Runner, Snapshot } from '../../../reconciler/types.js';
import type { AgentResult } from '../../../reconciler/agent-contract.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as agent } from '../../../controllers/agent/index.js';
import { register as curator } from '../../../controllers/curator/index.js';
import { TraceStore, type RunProposal } from '../../../controllers/agent/trace-store.js';
import { git, makeRemote, skillYaml } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { doc, loadSnapshot } from '../../helpers/config.js';
import { waitFor } from '../../helpers/wait.js';
import { startForgeServer, type ForgeServer } from '../curator/forge-server.js';
import {
  MODEL_KEY,
  startScriptedModel,
  type ModelRequest,
  type ScriptedCall,
  type ScriptedModel,
  type ScriptedReply,
} from './scripted-model.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const LLM_ENV = 'CADUCEUS_PROPOSALS_TEST_LLM_KEY';
const FORGE_ENV = 'CADUCEUS_PROPOSALS_TEST_FORGE_TOKEN';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** Enough of GitHub's pulls API for pull requests opened, found again, updated and labelled. */
async function github(): Promise<ForgeServer> {
  const pulls: Array<{ number: number; head: string; title: string; body: string }> = [];
  const server = await startForgeServer((r) => {
    if (r.headers.authorization !== 'Bearer ghp_proposals')
      return { status: 401, body: { message: 'Bad credentials' } };
    const url = new URL(r.path, 'http://x');
    const pull = (p: (typeof pulls)[number]) => ({
      number: p.number,
      html_url: `https://github.example/acme/config/pull/${p.number}`,
      state: 'open',
      merged_at: null,
      title: p.title,
      head: { ref: p.head },
      base: { ref: 'main' },
    });
    if (r.method === 'GET' && url.pathname === '/repos/acme/config/pulls') {
      const head = url.searchParams.get('head')?.replace(/^acme:/, '');
      return { status: 200, body: pulls.filter((p) => p.head === head).map(pull) };
    }
    if (r.method === 'POST' && url.pathname === '/repos/acme/config/pulls') {
      const b = r.body as { head: string; title: string; body: string };
      const p = { number: pulls.length + 1, head: b.head, title: b.title, body: b.body };
      pulls.push(p);
      return { status: 201, body: pull(p) };
    }
    const m = /^\/repos\/acme\/config\/(pulls|issues)\/(\d+)(\/labels)?$/.exec(url.pathname);
    const p = m ? pulls[Number(m[2]) - 1] : undefined;
    if (m && p && r.method === 'PATCH') {
      Object.assign(p, r.body as object);
      return { status: 200, body: pull(p) };
    }
    if (m && p && r.method === 'GET') return { status: 200, body: pull(p) };
    if (m?.[3] && r.method === 'POST') return { status: 200, body: [{ name: 'curator' }] };
    return { status: 404, body: { message: 'Not Found' } };
  });
  cleanups.push(() => server.close());
  return server;
}

async function website(): Promise<string> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/status' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/status' ? 'all systems nominal' : 'no such page');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface World {
  model: ScriptedModel;
  forge: ForgeServer;
  bare: string;
  clone: string;
  runner: Runner;
  traces: TraceStore;
  /** Stops the composition: waits for every follow-up in flight. */
  stop(): Promise<void>;
  ask(prompt: string): Promise<AgentResult>;
  /** The run's proposal of `kind`, once the follow-up recorded it. */
  proposal(runId: string, kind: RunProposal['kind']): Promise<RunProposal>;
  /** Loads the configuration again from the clone (after a merge was pulled). */
  reload(): Promise<void>;
}

/** Replies in order for the run's turns; the naming request (no tools, its own system prompt) gets `naming`. */
function scriptOf(turns: ScriptedReply[], naming: Record<string, unknown>) {
  let turn = 0;
  return (req: ModelRequest): ScriptedReply => {
    if (String(req.body.messages[0]?.content).startsWith('You name reusable skills'))
      return { content: JSON.stringify(naming) };
    return turns[turn++] ?? { content: 'done' };
  };
}

async function world(
  turns: ScriptedReply[],
  naming: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<World> {
  const model = await startScriptedModel(scriptOf(turns, naming));
  cleanups.push(() => model.close());
  const forge = await github();
  process.env[LLM_ENV] = MODEL_KEY;
  process.env[FORGE_ENV] = 'ghp_proposals';
  cleanups.push(() => {
    delete process.env[LLM_ENV];
    delete process.env[FORGE_ENV];
  });
  const { bare, clone } = makeRemote({
    'config/runtime.yaml': doc('Runtime', 'default', {
      llm: { baseURL: model.url, model: 'scripted-1', apiKey: { valueFrom: { env: LLM_ENV } }, maxRetries: 0 },
      agent: {
        context: ['context/*.md'],
        memoryFile: 'context/memory.md',
        tools: ['skills', 'files', 'http', 'shell', 'remember'],
      },
    }),
    'config/curator.yaml': doc('Curator', 'weekly', {
      forge: { type: 'github', url: forge.url, repo: 'acme/config', token: { valueFrom: { env: FORGE_ENV } } },
    }),
    'config/skills/greet.yaml': skillYaml('greet', 'echo "hi $PARAM_WHO"', {
      description: 'Greets someone',
      extra: '  params:\n    - name: who\n      type: string\n      required: true\n',
    }),
    'config/context/team.md': 'The team runs the payments platform.\n',
    ...files,
  });
  const stateDir = tempDir('caduceus-proposals-state-');
  cleanups.push(() => {
    for (const d of [bare, clone, stateDir]) rmSync(d, { recursive: true, force: true });
  });
  let snapshot: Snapshot = await loadSnapshot(join(clone, 'config'));
  const store = new StateStore({ stateDir });
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir,
    snapshot: () => snapshot,
    runner,
    metrics: new Registry(),
    configDir: join(clone, 'config'),
    gitSource: { repo: bare, path: 'config', branch: 'main' },
  };
  const composition: Composition = compose(deps, provide, [execution, curator, agent]);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await composition.stop();
  };
  cleanups.push(() => store.close(), stop);
  const traces = new TraceStore(store);
  return {
    model,
    forge,
    bare,
    clone,
    runner,
    traces,
    stop,
    ask: (prompt) =>
      (runner.runAgent as NonNullable<Runner['runAgent']>)({ prompt, trigger: { source: 'cli', actor: 'ada' } }),
    proposal: (runId, kind) =>
      waitFor(() => traces.proposals(runId).find((p) => p.kind === kind), 30_000, `the ${kind} proposal of ${runId}`),
    reload: async () => {
      snapshot = await loadSnapshot(join(clone, 'config'));
    },
  };
}

/** `caduceus validate` (the compiled CLI) on a checkout of `branch`. */
function validateBranch(bare: string, branch: string): { code: number | null; out: string } {
  const dir = tempDir('caduceus-proposal-checkout-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  git(dir, 'clone', '-q', '--branch', branch, bare, '.');
  const r = spawnSync(process.execPath, [join(root, 'dist/app/cli.js'), 'validate', join(dir, 'config')], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, [LLM_ENV]: MODEL_KEY },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** Seven successful calls of every step kind, over two turns, then the answer. */
function sevenCalls(site: string): ScriptedReply[] {
  const first: ScriptedCall[] = [
    { name: 'write_file', arguments: { path: 'report/input.txt', content: 'alpha\nbeta\n' } },
    { name: 'greet', arguments: { who: 'Ada' } },
    { name: 'shell', arguments: { command: "echo /srv/data | tr 'a-z' 'A-Z'" } },
    { name: 'remember', arguments: { note: 'The status page lives at /status.' } },
  ];
  const second: ScriptedCall[] = [
    { name: 'read_file', arguments: { path: 'report/input.txt' } },
    { name: 'shell', arguments: { command: 'wc -l report/input.txt' } },
    { name: 'list_files', arguments: { path: 'report' } },
    { name: 'http_get', arguments: { url: `${site}/status` } },
  ];
  return [{ toolCalls: first }, { toolCalls: second }, { content: 'Disk report written; Ada greeted; all nominal.' }];
}

const PROMPT = 'Write the disk report for /srv/data, greet Ada and check the status page';
const NAMING = {
  name: 'disk-report',
  description: 'Writes the disk report of a directory and greets someone',
  params: { who: 'person', path: 'data-dir' },
};

describe('agent runs proposed as skills', () => {
  it('proposes a 7-tool-call run as a skill that passes validate on its own branch, with a pull request', async () => {
    const site = await website();
    const w = await world(sevenCalls(site), NAMING);
    const main = git(w.bare, 'rev-parse', 'main');
    const r = await w.ask(PROMPT);
    expect(r.status).toBe('succeeded');
    expect(r.toolCalls).toHaveLength(8);

    const p = await w.proposal(r.runId, 'skill');
    expect(p).toMatchObject({ outcome: 'proposed' });
    expect(p.detail).toBe(
      'new skill disk-report in skills/disk-report.yaml on branch curator/new-skill-disk-report, ' +
        'https://github.example/acme/config/pull/2',
    );
    const yaml = git(w.bare, 'show', 'curator/new-skill-disk-report:config/skills/disk-report.yaml');
    const skill = parse(yaml) as { metadata: { name: string }; spec: Record<string, unknown> };
    expect(skill.metadata.name).toBe('disk-report');
    expect(skill.spec).toEqual({
      version: '0.1.0',
      description: 'Writes the disk report of a directory and greets someone',
      // Literal values of the request, named by the model, with those values as defaults.
      params: [
        { name: 'person', type: 'string', default: 'Ada' },
        { name: 'data-dir', type: 'string', default: '/srv/data' },
      ],
      steps: [
        { file: { action: 'write', path: 'report/input.txt', content: 'alpha\nbeta\n' } },
        { skill: { name: 'greet', params: { who: '${{ params.person }}' } } },
        { run: `echo "\${PARAM_DATA_DIR}" | tr 'a-z' 'A-Z'` },
        { file: { action: 'read', path: 'report/input.txt' } },
        { run: 'wc -l report/input.txt' },
        { run: 'ls -1Ap -- report' },
        { http: { method: 'GET', url: `${site}/status` } },
      ],
    });
    expect(validateBranch(w.bare, 'curator/new-skill-disk-report')).toEqual({
      code: 0,
      out: 'ok: 4 resources in 4 files\n',
    });
    // The evidence: the run, its counts and the request, in the commit and the pull request.
    const body = git(w.bare, 'show', '-s', '--format=%b', 'curator/new-skill-disk-report');
    expect(body).toContain(`agent run ${r.runId} (cli, ada) succeeded with 7 tool calls (threshold 7)`);
    expect(body).toContain('write_file ×1, greet ×1, shell ×2, read_file ×1, list_files ×1, http_get ×1');
    const opened = w.forge.requests.filter((q) => q.method === 'POST' && q.path === '/repos/acme/config/pulls');
    expect(opened.map((q) => (q.body as { head: string }).head)).toEqual([
      'curator/memory',
      'curator/new-skill-disk-report',
    ]);
    // The model was asked for the names once, with the steps and values, and no tools.
    const naming = w.model.requests.filter((q) => q.body.tools === undefined);
    expect(naming).toHaveLength(1);
    expect(naming[0]?.body.messages[1]?.content).toContain('"/srv/data" (step 3 (shell)), suggested name: path');
    // Nothing reached the live configuration.
    expect(git(w.bare, 'rev-parse', 'main')).toBe(main);
    expect(existsSync(join(w.clone, 'config/skills/disk-report.yaml'))).toBe(false);
  });

  it('proposes nothing for a run with 6 tool calls', async () => {
    const site = await website();
    const turns = sevenCalls(site);
    turns[1]?.toolCalls?.pop();
    const w = await world(turns, NAMING);
    const r = await w.ask(PROMPT);
    expect(r.status).toBe('succeeded');
    await w.proposal(r.runId, 'memory');
    await w.stop(); // waits for every follow-up
    expect(w.traces.proposals(r.runId).map((p) => p.kind)).toEqual(['memory']);
    expect(git(w.bare, 'for-each-ref', '--format=%(refname)')).toBe('refs/heads/curator/memory\nrefs/heads/main');
    expect(w.model.requests.filter((q) => q.body.tools === undefined)).toEqual([]);
  });

  it('proposes a near-duplicate of an existing skill as an update of that skill', async () => {
    const site = await website();
    // What the run will do, written by a person earlier, with one step slightly different.
    const existing = `# Kept by the platform team.
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: nightly-report
spec:
  version: "1.0.0"
  description: Writes the disk report of a directory and greets someone
  aliases: [disk-summary]
  params:
    - name: person
      type: string
      default: Ada
    - name: data-dir
      type: string
      default: /srv/data
  steps:
    - file: {action: write, path: report/input.txt, content: "alpha\\nbeta\\n"}
    - skill: {name: greet, params: {who: "\${{ params.person }}"}}
    - run: echo "\${PARAM_DATA_DIR}" | tr 'a-z' 'A-Z'
    - file: {action: read, path: report/input.txt}
    - run: wc -w report/input.txt
    - run: ls -1Ap -- report
    - http: {method: GET, url: "${site}/status"}
`;
    const w = await world(sevenCalls(site), NAMING, { 'config/skills/nightly-report.yaml': existing });
    const r = await w.ask(PROMPT);
    const p = await w.proposal(r.runId, 'skill');
    expect(p.outcome).toBe('proposed');
    expect(p.detail).toMatch(
      /^update of skill nightly-report \(similarity 0\.\d+\) on branch curator\/update-skill-nightly-report, https:/,
    );
    const sim = Number(/similarity (0\.\d+)/.exec(p.detail)?.[1]);
    expect(sim).toBeGreaterThanOrEqual(0.8);
    expect(sim).toBeLessThan(1);
    // The existing file, edited in place: its comment, name, alias and description stay.
    const after = git(w.bare, 'show', 'curator/update-skill-nightly-report:config/skills/nightly-report.yaml');
    expect(after.startsWith('# Kept by the platform team.\n')).toBe(true);
    const spec = (parse(after) as { spec: Record<string, unknown> }).spec;
    expect(spec).toMatchObject({ version: '1.1.0', aliases: ['disk-summary'] });
    expect((spec.steps as Array<{ run?: string }>)[4]).toEqual({ run: 'wc -l report/input.txt' });
    expect(git(w.bare, 'diff', '--name-only', 'main', 'curator/update-skill-nightly-report')).toBe(
      'config/skills/nightly-report.yaml',
    );
    expect(git(w.bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/curator/new-skill-*')).toBe('');
    expect(validateBranch(w.bare, 'curator/update-skill-nightly-report').code).toBe(0);
  });
});

describe('agent memory under review', () => {
  it('proposes remember notes as an edit of the memory file; merged memory is context of the next run', async () => {
    const remember = (notes: string[], answer: string): ScriptedReply[] => [
      { toolCalls: notes.map((note) => ({ name: 'remember', arguments: { note } })) },
      { content: answer },
    ];
    const w = await world(
      [
        ...remember(['Deploys freeze on Fridays.', 'The payments API  is\nat /v2.'], 'noted twice'),
        ...remember(['Deploys freeze on Fridays.', 'Backups run at 02:00 UTC.'], 'noted again'),
        { content: 'Deploys freeze on Fridays, so wait until Monday.' },
      ],
      NAMING,
    );
    const main = git(w.bare, 'rev-parse', 'main');
    const first = await w.ask('Remember what we agreed');
    const p1 = await w.proposal(first.runId, 'memory');
    expect(p1).toMatchObject({ outcome: 'proposed' });
    expect(p1.detail).toBe(
      '2 new note(s) for context/memory.md on branch curator/memory, https://github.example/acme/config/pull/1',
    );
    const memory = (): string => git(w.bare, 'show', 'curator/memory:config/context/memory.md');
    expect(memory()).toMatch(
      new RegExp(
        `^# Memory\\n\\n.*\\n\\n## \\d{4}-\\d\\d-\\d\\d, run ${first.runId.slice(0, 8)}\\n\\n` +
          '- Deploys freeze on Fridays\\.\\n- The payments API is at /v2\\.$',
      ),
    );

    // A second run adds only what is new, on the same branch and pull request.
    const second = await w.ask('Remember more');
    expect(await w.proposal(second.runId, 'memory')).toMatchObject({
      outcome: 'proposed',
      detail: '1 new note(s) for context/memory.md on branch curator/memory, https://github.example/acme/config/pull/1',
    });
    expect(memory().match(/^- /gm)).toHaveLength(3);
    expect(memory().endsWith('- Backups run at 02:00 UTC.')).toBe(true);
    expect(git(w.bare, 'rev-list', '--count', 'main..curator/memory')).toBe('2');
    const opened = w.forge.requests.filter((q) => q.method === 'POST' && q.path === '/repos/acme/config/pulls');
    expect(opened).toHaveLength(1);
    const updated = w.forge.requests.filter((q) => q.method === 'PATCH').at(-1)?.body as { body: string };
    expect(updated.body).toContain('3 note(s)');
    expect(git(w.bare, 'rev-parse', 'main')).toBe(main);

    // Once a reviewer merges it, the next run reads the memory as project context.
    git(w.clone, 'fetch', '-q', 'origin');
    git(w.clone, 'merge', '-q', '--no-edit', 'origin/curator/memory');
    git(w.clone, 'push', '-q', 'origin', 'main');
    await w.reload();
    const third = await w.ask('When can I deploy?');
    expect(third.answer).toBe('Deploys freeze on Fridays, so wait until Monday.');
    const context = w.model.requests.at(-1)?.body.messages.find((m) => m.content?.includes('## context/memory.md'));
    expect(context?.content).toContain('- Backups run at 02:00 UTC.');
    expect(readFileSync(join(w.clone, 'config/context/memory.md'), 'utf8')).toContain('Deploys freeze on Fridays.');
  });
});
