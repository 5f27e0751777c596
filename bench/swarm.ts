// Benchmark of the Swarm backend and of leader failover (issue 16), run with:
//   npm run build && node dist/bench/swarm.js
// 1. The price of the orchestrator: one Task of 60 `echo hi` subtasks through Swarm jobs
//    against the same Task through the Docker backend, on the same engine (a single-node
//    swarm), at concurrency 6 (the Runtime's default maximum). Swarm is measured with
//    network none (the instance's internal overlay network, the default) and bridge.
// 2. Leader failover: two `caduceus up` replicas on one PostgreSQL database; the leader is
//    killed with SIGKILL and the clock stops when the follower's /status says leader.
// Needs test/env/ensure-docker.sh, ensure-swarm.sh and ensure-postgres.sh (what `npm test`
// runs first). Results are appended to bench/RESULTS.md.

import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { register as execution } from '../controllers/execution/index.js';
import { register as subagents } from '../controllers/tasks/index.js';
import { compose, lateBoundRunner } from '../app/compose.js';
import { SANDBOX_IMAGE } from '../controllers/execution/runtime-config.js';
import { defaultRuntime } from '../reconciler/runtime-defaults.js';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore } from '../reconciler/state/core-store.js';
import { silentLogger } from '../reconciler/log.js';
import type { Resource, Snapshot } from '../reconciler/types.js';

const exec = promisify(execFile);
const SUBTASKS = 60;
const CONCURRENCY = 6;
const FAILOVERS = 3;
const PG_ADMIN = process.env.CADUCEUS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const CLI = join(import.meta.dirname, '..', 'app', 'cli.js');

function resource(kind: string, name: string, spec: unknown): Resource {
  return {
    apiVersion: 'caduceus.dev/v1',
    kind,
    metadata: { name },
    spec,
    source: { file: `${name}.yaml`, line: 1, column: 1 },
    hash: randomBytes(8).toString('hex'),
  } as Resource;
}

/** Wall time of one Task of SUBTASKS subtasks in the given mode and network; failures counted. */
async function fanOut(mode: 'docker' | 'swarm', network: 'none' | 'bridge'): Promise<{ ms: number; failed: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), `cad-bench-${mode}-`));
  const store = new StateStore({ stateDir });
  const snap: Snapshot = {
    revision: 'bench',
    resources: new Map([
      [
        'Runtime/default',
        resource('Runtime', 'default', {
          ...defaultRuntime(),
          execution: { ...defaultRuntime().execution, mode },
          isolation: { ...defaultRuntime().isolation, network },
        }),
      ],
      [
        'Task/fan-out',
        resource('Task', 'fan-out', {
          subtasks: Array.from({ length: SUBTASKS }, (_, i) => ({ name: `s${i}`, run: 'echo hi' })),
          concurrency: CONCURRENCY,
          retry: { maxAttempts: 1 },
          timeout: '30m',
        }),
      ],
    ]),
  };
  const { runner, provide } = lateBoundRunner();
  const composition = compose(
    {
      store,
      events: new CoreStore(store),
      log: silentLogger,
      stateDir,
      snapshot: () => snap,
      runner,
      metrics: new Registry(),
    },
    provide,
    [execution, subagents],
  );
  const t0 = performance.now();
  const report = await runner.runTask('fan-out', { trigger: { source: 'bench' } });
  const ms = performance.now() - t0;
  await composition.stop();
  store.close();
  rmSync(stateDir, { recursive: true, force: true });
  const failed = report.subtasks.filter((s) => s.status !== 'succeeded' || s.output.trim() !== 'hi').length;
  return { ms, failed };
}

interface Up {
  state: string;
  url: Promise<string>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<unknown>;
}

function startUp(repo: string, url: string): Up {
  const state = mkdtempSync(join(tmpdir(), 'cad-bench-replica-'));
  const child = spawn(
    process.execPath,
    [CLI, 'up', '--repo', repo, '--state-dir', state, '--state', url, '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  const exited = new Promise((r) => child.once('exit', r));
  return {
    state,
    url: new Promise((resolve, reject) => {
      const on = (b: Buffer): void => {
        logs += b.toString();
        const m = /caduceus is up\s+url=(\S+)/.exec(logs);
        if (m) resolve(m[1] as string);
      };
      child.stdout.on('data', on);
      child.stderr.on('data', on);
      child.once('exit', () => reject(new Error(`up exited:\n${logs}`)));
    }),
    kill: (s) => child.kill(s),
    exited,
  };
}

async function role(url: string): Promise<string | undefined> {
  try {
    return ((await (await fetch(`${url}/status`)).json()) as { role?: string }).role;
  } catch {
    return undefined;
  }
}

/** One failover: ms from SIGKILL of the leader until the follower reports itself leader. */
async function failover(repo: string): Promise<number> {
  const name = `caduceus_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = PG_ADMIN.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const ups: Up[] = [];
  try {
    const a = startUp(repo, url);
    ups.push(a);
    const aUrl = await a.url;
    const b = startUp(repo, url);
    ups.push(b);
    const bUrl = await b.url;
    if ((await role(aUrl)) !== 'leader' || (await role(bUrl)) !== 'follower') throw new Error('unexpected roles');
    const t0 = performance.now();
    a.kill('SIGKILL');
    while ((await role(bUrl)) !== 'leader') {
      if (performance.now() - t0 > 60_000) throw new Error('no takeover within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return performance.now() - t0;
  } finally {
    // Whatever happened, no process, state directory or database of the run is left.
    for (const u of ups) u.kill('SIGKILL');
    await Promise.all(ups.map((u) => u.exited));
    for (const u of ups) rmSync(u.state, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

// Warm the image and the engine once on each path.
await fanOut('docker', 'none');
const docker = await fanOut('docker', 'none');
const swarmNone = await fanOut('swarm', 'none');
const swarmBridge = await fanOut('swarm', 'bridge');
const failed = docker.failed + swarmNone.failed + swarmBridge.failed;

const repo = mkdtempSync(join(tmpdir(), 'cad-bench-repo-'));
await exec('git', ['init', '-q', '-b', 'main'], { cwd: repo });
await exec(
  'git',
  ['-c', 'user.name=b', '-c', 'user.email=b@b.invalid', 'commit', '-q', '--allow-empty', '-m', 'empty config'],
  { cwd: repo },
);
const takeovers: number[] = [];
for (let i = 0; i < FAILOVERS; i++) takeovers.push(await failover(repo));
rmSync(repo, { recursive: true, force: true });
takeovers.sort((x, y) => x - y);

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const { stdout: engine } = await exec('docker', ['version', '--format', '{{.Server.Version}}']);
const per = (ms: number): string => `${(ms / 1000).toFixed(1)} s (${(ms / SUBTASKS).toFixed(0)} ms/subtask)`;
const lines = [
  '',
  `## Swarm jobs and leader failover (issue 16) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/swarm.js`',
  `Machine: ${machine}, Docker engine ${engine.trim()} as a single-node swarm, PostgreSQL from Debian on loopback`,
  '',
  `One Task of ${SUBTASKS} \`echo hi\` subtasks in ${SANDBOX_IMAGE}, concurrency ${CONCURRENCY}, ` +
    'same engine for both backends.',
  '',
  '| measure | result | baseline in the same run | ratio |',
  '|---|---|---|---|',
  `| ${SUBTASKS} subtasks as Swarm jobs, network none (the instance's internal overlay) | ${per(swarmNone.ms)} ` +
    `| Docker backend, network none: ${per(docker.ms)} | ${(swarmNone.ms / docker.ms).toFixed(1)}× |`,
  `| ${SUBTASKS} subtasks as Swarm jobs, network bridge | ${per(swarmBridge.ms)} | same Docker run ` +
    `| ${(swarmBridge.ms / docker.ms).toFixed(1)}× |`,
  `| leader failover: SIGKILL of the leader → follower's /status says leader (${FAILOVERS} runs; lease 8 s, ` +
    `followers try every second) | median ${((takeovers[1] ?? 0) / 1000).toFixed(1)} s, ` +
    `max ${((takeovers[FAILOVERS - 1] ?? 0) / 1000).toFixed(1)} s | target < 15 s | |`,
  failed ? `\n${failed} subtask(s) did not print "hi": the figures above are not valid.\n` : '',
];
process.stdout.write(`${lines.join('\n')}\n`);
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
process.exitCode = failed > 0 || (takeovers[FAILOVERS - 1] ?? Infinity) >= 15_000 ? 1 : 0;
