// Benchmark of the Docker backend (issue 4), run with:
//   npm run build && node dist/bench/docker.js
// 30 trivial subtasks (`echo hi`) of one Task through runTask in docker mode (the subagent
// layer over runner.exec: fresh workspace, create + attach + start + wait through
// dockerode, removal off the caller's path), and the same 30 through runner.exec alone,
// against a loop of `docker run --rm` with the same isolation flags, all at concurrency 3
// (the Runtime default), interleaved in rounds so load from elsewhere falls on every side.
// Needs a Docker engine with caduceus-sandbox:latest (test/env/ensure-docker.sh).
// Results are appended to bench/RESULTS.md.

import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
import { row } from './markdown.js';

const exec = promisify(execFile);
const RUNS = 30;
const CONCURRENCY = 3;
const ROUNDS = 3;

async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await job(next++);
    }),
  );
  return performance.now() - t0;
}

const stateDir = mkdtempSync(join(tmpdir(), 'cad-bench-docker-'));
const store = new StateStore({ stateDir });
const rt = {
  apiVersion: 'caduceus.dev/v1',
  kind: 'Runtime',
  metadata: { name: 'default' },
  spec: { ...defaultRuntime(), execution: { ...defaultRuntime().execution, mode: 'docker' } },
  source: { file: 'runtime.yaml', line: 1, column: 1 },
  hash: 'bench',
} as Resource;
const perRound = RUNS / ROUNDS;
const task = {
  apiVersion: 'caduceus.dev/v1',
  kind: 'Task',
  metadata: { name: 'fan-out' },
  spec: {
    subtasks: Array.from({ length: perRound }, (_, i) => ({ name: `s${i}`, run: 'echo hi' })),
    concurrency: CONCURRENCY,
    retry: { maxAttempts: 1 },
    timeout: '10m',
  },
  source: { file: 'task.yaml', line: 1, column: 1 },
  hash: 'bench-task',
} as Resource;
const snap: Snapshot = {
  revision: 'bench',
  resources: new Map([
    ['Runtime/default', rt],
    ['Task/fan-out', task],
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

const cliWorkspace = mkdtempSync(join(tmpdir(), 'cad-bench-cli-'));
chmodSync(cliWorkspace, 0o777);
const cliArgs = (i: number): string[] => {
  const ws = join(cliWorkspace, String(i));
  return [
    'run',
    '--rm',
    '--network',
    'none',
    '--read-only',
    '--tmpfs',
    '/tmp:rw,nosuid,nodev,size=64m,mode=1777',
    '--user',
    '65534:65534',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--label',
    'caduceus.managed=true',
    '--label',
    `caduceus.run=bench-${i}`,
    '-v',
    `${ws}:/workspace:rw`,
    '-w',
    '/workspace',
    SANDBOX_IMAGE,
    '/bin/sh',
    '-c',
    'echo hi',
  ];
};

// Warm both paths once (image layers, CLI binary in the page cache).
await runner.exec({ command: 'echo hi' }, { trigger: { source: 'bench' } });
await exec('docker', cliArgs(-1));

let oursMs = 0;
let taskMs = 0;
let cliMs = 0;
let failures = 0;
for (let r = 0; r < ROUNDS; r++) {
  cliMs += await pool(perRound, CONCURRENCY, async (i) => {
    const { stdout } = await exec('docker', cliArgs(r * perRound + i));
    if (stdout.trim() !== 'hi') failures++;
  });
  oursMs += await pool(perRound, CONCURRENCY, async () => {
    const res = await runner.exec({ command: 'echo hi' }, { trigger: { source: 'bench' } });
    if (res.status !== 'succeeded' || res.output.trim() !== 'hi') failures++;
  });
  const t0 = performance.now();
  const report = await runner.runTask('fan-out', { trigger: { source: 'bench' } });
  taskMs += performance.now() - t0;
  failures += report.subtasks.filter((st) => st.status !== 'succeeded' || st.output.trim() !== 'hi').length;
  if (report.subtasks.length !== perRound) failures++;
}
await composition.stop();
store.close();
rmSync(stateDir, { recursive: true, force: true });
rmSync(cliWorkspace, { recursive: true, force: true });

const ratio = taskMs / cliMs;
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const { stdout: engine } = await exec('docker', ['version', '--format', '{{.Server.Version}}']);
const lines = [
  '',
  `## Docker backend (issue 4) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/docker.js`',
  `Machine: ${machine}, Docker engine ${engine.trim()}`,
  '',
  `${RUNS} runs of \`echo hi\` in ${SANDBOX_IMAGE}, concurrency ${CONCURRENCY} on both sides, ` +
    `in ${ROUNDS} interleaved rounds; the CLI loop uses the same isolation flags (network none, read-only root, ` +
    'tmpfs /tmp, user 65534, cap-drop ALL, no-new-privileges, workspace bind).',
  '',
  '| measure | result | baseline in the same run | ratio | target |',
  '|---|---|---|---|---|',
  row(
    `${RUNS} subtasks through runTask (docker, ${ROUNDS} tasks of ${perRound})`,
    `${taskMs.toFixed(0)} ms (${(taskMs / RUNS).toFixed(0)} ms/run)`,
    `\`docker run --rm\` loop: ${cliMs.toFixed(0)} ms (${(cliMs / RUNS).toFixed(0)} ms/run)`,
    ratio.toFixed(2),
    '< 1',
  ),
  row(
    `${RUNS} runs through runner.exec alone (docker)`,
    `${oursMs.toFixed(0)} ms (${(oursMs / RUNS).toFixed(0)} ms/run)`,
    'same loop',
    (oursMs / cliMs).toFixed(2),
    '',
  ),
  failures ? `\n${failures} run(s) did not print "hi": the figures above are not valid.\n` : '',
];
process.stdout.write(`${lines.join('\n')}\n`);
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
process.exitCode = failures > 0 || ratio >= 1 ? 1 : 0;
