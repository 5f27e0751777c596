// Benchmark of the loader behind `caduceus validate` (issue 2), run with:
//   npm run build && node dist/bench/validate.js
// Generates a repository of 10,000 skills and 1,000 tasks spread over files the way a team
// would keep them (one file per area, 100 skills or 50 tasks each), then measures:
// 1. a full load (read, parse, schema, cross-references) with a fresh Loader, against raw
//    `yaml.parseAllDocuments` of the same files in the same run (the baseline);
// 2. an incremental load after one file changed, with the same Loader;
// 3. peak RSS of the process.
// Results are appended to bench/RESULTS.md.

import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Loader, listConfigFiles, type SourceFile } from '../reconciler/loader.js';

const SKILLS = 10_000;
const TASKS = 1_000;
const SKILLS_PER_FILE = 100;
const TASKS_PER_FILE = 50;

function skillDoc(i: number, note = ''): string {
  const calls = i % 10 === 9 ? `    - id: inner\n      skill:\n        name: skill-${i - 1}\n        params:\n          scope: all\n          window: 24h\n` : '';
  return `---
apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: skill-${i}
  labels:
    team: area-${Math.floor(i / SKILLS_PER_FILE)}
spec:
  version: "1.${i % 7}.0"
  description: Generated skill ${i}${note}
  params:
    - name: scope
      type: enum
      values: [all, auth, network]
      default: all
    - name: window
      type: duration
      default: 72h
      description: How far back to look
  steps:
    - id: scan
      run: grep -c "$PARAM_SCOPE" "$CADUCEUS_CONFIG_DIR/data/logs/auth.log" || true
${calls}    - run: echo "$STEP_SCAN_OUTPUT matches"
      timeout: 30s
`;
}

function taskDoc(i: number): string {
  const subtasks = [0, 1, 2, 3]
    .map((k) => `    - name: part-${k}\n      skill: skill-${(i * 4 + k) % SKILLS}\n      params:\n        scope: auth\n        window: 72h\n`)
    .join('');
  return `---
apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: task-${i}
spec:
  description: Generated task ${i}
  concurrency: 4
  retry:
    maxAttempts: 2
  subtasks:
${subtasks}`;
}

function generate(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cad-bench-validate-'));
  mkdirSync(join(dir, 'skills'));
  mkdirSync(join(dir, 'tasks'));
  for (let f = 0; f < SKILLS / SKILLS_PER_FILE; f++) {
    let text = '';
    for (let i = f * SKILLS_PER_FILE; i < (f + 1) * SKILLS_PER_FILE; i++) text += skillDoc(i);
    writeFileSync(join(dir, 'skills', `area-${String(f).padStart(3, '0')}.yaml`), text);
  }
  for (let f = 0; f < TASKS / TASKS_PER_FILE; f++) {
    let text = '';
    for (let i = f * TASKS_PER_FILE; i < (f + 1) * TASKS_PER_FILE; i++) text += taskDoc(i);
    writeFileSync(join(dir, 'tasks', `batch-${String(f).padStart(2, '0')}.yaml`), text);
  }
  writeFileSync(join(dir, 'runtime.yaml'), 'apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: main\nspec:\n  concurrency:\n    default: 3\n    maximum: 6\n');
  return dir;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function baseline(dir: string, files: SourceFile[]): Promise<number> {
  const t = performance.now();
  let docs = 0;
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f.path), 'utf8')));
  for (const text of texts) {
    const parsed = parseAllDocuments(text);
    if (Array.isArray(parsed)) for (const d of parsed) if (d.toJS()) docs++;
  }
  if (docs !== SKILLS + TASKS + 1) throw new Error(`baseline saw ${docs} documents`);
  return performance.now() - t;
}

async function full(dir: string): Promise<{ ms: number; loader: Loader; files: SourceFile[] }> {
  const t = performance.now();
  const files = await listConfigFiles(dir);
  const loader = new Loader();
  const r = await loader.load(files);
  const ms = performance.now() - t;
  if (r.findings.length > 0 || r.resources.length !== SKILLS + TASKS + 1) {
    throw new Error(`unexpected load: ${r.resources.length} resources, findings ${JSON.stringify(r.findings.slice(0, 3))}`);
  }
  return { ms, loader, files };
}

const dir = generate();
const files0 = await listConfigFiles(dir);
// Warm-up: schema compilation and JIT, paid once per process by the CLI as well.
await baseline(dir, files0);
const first = await full(dir);
const fullMs: number[] = [first.ms];
const baseMs: number[] = [];
for (let k = 0; k < 3; k++) {
  baseMs.push(await baseline(dir, files0));
  fullMs.push((await full(dir)).ms);
}

// Incremental: one skill file changes, the same Loader loads the new file list.
const loader = first.loader;
const incMs: number[] = [];
const changed = join(dir, 'skills', 'area-042.yaml');
for (let k = 0; k < 5; k++) {
  writeFileSync(changed, readFileSync(changed, 'utf8').replace(/Generated skill 4200(\n| changed \d+\n)/, `Generated skill 4200 changed ${k}\n`));
  const t = performance.now();
  const files = await listConfigFiles(dir);
  const r = await loader.load(files);
  incMs.push(performance.now() - t);
  if (loader.lastParsed !== 1 || r.findings.length > 0) throw new Error(`incremental parsed ${loader.lastParsed} files, ${r.findings.length} findings`);
}
// The loader alone, without re-reading the directory (what the reconciler does with git blob ids).
const loaderOnlyMs: number[] = [];
for (let k = 0; k < 5; k++) {
  writeFileSync(changed, readFileSync(changed, 'utf8').replace(/Generated skill 4200 changed \d+\n/, `Generated skill 4200 changed ${k + 10}\n`));
  const files = await listConfigFiles(dir);
  const t = performance.now();
  await loader.load(files);
  loaderOnlyMs.push(performance.now() - t);
}

const rssMb = process.resourceUsage().maxRSS / 1024;
const fullMed = median(fullMs);
const baseMed = median(baseMs);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
const lines = [
  '',
  `## validate: ${SKILLS.toLocaleString('en')} skills + ${TASKS.toLocaleString('en')} tasks (${new Date().toISOString().slice(0, 10)})`,
  '',
  'Command: `npm run build && node dist/bench/validate.js`',
  `Machine: ${machine}`,
  `Repository: ${files0.length} files (${SKILLS_PER_FILE} skills or ${TASKS_PER_FILE} tasks per file), every task calls 4 skills with params, every tenth skill calls another.`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| full load (read + parse + schema + cross-refs), median of 4 | ${fullMed.toFixed(0)} ms (first, cold: ${first.ms.toFixed(0)} ms) | < 2000 ms |`,
  `| baseline: raw yaml.parseAllDocuments + toJS of the same files | ${baseMed.toFixed(0)} ms | — |`,
  `| full load / baseline | ${(fullMed / baseMed).toFixed(2)}× | — |`,
  `| incremental, one file changed (list + read dir + load), median of 5 | ${median(incMs).toFixed(1)} ms | < 100 ms |`,
  `| incremental, loader only (files already listed), median of 5 | ${median(loaderOnlyMs).toFixed(1)} ms | — |`,
  `| incremental / full | ${(median(incMs) / fullMed).toFixed(3)}× | — |`,
  `| peak RSS | ${rssMb.toFixed(0)} MB | < 300 MB |`,
  '',
];
process.stdout.write(lines.join('\n'));
if (!process.argv.includes('--dry-run')) appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), lines.join('\n'));
