// The everyday commands, GitOps-style, on the compiled CLI: `create` prints YAML the loader
// accepts (or writes it into the working tree, touching no other line), `skills` reports
// use from the run history, and `top` shows a run in flight with its CPU and memory, which
// `runs` keeps once it is over. None of them changes live state.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { type Finished, runProcess } from '../helpers/process.js';
import { dockerUnavailable } from '../controllers/tasks/helpers.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
let repo: string;
let state: string;
const dirs: string[] = [];

function cli(args: string[], cwd = repo): Promise<Finished> {
  return runProcess(process.execPath, [CLI, ...args], { cwd });
}

beforeAll(async () => {
  const parent = tempDir('caduceus-everyday-');
  dirs.push(parent);
  repo = join(parent, 'config');
  state = join(parent, 'state');
  expect((await cli(['init', repo], parent)).code).toBe(0);
});
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('caduceus create', () => {
  it('prints a skill the loader accepts, pointing at the repository schema, and changes nothing', async () => {
    const r = await cli([
      'create',
      'skill',
      'disk-usage',
      '--run',
      'df -h "$PARAM_PATH"',
      '--param',
      'path=/',
      '--param',
      'depth:number=2',
      '--description',
      'Disk usage of a path',
      '--export',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`# yaml-language-server: $schema=../schemas/caduceus.schema.json
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: disk-usage
spec:
  version: 0.1.0
  description: Disk usage of a path
  params:
    - name: path
      type: string
      default: /
    - name: depth
      type: number
      default: 2
  steps:
    - run: df -h "$PARAM_PATH"
`);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('writes a task with --write, which validates with the rest and refuses to overwrite', async () => {
    const r = await cli([
      'create',
      'task',
      'nightly',
      '--skill',
      'log-search',
      '-p',
      'pattern=error',
      '--schedule',
      '0 2 * * *',
      '--write',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote tasks/nightly.yaml; review it, then git add tasks/nightly.yaml && git commit\n');
    expect(git(repo, 'status', '--porcelain')).toBe('?? tasks/nightly.yaml');
    expect((await cli(['validate'])).stdout).toBe('ok: 12 resources in 12 files\n');
    const again = await cli(['create', 'task', 'nightly', '--skill', 'log-search', '-p', 'pattern=error', '--write']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('tasks/nightly.yaml exists already');
    rmSync(join(repo, 'tasks', 'nightly.yaml'));
  });

  it('refuses a resource that would not validate, with the finding', async () => {
    const r = await cli(['create', 'task', 'broken', '--skill', 'no-such-skill']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /tasks\/broken\.yaml:\d+:\d+ {2}error {2}subtask "no-such-skill" calls skill "no-such-skill", which is not/,
    );
  });

  it('adds a gateway role to the policy file as new lines only, comments and lists untouched', async () => {
    const before = readFileSync(join(repo, 'gateway.yaml'), 'utf8');
    const r = await cli([
      'create',
      'gateway-role',
      'oncall',
      '--user',
      'discord:123456789012345678',
      '--skill',
      'log-search',
      '--status',
      '--write',
    ]);
    expect(r.code).toBe(0);
    const after = readFileSync(join(repo, 'gateway.yaml'), 'utf8');
    const removed = before.split('\n').filter((l) => !after.split('\n').includes(l));
    expect(removed).toEqual([]);
    expect(git(repo, 'diff', '--numstat', 'gateway.yaml')).toBe('8\t0\tgateway.yaml');
    expect(after).toContain('    - name: oncall\n      users:\n        - discord:123456789012345678\n');
    expect((await cli(['validate'])).code).toBe(0);
    const dup = await cli(['create', 'gateway-role', 'oncall', '--user', 'discord:1', '--write']);
    expect(dup.stderr).toContain('already has a role named oncall');
    git(repo, 'checkout', '--', 'gateway.yaml');
  });

  it('prints a proxy with a generated key and an upstream', async () => {
    const r = await cli([
      'create',
      'proxy',
      'edge',
      '--port',
      '9000',
      '--upstream',
      'https://llm.example/v1',
      '--upstream-key-env',
      'LLM_KEY',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'kind: Proxy\nmetadata:\n  name: edge\nspec:\n  port: 9000\n' +
        '  keys:\n    - valueFrom:\n        generated: edge-key\n',
    );
    expect(r.stdout).toContain('apiKey:\n      valueFrom:\n        env: LLM_KEY\n');
  });
});

describe('caduceus skills', () => {
  // Seven CLI runs, each a Node start: a loaded machine needs more than the default minute.
  it('lists version, file, runs, last run and failure rate, filtered by status and sorted', async () => {
    expect((await cli(['run', 'skill', 'compliance-check', '--state-dir', state])).code).toBe(0);
    expect(
      (await cli(['run', 'skill', 'compliance-check', '-p', 'fail-on-open=true', '--state-dir', state])).code,
    ).toBe(1);
    expect((await cli(['run', 'skill', 'incident-summary', '--state-dir', state])).code).toBe(0);
    mkdirSync(join(repo, 'archive'), { recursive: true });
    writeFileSync(
      join(repo, 'archive', 'old-report.yaml'),
      'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: old-report\n' +
        'spec:\n  version: "0.9.0"\n  description: Retired\n  steps:\n    - run: echo old\n',
    );
    // The queries only read the history, so they run at once.
    const [allOut, staleOut, textOut, badSort] = await Promise.all([
      cli(['skills', '--state-dir', state, '--sort', 'runs', '--json']),
      cli(['skills', '--state-dir', state, '--status', 'stale', '--sort', 'name', '-o', 'json']),
      cli(['skills', '--state-dir', state, '--status', 'active', '--sort', 'runs']),
      cli(['skills', '--sort', 'size']),
    ]);
    const all = JSON.parse(allOut.stdout) as Array<{
      name: string;
      version: string;
      file: string;
      status: string;
      runs: number;
      failureRate: number | null;
      lastRun: string | null;
    }>;
    expect(all.slice(0, 2).map((s) => [s.name, s.version, s.file, s.status, s.runs, s.failureRate])).toEqual([
      ['compliance-check', '1.0.3', 'skills/compliance-check.yaml', 'active', 2, 0.5],
      ['incident-summary', '1.1.0', 'skills/incident-summary.yaml', 'active', 1, 0],
    ]);
    expect(Date.now() - Date.parse(all[0]?.lastRun ?? '')).toBeLessThan(120_000);
    expect(all.find((s) => s.name === 'old-report')).toMatchObject({
      status: 'archived',
      file: 'archive/old-report.yaml',
    });
    const stale = JSON.parse(staleOut.stdout) as Array<{
      name: string;
    }>;
    expect(stale.map((s) => s.name)).toEqual([
      'auth-failure-audit',
      'dependency-scan',
      'infrastructure-audit',
      'log-search',
    ]);
    const text = textOut.stdout.split('\n');
    expect(text[0]).toMatch(/^NAME\s+VERSION\s+STATUS\s+RUNS\s+FAILED\s+LAST RUN\s+MODIFIED\s+FILE$/);
    expect(text[1]).toMatch(
      /^compliance-check\s+1\.0\.3\s+active\s+2\s+50%\s+(\d{4}-\d\d-\d\d \d\d:\d\d\s+){2}skills\/\S+$/,
    );
    expect(badSort.code).toBe(2);
    rmSync(join(repo, 'archive'), { recursive: true });
  }, 180_000);
});

/** Starts `caduceus run skill hog` in the background; it holds about 40 MB for a few seconds. */
/**
 * A skill that holds 40 MB and burns a little CPU, then waits: a local run until the test
 * creates `release` (it can only end after the test has read top), a container run, which
 * cannot see that file, for 20 s.
 */
function hogSkill(mode: 'local' | 'docker', release: string): string {
  const dir = join(repo, 'skills', `hog-${mode}.yaml`);
  const hold =
    mode === 'local' ? `i=0; while [ ! -f ${release} ] && [ $i -lt 1200 ]; do i=$((i+1)); sleep 0.1; done` : 'sleep 20';
  writeFileSync(
    dir,
    `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: hog-${mode}
spec:
  version: "1.0.0"
  description: Holds memory and burns a little CPU for a few seconds
  ${mode === 'docker' ? 'isolation: {mode: docker}\n  ' : ''}steps:
    - run: |
        x=$(head -c 40000000 /dev/zero | tr '\\0' a)
        i=0; while [ $i -lt 4000 ]; do i=$((i+1)); done
        ${hold}
        echo \${#x}
`,
  );
  return `hog-${mode}`;
}

async function watchTop(
  name: string,
  state: string,
  release: string,
): Promise<{ memoryBytes: number; cpuMs: number; source: string }> {
  const child = spawn(process.execPath, [CLI, 'run', 'skill', name, '--state-dir', state], {
    cwd: repo,
    stdio: 'ignore',
  });
  const done = new Promise<number | null>((r) => child.once('exit', r));
  const memory = '(\\s+\\d+(\\.\\d)?Mi){2}\\s+\\d+$';
  const line = new RegExp(`^\\w{8}\\s+skill\\s+${name}@1\\.0\\.0\\s+cli\\s+\\S+\\s+\\d+%\\s+\\S+${memory}`, 'm');
  try {
    // Both views are read while the run is held: the JSON until it has the memory and a CPU
    // rate, then the table, in the same wait.
    return await waitFor(
      async () => {
        const top = await cli(['top', '--state-dir', state, '-o', 'json']);
        if (top.code !== 0) return undefined;
        const runs = JSON.parse(top.stdout) as Array<{
          name: string;
          usage: { memoryBytes: number | null; cpuMs: number; cpuPercent: number | null; source: string } | null;
        }>;
        const usage = runs.find((r) => r.name === name)?.usage;
        // CPU use is a rate: it is there from the second sample on (the first can already hold the memory).
        if (!(usage?.memoryBytes && usage.memoryBytes > 30_000_000 && usage.cpuPercent !== null)) return undefined;
        const text = (await cli(['top', '--state-dir', state])).stdout;
        return line.test(text)
          ? { memoryBytes: usage.memoryBytes, cpuMs: usage.cpuMs, source: usage.source }
          : undefined;
      },
      60_000,
      `top to show ${name} with its memory and CPU use`,
      200,
    );
  } finally {
    writeFileSync(release, '');
    expect(await done).toBe(0);
  }
}

// Each test has its own state directory (top shows every run in flight of one), so the two
// run at once; each holds its skill's process for a few seconds.
describe.concurrent('caduceus top and runs', () => {
  it('shows a local run in flight with its memory and CPU, and runs keeps the peak and CPU time', async ({
    expect,
  }) => {
    const state = join(dirs[0] as string, 'state-top-local');
    const release = join(dirs[0] as string, 'release-local');
    const name = hogSkill('local', release);
    const live = await watchTop(name, state, release);
    expect(live.source).toBe('proc');
    const runs = JSON.parse((await cli(['runs', '--skill', name, '--state-dir', state, '--json'])).stdout) as Array<{
      status: string;
      cpuMs: number | null;
      peakMemoryBytes: number | null;
    }>;
    expect(runs[0]?.status).toBe('succeeded');
    expect(runs[0]?.peakMemoryBytes).toBeGreaterThan(30_000_000);
    expect(runs[0]?.cpuMs).toBeGreaterThan(0);
    expect((await cli(['top', '--state-dir', state])).stdout).toBe('no runs in flight\n');
    rmSync(join(repo, 'skills', `${name}.yaml`));
  }, 90_000);

  const noDocker = dockerUnavailable();
  it.skipIf(noDocker !== undefined && process.env.CI !== 'true')(
    'shows a container run with the memory Docker reports for it',
    async ({ expect }) => {
      expect(noDocker).toBeUndefined();
      const state = join(dirs[0] as string, 'state-top-docker');
      const release = join(dirs[0] as string, 'release-docker');
      const name = hogSkill('docker', release);
      const live = await watchTop(name, state, release);
      expect(live.source).toBe('docker');
      const runs = JSON.parse((await cli(['runs', '--skill', name, '--state-dir', state, '--json'])).stdout) as Array<{
        peakMemoryBytes: number | null;
      }>;
      expect(runs[0]?.peakMemoryBytes).toBeGreaterThan(30_000_000);
      rmSync(join(repo, 'skills', `${name}.yaml`));
    },
    120_000,
  );
});

it('leaves the repository as init made it', async () => {
  expect(existsSync(join(repo, 'tasks', 'nightly.yaml'))).toBe(false);
  expect(git(repo, 'status', '--porcelain')).toBe('');
});
