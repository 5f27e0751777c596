// Benchmark of the curator (issue 5), run with:
//   npm run build && node dist/bench/curator.js
// A repository of 10,000 skills (with planted near-duplicates, tasks referencing some of
// them) and 1,000,000 run records in a real SQLite state file. Measures one full curator
// dry-run (load, usage signals, git ages, MinHash/LSH similarity, plan, edits, validation
// of the result, diff) and the peak RSS of the process. Baselines in the same run: the
// time to only load the skills, and naive all-pairs Jaccard on a 1,000-skill subset
// extrapolated to 10,000 skills (n² / 2 pairs). Results are appended to bench/RESULTS.md.

import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../reconciler/state/store.js';
import { RunStore } from '../reconciler/state/runs.js';
import { loadDirectory } from '../reconciler/loader.js';
import { silentLogger } from '../reconciler/log.js';
import { runCurator } from '../controllers/curator/run.js';
import { jaccard, shingles } from '../controllers/curator/minhash.js';
import type { Resource } from '../reconciler/types.js';
import { row } from './markdown.js';

const SKILLS = 10_000;
const RUNS = 1_000_000;
const DUPLICATES = 100;
const DAY = 86_400_000;

const WORDS = (
  'build deploy test lint package publish rotate backup restore sync fetch render ' +
  'report notify archive scan audit migrate seed index ' +
  'compress upload download verify sign encrypt decrypt resize convert export import ' +
  'schedule clean prune tag release bump check ' +
  'kubectl docker git curl jq make npm node python psql redis s3 gcloud terraform helm ' +
  'ansible rsync tar gzip openssl ssh'
).split(' ');

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const rand = lcg(20261125);
const word = (): string => WORDS[Math.floor(rand() * WORDS.length)] as string;
const phrase = (n: number): string => Array.from({ length: n }, word).join(' ');

function skillYaml(name: string, description: string, steps: string[], params: string[]): string {
  return [
    `# ${name}: generated for the curator benchmark`,
    'apiVersion: caduceus.dev/v1',
    'kind: Skill',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  version: "1.0.0"',
    `  description: ${description}`,
    ...(params.length
      ? ['  params:', ...params.flatMap((p) => [`    - name: ${p}`, '      type: string', '      default: x'])]
      : []),
    '  steps:',
    ...steps.map((s) => `    - run: ${JSON.stringify(s)}`),
    '',
  ].join('\n');
}

function makeRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'cad-bench-curator-repo-'));
  mkdirSync(join(repo, 'skills'));
  mkdirSync(join(repo, 'tasks'));
  const bodies: Array<{ description: string; steps: string[] }> = [];
  for (let i = 0; i < SKILLS; i++) {
    let description = phrase(8);
    let steps = [phrase(6), phrase(6), phrase(6)];
    // The last DUPLICATES skills copy an earlier one with a small change: near-duplicates.
    if (i >= SKILLS - DUPLICATES) {
      const src = bodies[(i - (SKILLS - DUPLICATES)) * 37] as { description: string; steps: string[] };
      description = `${src.description} again`;
      steps = src.steps;
    }
    bodies.push({ description, steps });
    writeFileSync(
      join(repo, 'skills', `skill-${i}.yaml`),
      skillYaml(`skill-${i}`, description, steps, i % 5 === 0 ? ['target'] : []),
    );
  }
  for (let t = 0; t < 100; t++) {
    const subtasks = Array.from(
      { length: 5 },
      (_, k) => `    - name: s${k}\n      skill: skill-${(t * 97 + k * 13) % SKILLS}`,
    );
    writeFileSync(
      join(repo, 'tasks', `task-${t}.yaml`),
      `apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: task-${t}\n` +
        `spec:\n  subtasks:\n${subtasks.join('\n')}\n`,
    );
  }
  const date = new Date(Date.now() - 60 * DAY).toISOString();
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@caduceus.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@caduceus.invalid',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env });
  execFileSync('git', ['add', '-A'], { cwd: repo, env });
  execFileSync('git', ['commit', '-q', '-m', 'skills'], { cwd: repo, env });
  return repo;
}

/** 1,000,000 runs over 70 % of the skills in the last 30 days, one transaction. */
function insertRuns(store: StateStore): number {
  new RunStore(store); // its migration creates the table
  const t = performance.now();
  const insert = store.db.prepare(
    `INSERT INTO runs (id, kind, name, version, trigger, started_at, duration_ms, status, attempts)
     VALUES (?, 'skill', ?, '1.0.0', 'bench', ?, 100, ?, 1)`,
  );
  const now = Date.now();
  store.tx(() => {
    for (let i = 0; i < RUNS; i++) {
      // Skewed usage: a few skills take most runs.
      const skill = Math.floor(SKILLS * 0.7 * rand() ** 3);
      insert.run(
        `r${i}`,
        `skill-${skill}`,
        now - Math.floor(rand() * 30 * DAY),
        rand() < 0.05 ? 'failed' : 'succeeded',
      );
    }
  });
  return performance.now() - t;
}

function naiveAllPairs(skills: Resource<'Skill'>[], n: number): { ms: number; pairs: number } {
  const sets = skills.slice(0, n).map((s) => shingles(s.spec));
  const t = performance.now();
  let similar = 0;
  for (let i = 0; i < sets.length; i++)
    for (let j = i + 1; j < sets.length; j++)
      if (jaccard(sets[i] as Set<number>, sets[j] as Set<number>) >= 0.8) similar++;
  void similar;
  return { ms: performance.now() - t, pairs: (n * (n - 1)) / 2 };
}

const repo = makeRepo();
const stateDir = mkdtempSync(join(tmpdir(), 'cad-bench-curator-state-'));
const store = new StateStore({ stateDir });
const insertMs = insertRuns(store);

let t = performance.now();
const loaded = await loadDirectory(repo);
const loadMs = performance.now() - t;
const skills = loaded.resources.filter((r): r is Resource<'Skill'> => r.kind === 'Skill');

t = performance.now();
const report = await runCurator(
  { store, log: silentLogger, stateDir, source: { dir: repo } },
  { dryRun: true, trigger: 'bench' },
);
const dryRunMs = performance.now() - t;
const rssMb = process.resourceUsage().maxRSS / 1024;

const naive = naiveAllPairs(skills, 1000);
const naiveFullMs = naive.ms * ((SKILLS * (SKILLS - 1)) / 2 / naive.pairs);
const similarityMs = report.timings.plan ?? NaN;
const consolidations =
  report.proposals.filter((p) => p.action === 'consolidate').length +
  report.skipped.filter((p) => p.action === 'consolidate').length;
store.close();

if (report.outcome !== 'dry-run') throw new Error(`unexpected outcome ${report.outcome}: ${report.message}`);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const phases = Object.entries(report.timings)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ');
const lines = [
  '',
  `## Curator (issue 5) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/curator.js`',
  `Machine: ${machine}`,
  `Data: ${SKILLS.toLocaleString('en')} skills (${DUPLICATES} planted near-duplicates, 100 tasks), ` +
    `${RUNS.toLocaleString('en')} run records inserted in one transaction in ${(insertMs / 1000).toFixed(1)} s.`,
  `Result: ${consolidations} near-duplicates found of ${DUPLICATES} planted; ` +
    `${report.counts.proposals} proposals (maxProposals 50), ${report.counts.skipped} skipped, ` +
    `${report.counts.stale} stale, ${report.counts.flagged} flagged; ` +
    `phases (ms): ${phases}.`,
  '',
  '| measure | result | baseline in the same run | ratio | target |',
  '|---|---|---|---|---|',
  row(
    'full curator dry-run, 10,000 skills, 1,000,000 runs',
    `${(dryRunMs / 1000).toFixed(2)} s`,
    `loading the skills only: ${(loadMs / 1000).toFixed(2)} s`,
    (dryRunMs / loadMs).toFixed(2),
    '< 10 s',
  ),
  row(
    'similarity + plan (MinHash/LSH + exact check)',
    `${similarityMs} ms`,
    `naive all-pairs Jaccard, 1,000-skill subset (${naive.ms.toFixed(0)} ms) extrapolated to 10,000: ` +
      `${(naiveFullMs / 1000).toFixed(1)} s`,
    (similarityMs / naiveFullMs).toFixed(4),
    '',
  ),
  `| peak RSS of the process (incl. generating the data) | ${rssMb.toFixed(0)} MB | | | < 500 MB |`,
  '',
];
process.stdout.write(lines.join('\n'));
// --no-write: print only (for trying changes without adding a section).
if (!process.argv.includes('--no-write'))
  appendFileSync(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
