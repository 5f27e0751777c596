// Benchmarks of the reconciler core (issue 3), run with:
//   npm run build && node dist/bench/reconciler.js
// 1. State store: status updates per second through CoreStore.writeStep (one transaction
//    per reconcile step, as the loop does) against raw better-sqlite3 upserts of the same
//    rows in the same run.
// 2. One changed file in a 10,000-skill repository: time from commit to applied (plan +
//    apply), against the first full apply of the same repository, and peak RSS.
// Results are appended to bench/RESULTS.md.

import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore } from '../reconciler/state/core-store.js';
import { SqliteDatabase } from '../reconciler/state/sqlite-db.js';
import { startApp } from '../app/app.js';
import type { Resource } from '../reconciler/types.js';
import { row } from './markdown.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@caduceus.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@caduceus.invalid',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();

function storeBench(n: number): { ours: number; raw: number } {
  const core = new CoreStore(new StateStore({ stateDir: mkdtempSync(join(tmpdir(), 'cad-bench-store-')) }));
  const resource = (i: number): Resource =>
    ({
      apiVersion: 'caduceus.dev/v1',
      kind: 'Skill',
      metadata: { name: `s${i % 1000}` },
      spec: { version: '1.0.0' },
      source: { file: 'x.yaml', line: 1, column: 1 },
      hash: `h${i}`,
    }) as unknown as Resource;
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    core.writeStep({
      key: `Skill/s${i % 1000}`,
      revision: `r${i}`,
      applied: resource(i),
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `applied r${i}` }],
      events: [],
    });
  }
  const ours = n / ((performance.now() - t) / 1000);
  core.store.close();

  // Raw better-sqlite3 with the same pragmas, as the baseline.
  const raw = new SqliteDatabase(join(mkdtempSync(join(tmpdir(), 'cad-bench-raw-')), 'state.db')).raw;
  raw.exec('CREATE TABLE status (key TEXT PRIMARY KEY, conditions TEXT, updated_at TEXT)');
  const up = raw.prepare(
    `INSERT INTO status (key, conditions, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET conditions = excluded.conditions, updated_at = excluded.updated_at`,
  );
  const one = raw.transaction((i: number) =>
    up.run(`Skill/s${i % 1000}`, JSON.stringify([{ type: 'Ready', status: 'True' }]), new Date().toISOString()),
  );
  t = performance.now();
  for (let i = 0; i < n; i++) one.immediate(i);
  const rawRate = n / ((performance.now() - t) / 1000);
  raw.close();
  return { ours, raw: rawRate };
}

function skill(i: number, run = `echo skill ${i}`): string {
  return (
    `apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: skill-${i}\n` +
    `spec:\n  version: "1.0.0"\n  description: Generated skill ${i}\n  steps:\n    - run: ${JSON.stringify(run)}\n`
  );
}

async function incrementalBench(n: number): Promise<{ fullMs: number; incrementalMs: number[]; rssMb: number }> {
  const repo = mkdtempSync(join(tmpdir(), 'cad-bench-repo-'));
  git(repo, 'init', '-q', '-b', 'main');
  mkdirSync(join(repo, 'skills'));
  for (let i = 0; i < n; i++) writeFileSync(join(repo, 'skills', `skill-${i}.yaml`), skill(i));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'many skills');
  const t0 = performance.now();
  const app = await startApp({
    repo,
    stateDir: mkdtempSync(join(tmpdir(), 'cad-bench-state-')),
    listen: '127.0.0.1:0',
  });
  await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'), 120_000);
  const fullMs = performance.now() - t0;
  const incrementalMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    writeFileSync(join(repo, 'skills', 'skill-7.yaml'), skill(7, `echo change ${k}`));
    git(repo, 'commit', '-q', '-am', `change ${k}`);
    const head = git(repo, 'rev-parse', 'HEAD');
    const t = performance.now();
    // Measured from the moment the commit exists; the ref watcher would add its own latency,
    // which bench/commit-latency.ts measures separately.
    await app.reconciler.requestSync();
    await app.waitForRevision(head, 10_000);
    incrementalMs.push(performance.now() - t);
  }
  await app.stop();
  return { fullMs, incrementalMs, rssMb: process.resourceUsage().maxRSS / 1024 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const store = storeBench(20_000);
const inc = await incrementalBench(10_000);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const lines = [
  '',
  `## Reconciler core (issue 3) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/reconciler.js`',
  `Machine: ${machine}`,
  '',
  '| measure | result | baseline in the same run | ratio | target |',
  '|---|---|---|---|---|',
  row(
    'state store status updates (one transaction each, 20,000)',
    `${Math.round(store.ours).toLocaleString('en')}/s`,
    `raw better-sqlite3 upsert: ${Math.round(store.raw).toLocaleString('en')}/s`,
    (store.ours / store.raw).toFixed(2),
    '≥ 10,000/s',
  ),
  row(
    'one changed file in a 10,000-skill repo: plan + apply (median of 5)',
    `${median(inc.incrementalMs).toFixed(0)} ms`,
    `first full apply: ${inc.fullMs.toFixed(0)} ms`,
    (median(inc.incrementalMs) / inc.fullMs).toFixed(3),
    '< 200 ms',
  ),
  `| peak RSS of the process over both | ${inc.rssMb.toFixed(0)} MB | | | < 300 MB |`,
  '',
];
process.stdout.write(lines.join('\n'));
appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
