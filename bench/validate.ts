// Benchmark of the loader behind `caduceus validate` (issue 2), run with:
//   npm run build && node dist/bench/validate.js
// Generates a repository of 10,000 skills and 1,000 tasks spread over files the way a team
// would keep them (one file per area, 100 skills or 50 tasks each), then measures:
// 1. a full load (read, parse, schema, cross-references) with a fresh Loader in a fresh
//    process, against raw `yaml.parseAllDocuments` of the same files (the baseline), also
//    in a fresh process, alternating, in the same run;
// 2. incremental loads after one file changed, with the same Loader;
// 3. peak RSS of the loading process.
// Results are appended to bench/RESULTS.md.

import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Loader, listConfigFiles } from '../reconciler/loader.js';
import { row } from './markdown.js';

const SKILLS = 10_000;
const TASKS = 1_000;
const SKILLS_PER_FILE = 100;
const TASKS_PER_FILE = 50;

function skillDoc(i: number, note = ''): string {
  const calls =
    i % 10 === 9
      ? `    - id: inner\n      skill:\n        name: skill-${i - 1}\n` +
        '        params:\n          scope: all\n          window: 24h\n'
      : '';
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
    .map(
      (k) =>
        `    - name: part-${k}\n      skill: skill-${(i * 4 + k) % SKILLS}\n` +
        '      params:\n        scope: auth\n        window: 72h\n',
    )
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
  writeFileSync(
    join(dir, 'runtime.yaml'),
    'apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: main\n' +
      'spec:\n  concurrency:\n    default: 3\n    maximum: 6\n',
  );
  return dir;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

interface ChildResult {
  ms: number;
  cpuMs: number;
  rssMb: number;
  incMs?: number[];
  incLoaderMs?: number[];
}

/** Baseline child: raw yaml parse (+ toJS) of every file, nothing else. */
async function baselineChild(dir: string): Promise<ChildResult> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const files = await listConfigFiles(dir);
  let docs = 0;
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f.path), 'utf8')));
  for (const text of texts) {
    const parsed = parseAllDocuments(text);
    if (Array.isArray(parsed)) for (const d of parsed) if (d.toJS()) docs++;
  }
  if (docs !== SKILLS + TASKS + 1) throw new Error(`baseline saw ${docs} documents`);
  return { ms: performance.now() - t, cpuMs: cpuMs(cpu), rssMb: process.resourceUsage().maxRSS / 1024 };
}

/** Loader child: a full load as `caduceus validate` does it, then incremental loads with the same Loader. */
async function loaderChild(dir: string): Promise<ChildResult> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const loader = new Loader();
  const r = await loader.load(await listConfigFiles(dir));
  const ms = performance.now() - t;
  const fullCpu = cpuMs(cpu);
  if (r.findings.length > 0 || r.resources.length !== SKILLS + TASKS + 1) {
    throw new Error(
      `unexpected load: ${r.resources.length} resources, findings ${JSON.stringify(r.findings.slice(0, 3))}`,
    );
  }
  const changed = join(dir, 'skills', 'area-042.yaml');
  const edit = (k: number): void =>
    writeFileSync(
      changed,
      readFileSync(changed, 'utf8').replace(
        /Generated skill 4200[^\n]*\n/,
        `Generated skill 4200 edit ${process.pid}-${k}\n`,
      ),
    );
  const incMs: number[] = [];
  const incLoaderMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    edit(k);
    const t1 = performance.now();
    const again = await loader.load(await listConfigFiles(dir));
    incMs.push(performance.now() - t1);
    if (loader.lastParsed !== 1 || again.findings.length > 0)
      throw new Error(`incremental parsed ${loader.lastParsed} files`);
  }
  for (let k = 5; k < 10; k++) {
    edit(k);
    const files = await listConfigFiles(dir);
    const t1 = performance.now();
    await loader.load(files);
    incLoaderMs.push(performance.now() - t1);
  }
  return { ms, cpuMs: fullCpu, rssMb: process.resourceUsage().maxRSS / 1024, incMs, incLoaderMs };
}

function child(mode: 'baseline' | 'loader', dir: string): ChildResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as ChildResult;
}

const argv = process.argv.slice(2);
if (argv[0] === '--generate') {
  // For profiling: `node --cpu-prof dist/bench/validate.js --child loader $(node dist/bench/validate.js --generate)`.
  process.stdout.write(`${generate()}\n`);
} else if (argv[0] === '--child') {
  const dir = argv[2] as string;
  const result = argv[1] === 'baseline' ? await baselineChild(dir) : await loaderChild(dir);
  process.stdout.write(JSON.stringify(result));
} else {
  const dir = generate();
  const nFiles = (await listConfigFiles(dir)).length;
  // Each measurement runs in a fresh process, like `caduceus validate`: peak RSS is the
  // load's own, not the sum of earlier runs' garbage. Baseline and loader alternate so a
  // busy machine slows both alike.
  const base: ChildResult[] = [];
  const ours: ChildResult[] = [];
  for (let k = 0; k < 3; k++) {
    base.push(child('baseline', dir));
    ours.push(child('loader', dir));
  }
  const fullMed = median(ours.map((r) => r.ms));
  const baseMed = median(base.map((r) => r.ms));
  const cpuMed = median(ours.map((r) => r.cpuMs));
  const baseCpuMed = median(base.map((r) => r.cpuMs));
  const inc = median(ours.flatMap((r) => r.incMs ?? []));
  const incLoader = median(ours.flatMap((r) => r.incLoaderMs ?? []));
  const rss = Math.max(...ours.map((r) => r.rssMb));
  const machine =
    `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ` +
    `load average ${loadavg()[0]?.toFixed(1)} at the end`;
  const lines = [
    '',
    `## validate: ${SKILLS.toLocaleString('en')} skills + ${TASKS.toLocaleString('en')} tasks ` +
      `(${new Date().toISOString().slice(0, 10)})`,
    '',
    'Command: `npm run build && node dist/bench/validate.js`',
    `Machine: ${machine}`,
    `Repository: ${nFiles} files (${SKILLS_PER_FILE} skills or ${TASKS_PER_FILE} tasks per file); ` +
      'every task calls 4 skills with params, every tenth skill calls another.',
    'Each figure is the median of 3 fresh processes (incremental: of 15 loads); baseline and loader runs alternate.',
    '',
    '| measure | result | target |',
    '|---|---|---|',
    `| full load (list + read + parse + schema + cross-refs), wall | ${fullMed.toFixed(0)} ms | < 2000 ms |`,
    `| full load, CPU time | ${cpuMed.toFixed(0)} ms | — |`,
    row(
      'baseline: raw yaml.parseAllDocuments + toJS of the same files, wall / CPU',
      `${baseMed.toFixed(0)} ms / ${baseCpuMed.toFixed(0)} ms`,
      '—',
    ),
    `| full load / baseline (wall) | ${(fullMed / baseMed).toFixed(2)}× | — |`,
    `| incremental, one file changed, same Loader (list + read dir + load) | ${inc.toFixed(1)} ms | < 100 ms |`,
    `| incremental, loader only (files already listed) | ${incLoader.toFixed(1)} ms | — |`,
    `| incremental / full | ${(inc / fullMed).toFixed(3)}× | — |`,
    `| peak RSS of a full + incremental load process | ${rss.toFixed(0)} MB | < 300 MB |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (!argv.includes('--dry-run')) appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), lines.join('\n'));
  rmSync(dir, { recursive: true, force: true });
}
