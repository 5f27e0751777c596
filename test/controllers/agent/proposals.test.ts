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
import { getResource, type ControllerDeps, type Runner, type Snapshot } from '../../../reconciler/types.js';
import type { AgentResult } from '../../../reconciler/agent-contract.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as agent } from '../../../controllers/agent/index.js';
import { register as curator } from '../../../controllers/curator/index.js';
import { TraceStore, type RunProposal } from '../../../controllers/agent/trace-store.js';
import { commitAll, git, makeRemote, skillYaml, writeFiles } from '../../helpers/git.js';
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

/** `files` are laid over the repository below; an undefined value leaves that file out. */
async function world(
  turns: ScriptedReply[],
  naming: Record<string, unknown>,
  files: Record<string, string | undefined> = {},
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
  const tree = {
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
  } as Record<string, string | undefined>;
  const { bare, clone } = makeRemote(
    Object.fromEntries(Object.entries(tree).filter((e): e is [string, string] => e[1] !== undefined)),
  );
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

/** An incident tracker: each page names what to look at next (an incident, a deploy, a service). */
async function tracker(): Promise<string> {
  const pages: Record<string, string> = {
    '/incidents': 'open: INC-4821 checkout latency p99 4.2s (service checkout-api-7f9c)',
    '/incidents/INC-4821': 'suspect deploy rel-2026.11.30-2 of checkout-api-7f9c; previous rel-2026.11.29-5',
    '/deploys/rel-2026.11.30-2': 'changed pool.yaml: maxConnections 40 -> 4',
    '/services/checkout-api-7f9c/config': 'maxConnections: 4',
  };
  const server: Server = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(page ?? 'no such page');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Seven calls, one a turn, six of them on values the previous pages named: the model's judgement. */
function investigation(site: string): ScriptedReply[] {
  const calls: ScriptedCall[] = [
    { name: 'http_get', arguments: { url: `${site}/incidents` } },
    { name: 'http_get', arguments: { url: `${site}/incidents/INC-4821` } },
    { name: 'http_get', arguments: { url: `${site}/deploys/rel-2026.11.30-2` } },
    { name: 'http_get', arguments: { url: `${site}/services/checkout-api-7f9c/config` } },
    {
      name: 'write_file',
      arguments: {
        path: 'INC-4821.md',
        content: 'rel-2026.11.30-2 lowered maxConnections of checkout-api-7f9c to 4\n',
      },
    },
    { name: 'shell', arguments: { command: 'grep -c maxConnections INC-4821.md' } },
    { name: 'read_file', arguments: { path: 'INC-4821.md' } },
  ];
  return [...calls.map((c) => ({ toolCalls: [c] })), { content: 'rel-2026.11.30-2 starved the pool; written up.' }];
}

/** The Skill a branch of the remote holds, as the loader reads it from a checkout (and what validate says). */
async function skillOnBranch(bare: string, branch: string, name: string) {
  const dir = tempDir('caduceus-proposal-load-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  git(dir, 'clone', '-q', '--branch', branch, bare, '.');
  const skill = getResource(await loadSnapshot(join(dir, 'config')), 'Skill', name);
  if (!skill) throw new Error(`no skill ${name} on ${branch}`);
  return skill;
}

describe('agent runs proposed as SKILL.md folders', () => {
  it('proposes a run that was mostly the model judging what it read as a SKILL.md with its instructions', async () => {
    const site = await tracker();
    const instructions = [
      '# Investigating a slow service',
      '',
      'Start from the open incidents, follow the suspect deploy, compare its config change with the',
      'service config, then write the finding up in a file named after the incident.',
    ].join('\n');
    const w = await world(investigation(site), {
      name: 'incident-write-up',
      description: 'Finds the deploy behind an incident and writes it up',
      instructions,
    });
    const main = git(w.bare, 'rev-parse', 'main');
    const r = await w.ask('Checkout is slow: find the incident on the tracker, the deploy behind it, and write it up');
    expect(r.status).toBe('succeeded');

    const p = await w.proposal(r.runId, 'skill');
    expect(p).toMatchObject({ outcome: 'proposed' });
    const branch = 'curator/new-skill-incident-write-up';
    expect(p.detail).toBe(
      `new skill incident-write-up in skills/incident-write-up/SKILL.md on branch ${branch}, ` +
        'https://github.example/acme/config/pull/1',
    );
    expect(git(w.bare, 'diff', '--name-only', 'main', branch)).toBe('config/skills/incident-write-up/SKILL.md');
    // Read back by the loader: a SKILL.md skill whose instructions are the model's, then the run as an example.
    const skill = await skillOnBranch(w.bare, branch, 'incident-write-up');
    expect(skill.source.file).toBe('skills/incident-write-up/SKILL.md');
    expect(skill.spec).toMatchObject({
      version: '0.1.0',
      description: 'Finds the deploy behind an incident and writes it up',
      steps: [],
      agentSkill: { folder: 'skills/incident-write-up', files: [] },
    });
    const body = skill.spec.instructions ?? '';
    expect(body.startsWith(`${instructions}\n\n## How an agent did it once\n\nThese are the calls of that run`)).toBe(
      true,
    );
    expect(body).toContain(`1. step 1\n\n\`\`\`yaml\nhttp:\n  method: GET\n  url: ${site}/incidents\n\`\`\``);
    expect(body).toContain('6. step 6\n\n```sh\ngrep -c maxConnections INC-4821.md\n```');
    expect(validateBranch(w.bare, branch)).toEqual({ code: 0, out: 'ok: 4 resources in 4 files\n' });
    // Why a SKILL.md: in the commit, and the model was asked for instructions.
    expect(git(w.bare, 'show', '-s', '--format=%b', branch)).toContain(
      '6 of 7 calls used values the model read along the way, so it is proposed as SKILL.md instructions',
    );
    const naming = w.model.requests.filter((q) => q.body.tools === undefined);
    expect(naming).toHaveLength(1);
    expect(naming[0]?.body.messages[0]?.content).toContain('"instructions": "markdown for an agent');
    expect(git(w.bare, 'rev-parse', 'main')).toBe(main);
  });

  it('follows a repository that keeps its skills as SKILL.md folders: beside them, derived instructions', async () => {
    const site = await website();
    const turns = sevenCalls(site);
    // No YAML skill to call here: the greeting is a command.
    const first = turns[0]?.toolCalls as ScriptedCall[];
    first[1] = { name: 'shell', arguments: { command: 'echo hi Ada' } };
    const w = await world(turns, NAMING, {
      'config/skills/greet.yaml': undefined,
      'config/team/skills/greet/SKILL.md':
        '---\nname: greet\ndescription: Greets someone by name\n---\nSay hello to the person named in the request.\n',
    });
    const r = await w.ask(PROMPT);
    const p = await w.proposal(r.runId, 'skill');
    const branch = 'curator/new-skill-disk-report';
    expect(p.detail).toBe(
      `new skill disk-report in team/skills/disk-report/SKILL.md on branch ${branch}, ` +
        'https://github.example/acme/config/pull/2',
    );
    const skill = await skillOnBranch(w.bare, branch, 'disk-report');
    expect(skill.spec.agentSkill?.folder).toBe('team/skills/disk-report');
    // The model gave no instructions: they are derived from the request; the request's value is a parameter.
    expect(skill.spec.instructions).toContain(
      `Use this skill for requests like: "${PROMPT}".\n\n` +
        'An agent did this once with the steps below; repeat them with the values of the new request.\n\n' +
        '## Parameters\n\n- `data-dir` (string, default "/srv/data")\n\n## How an agent did it once\n\n' +
        'Each parameter is in the environment as PARAM_<NAME> (upper case, - as _).',
    );
    expect(skill.spec.instructions).toContain("```sh\necho \"${PARAM_DATA_DIR}\" | tr 'a-z' 'A-Z'\n```");
    expect(git(w.bare, 'show', '-s', '--format=%b', branch)).toContain(
      'the repository keeps its skills as SKILL.md folders, so it is proposed as one',
    );
    expect(validateBranch(w.bare, branch).code).toBe(0);
  });

  it('proposes a SKILL.md near-duplicate as new instructions of that skill, its front matter kept', async () => {
    const site = await tracker();
    const existing = [
      '---',
      'name: incident-triage',
      'description: Finds the deploy behind an incident and writes it up',
      'license: Apache-2.0',
      'metadata:',
      '  version: "1.2"',
      '---',
      '',
    ].join('\n');
    // First the same run proposes a new skill; its text, merged under another name, is then the near-duplicate.
    const w = await world([...investigation(site), ...investigation(site)], {
      name: 'incident-write-up',
      description: 'Finds the deploy behind an incident and writes it up',
    });
    const prompt = 'Checkout is slow: find the incident on the tracker, the deploy behind it, and write it up';
    const first = await w.ask(prompt);
    await w.proposal(first.runId, 'skill');
    const learned = git(w.bare, 'show', 'curator/new-skill-incident-write-up:config/skills/incident-write-up/SKILL.md');
    const body = learned.slice(learned.indexOf('\n---\n') + 5);
    git(w.clone, 'pull', '-q', 'origin', 'main');
    writeFiles(w.clone, {
      'config/skills/incident-triage/SKILL.md': `${existing}${body.replace('write it up', 'write it up now')}`,
      'config/skills/incident-triage/scripts/pool.sh': 'grep maxConnections "$1"\n',
    });
    commitAll(w.clone, 'add incident-triage');
    git(w.clone, 'push', '-q', 'origin', 'main');
    await w.reload();

    const second = await w.ask(prompt);
    const p = await w.proposal(second.runId, 'skill');
    const branch = 'curator/update-skill-incident-triage';
    expect(p.detail).toMatch(/^update of skill incident-triage \(similarity (0\.\d+|1)\) on branch (\S+), https:/);
    expect(p.detail).toContain(` on branch ${branch}, `);
    expect(git(w.bare, 'diff', '--name-only', 'main', branch)).toBe('config/skills/incident-triage/SKILL.md');
    const after = git(w.bare, 'show', `${branch}:config/skills/incident-triage/SKILL.md`);
    expect(after.startsWith(existing.replace('"1.2"', '"1.3"'))).toBe(true);
    const skill = await skillOnBranch(w.bare, branch, 'incident-triage');
    expect(skill.spec).toMatchObject({
      version: '1.3',
      agentSkill: { folder: 'skills/incident-triage', files: ['scripts/pool.sh'], license: 'Apache-2.0' },
    });
    expect(skill.spec.instructions).toContain('write it up"');
    expect(validateBranch(w.bare, branch).code).toBe(0);
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
