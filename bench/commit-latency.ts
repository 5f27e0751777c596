// Commit-to-applied latency of `caduceus up` on a local repository (issue 3), run with:
//   npm run build && node dist/bench/commit-latency.js
// 50 commits, each changing one skill of a 50-skill repository, made with `git commit` as
// an operator would. Measured from the moment `git commit` is started to the moment the
// loop records the revision as applied. Baseline in the same run: a plain chokidar
// watcher on the same refs/heads directory seeing the same commit (the floor any
// ref-watching reconciler pays), and `git commit` itself. Appends to bench/RESULTS.md.

import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { watch } from 'chokidar';
import { startApp } from '../app/app.js';

const COMMITS = 50;
const SKILLS = 50;
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@caduceus.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@caduceus.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
const gitAsync = promisify(execFile);

function skill(i: number, run = `echo skill ${i}`): string {
  return (
    `apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: skill-${i}\n` +
    `spec:\n  version: "1.0.0"\n  description: Generated skill ${i}\n  steps:\n    - run: ${JSON.stringify(run)}\n`
  );
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const repo = mkdtempSync(join(tmpdir(), 'cad-bench-latency-'));
git(repo, 'init', '-q', '-b', 'main');
mkdirSync(join(repo, 'skills'));
for (let i = 0; i < SKILLS; i++) writeFileSync(join(repo, 'skills', `skill-${i}.yaml`), skill(i));
git(repo, 'add', '-A');
git(repo, 'commit', '-q', '-m', 'skills');

const app = await startApp({
  repo,
  stateDir: mkdtempSync(join(tmpdir(), 'cad-bench-latency-state-')),
  listen: '127.0.0.1:0',
});
await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'), 60_000);

// When the loop records a revision as applied; wrapping the store keeps the clock exact.
const appliedAt = new Map<string, number>();
const record = app.core.recordApplied.bind(app.core);
app.core.recordApplied = (revision, summary, events) => {
  appliedAt.set(revision, performance.now());
  record(revision, summary, events);
};

let baselineSeen: (() => void) | undefined;
const baseline = watch(join(repo, '.git', 'refs', 'heads'), {
  ignoreInitial: true,
  ignored: (p: string) => p.endsWith('.lock'),
});
baseline.on('all', () => baselineSeen?.());
await new Promise<void>((r) => baseline.once('ready', () => r()));

const latency: number[] = [];
const watcherMs: number[] = [];
const commitMs: number[] = [];
let baselineMissed = 0;
for (let k = 0; k < COMMITS; k++) {
  writeFileSync(join(repo, 'skills', `skill-${k % SKILLS}.yaml`), skill(k % SKILLS, `echo change ${k}`));
  await gitAsync('git', ['add', '-A'], { cwd: repo, env: GIT_ENV });
  // chokidar drops a second change of one file within 50 ms, hence the pause between
  // commits below; a miss is counted rather than waited for.
  const seen = new Promise<number | undefined>((r) => {
    baselineSeen = () => r(performance.now());
    setTimeout(() => r(undefined), 5_000).unref();
  });
  const t0 = performance.now();
  await gitAsync('git', ['commit', '-q', '-m', `change ${k}`], { cwd: repo, env: GIT_ENV });
  commitMs.push(performance.now() - t0);
  const head = (await gitAsync('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
  await app.waitForRevision(head, 10_000);
  const seenAt = await seen;
  if (seenAt === undefined) baselineMissed++;
  else watcherMs.push(seenAt - t0);
  latency.push((appliedAt.get(head) as number) - t0);
  await new Promise((r) => setTimeout(r, 100));
}
await baseline.close();
await app.stop();

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const row = (name: string, xs: number[]): string =>
  `| ${name} | ${pct(xs, 50).toFixed(1)} ms | ${pct(xs, 99).toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms |`;
const lines = [
  '',
  `## Commit-to-applied latency, local repository (issue 3) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/commit-latency.js`',
  `Machine: ${machine}`,
  `${COMMITS} commits, each changing one skill of a ${SKILLS}-skill repository; ` +
    'clock starts when `git commit` is spawned.',
  '',
  '| measure | p50 | p99 | max |',
  '|---|---|---|---|',
  row('commit → applied by `caduceus up` (all controllers)', latency),
  row(
    'baseline: commit → plain chokidar watcher on refs/heads fires' +
      (baselineMissed ? ` (missed ${baselineMissed})` : ''),
    watcherMs,
  ),
  row('baseline: `git commit` itself', commitMs),
  '',
  `Ratio to the chokidar baseline: p50 ${(pct(latency, 50) / pct(watcherMs, 50)).toFixed(2)}×, ` +
    `p99 ${(pct(latency, 99) / pct(watcherMs, 99)).toFixed(2)}×. ` +
    `Targets: p50 < 300 ms (${pct(latency, 50) < 300 ? 'met' : 'MISSED'}), ` +
    `p99 < 1 s (${pct(latency, 99) < 1000 ? 'met' : 'MISSED'}).`,
  '',
];
process.stdout.write(lines.join('\n'));
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
