// Benchmark of the subagent fan-out (issue 4), run with:
//   npm run build && node dist/bench/subagents.js
// 200 trivial subtasks (`true`) at concurrency 6 through runTask with the local backend
// (workspace per subtask, process group, output capture, run history) against a plain
// child_process.spawn loop of `sh -c true` with the same concurrency, in the same run.
// Rounds rotate between the sides; the median of per-round ratios is the result. A third
// side, a runner.exec loop, splits the cost between the execution engine and this layer.
// The result is appended to bench/RESULTS.md.

import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadDirectory } from '../reconciler/loader.js';
import { compose, lateBoundRunner } from '../app/compose.js';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore } from '../reconciler/state/core-store.js';
import { silentLogger } from '../reconciler/log.js';
import { keyOf, type ControllerDeps, type Resource, type ResourceKey } from '../reconciler/types.js';
import { register as execution } from '../controllers/execution/index.js';
import { register as subagents } from '../controllers/tasks/index.js';
import { row } from './markdown.js';

const SUBTASKS = 200;
const CONCURRENCY = 6;
const ROUNDS = 9;

async function ours(): Promise<{ task: () => Promise<number>; exec: () => Promise<number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cad-bench-subagents-'));
  const subtasks = Array.from({ length: SUBTASKS }, (_, i) => `    - name: s${i}\n      run: "true"\n`).join('');
  writeFileSync(
    join(dir, 'config.yaml'),
    'apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: default\nspec:\n  execution:\n    mode: local\n' +
      `  concurrency:\n    default: ${CONCURRENCY}\n    maximum: ${CONCURRENCY}\n    queueLimit: ${SUBTASKS}\n` +
      '---\napiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: fan\n' +
      `spec:\n  concurrency: ${CONCURRENCY}\n  subtasks:\n${subtasks}`,
  );
  const { resources, findings } = await loadDirectory(dir);
  if (findings.some((f) => f.severity === 'error')) throw new Error(JSON.stringify(findings));
  const map = new Map<ResourceKey, Resource>();
  for (const r of resources) map.set(keyOf(r), r);
  const stateDir = mkdtempSync(join(tmpdir(), 'cad-bench-subagents-state-'));
  const { runner, provide } = lateBoundRunner();
  const store = new StateStore({ stateDir });
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir,
    snapshot: () => ({ revision: 'bench', resources: map }),
    runner,
    metrics: new Registry(),
  };
  compose(deps, provide, [execution, subagents]);
  const task = async (): Promise<number> => {
    const t = performance.now();
    const report = await runner.runTask('fan', { trigger: { source: 'bench' } });
    if (report.status !== 'succeeded') throw new Error(`bench task ${report.status}`);
    return performance.now() - t;
  };
  // The same processes through runner.exec alone: what the execution engine costs, so the
  // subagent layer's own share (queue, retries, report, run history) can be read off.
  const exec = (): Promise<number> =>
    loop(async () => {
      const r = await runner.exec({ command: 'true' }, { trigger: { source: 'bench' } });
      if (r.status !== 'succeeded') throw new Error(`bench exec ${r.status}`);
    });
  return { task, exec };
}

async function loop(one: () => Promise<void>): Promise<number> {
  const t = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < SUBTASKS) await one();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - t;
}

function spawnOne(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

function baseline(): Promise<number> {
  return loop(spawnOne);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const sides = await ours();
await sides.task(); // warm-up: module loading, SQLite statements
await sides.exec();
await baseline();
const a: number[] = [];
const b: number[] = [];
const e: number[] = [];
// Rotating which side goes first, so drifting load from other work hits all alike.
const order = [
  () => sides.task().then((x) => a.push(x)),
  () => baseline().then((x) => b.push(x)),
  () => sides.exec().then((x) => e.push(x)),
];
for (let i = 0; i < ROUNDS; i++)
  for (let k = 0; k < order.length; k++) await (order[(i + k) % order.length] as () => Promise<number>)();
// The median of per-round ratios: each pair ran back to back under the same load.
const ratio = median(a.map((x, i) => x / (b[i] as number)));
const layer = median(a.map((x, i) => x / (e[i] as number)));
const engine = median(e.map((x, i) => x / (b[i] as number)));
// The load average says how much other work shared the cores while this ran.
const load = loadavg()
  .map((x) => x.toFixed(1))
  .join(' / ');
const cores = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'})`;
const machine = `${cores}, Node ${process.version}; load average at the end ${load}`;
const lines = [
  '',
  `## Subagents: ${SUBTASKS} trivial subtasks at concurrency ${CONCURRENCY}, local backend (issue 4) — ` +
    new Date().toISOString().slice(0, 10),
  '',
  'Command: `npm run build && node dist/bench/subagents.js`',
  `Machine: ${machine}`,
  '',
  '| measure | result | baseline in the same run | ratio | target |',
  '|---|---|---|---|---|',
  row(
    `runTask, ${SUBTASKS} × \`true\` (median of ${ROUNDS})`,
    `${median(a).toFixed(0)} ms (${((SUBTASKS / median(a)) * 1000).toFixed(0)} subtasks/s)`,
    `plain \`child_process.spawn\` loop: ${median(b).toFixed(0)} ms`,
    `${ratio.toFixed(2)} (median of per-round ratios)`,
    '≤ 1.25',
  ),
  row(
    'runner.exec loop alone (same processes, no task layer)',
    `${median(e).toFixed(0)} ms`,
    'plain spawn loop',
    engine.toFixed(2),
    '',
  ),
  `| runTask against the runner.exec loop (the subagent layer's own share) | | | ${layer.toFixed(2)} | |`,
  row(
    'all rounds: runTask / spawn / exec',
    `${a.map((x) => x.toFixed(0)).join(', ')} ms`,
    `${b.map((x) => x.toFixed(0)).join(', ')} ms`,
    `${e.map((x) => x.toFixed(0)).join(', ')} ms`,
    '',
  ),
  '',
];
process.stdout.write(lines.join('\n'));
if (process.argv.includes('--no-append')) process.exit(ratio <= 1.25 ? 0 : 1);
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
process.exit(ratio <= 1.25 ? 0 : 1);
