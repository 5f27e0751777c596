// Benchmark of `caduceus validate` (issues 2 and 14), run with:
//   npm run build && node dist/bench/validate.js
// Generates 10,000 skills and 1,000 tasks (every task calls 4 skills with parameters,
// every tenth skill calls another) in two layouts: one resource per file, as people and
// the curator write them (the default row), and packed, 100 skills or 50 tasks per file.
// In the same run, alternating, each in a fresh process:
// 1. `caduceus validate DIR` (parse with positions, schema with defaults, every check
//    across files), wall time from spawn to exit and peak RSS;
// 2. the baseline: ajv-cli validating the same 10,000 skill files against the same JSON
//    Schema (schema only, no cross-references; ajv-cli reads one document per file, so
//    it has no packed row);
// 3. one changed file re-validated by a long-lived loader: after a commit (git diff-tree,
//    read the one blob, parse it, check every cross-reference of the 11,001 resources
//    again), as `caduceus up` does, and with the files already in hand (the loader alone).
// The section of bench/RESULTS.md it writes replaces its previous one.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Loader } from '../reconciler/loader.js';
import { gitBlobId } from '../reconciler/source-file.js';
import { createSource } from '../reconciler/source/git-source.js';
import { silentLogger } from '../reconciler/log.js';
import { machineLine, median, peakRssArgs, readPeakRss, replaceSection, runTimed, tableRow } from './measure.js';

const SKILLS = 10_000;
const TASKS = 1_000;
const SKILLS_PER_FILE = 100;
const TASKS_PER_FILE = 50;
const ROUNDS = 5;
const INCREMENTAL_ROUNDS = 11;

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/app/cli.js');
const ajvCli = join(root, 'node_modules/ajv-cli/dist/index.js');

function skillDoc(i: number, note = ''): string {
  const calls =
    i % 10 === 9
      ? `    - id: inner\n      skill:\n        name: skill-${i - 1}\n` +
        '        params:\n          scope: all\n          window: 24h\n'
      : '';
  return `apiVersion: caduceus.dev/v1
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
  return `apiVersion: caduceus.dev/v1
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

const RUNTIME =
  'apiVersion: caduceus.dev/v1\nkind: Runtime\nmetadata:\n  name: main\n' +
  'spec:\n  concurrency:\n    default: 3\n    maximum: 6\n';

type Layout = 'one-per-file' | 'packed';

function generate(layout: Layout): string {
  const dir = mkdtempSync(join(tmpdir(), `caduceus-bench-validate-${layout}-`));
  mkdirSync(join(dir, 'skills'));
  mkdirSync(join(dir, 'tasks'));
  if (layout === 'one-per-file') {
    for (let i = 0; i < SKILLS; i++)
      writeFileSync(join(dir, 'skills', `skill-${String(i).padStart(5, '0')}.yaml`), skillDoc(i));
    for (let i = 0; i < TASKS; i++)
      writeFileSync(join(dir, 'tasks', `task-${String(i).padStart(4, '0')}.yaml`), taskDoc(i));
  } else {
    for (let f = 0; f < SKILLS / SKILLS_PER_FILE; f++) {
      let text = '';
      for (let i = f * SKILLS_PER_FILE; i < (f + 1) * SKILLS_PER_FILE; i++) text += `---\n${skillDoc(i)}`;
      writeFileSync(join(dir, 'skills', `area-${String(f).padStart(3, '0')}.yaml`), text);
    }
    for (let f = 0; f < TASKS / TASKS_PER_FILE; f++) {
      let text = '';
      for (let i = f * TASKS_PER_FILE; i < (f + 1) * TASKS_PER_FILE; i++) text += `---\n${taskDoc(i)}`;
      writeFileSync(join(dir, 'tasks', `batch-${String(f).padStart(2, '0')}.yaml`), text);
    }
  }
  writeFileSync(join(dir, 'runtime.yaml'), RUNTIME);
  return dir;
}

interface Run {
  ms: number;
  rssMb: number;
  /** CPU time of the process, user + system, every thread. */
  cpuMs: number;
}

function caduceusValidate(dir: string): Run {
  const rss = join(dir, '..', `rss-${process.pid}-caduceus`);
  const r = runTimed(process.execPath, [...peakRssArgs(rss), cli, 'validate', dir]);
  const expected = `ok: ${SKILLS + TASKS + 1} resources`;
  if (r.status !== 0 || !r.stdout.includes(expected))
    throw new Error(`caduceus validate failed (${r.status}): ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
  return { ms: r.ms, ...readPeakRss(rss) };
}

function ajvValidate(dir: string): Run {
  const rss = join(dir, '..', `rss-${process.pid}-ajv`);
  const args = [
    ...peakRssArgs(rss),
    ajvCli,
    'validate',
    '--spec=draft2020',
    '--strict=true',
    '--all-errors',
    '-s',
    join(root, 'schemas/skill.schema.json'),
    '-d',
    `${dir}/skills/*.yaml`,
  ];
  const r = runTimed(process.execPath, args);
  const valid = (r.stdout.match(/ valid$/gm) ?? []).length;
  if (r.status !== 0 || valid !== SKILLS)
    throw new Error(`ajv-cli failed (${r.status}, ${valid} valid): ${r.stderr.slice(-500)}`);
  return { ms: r.ms, ...readPeakRss(rss) };
}

/** Child: one file changed, re-validated by a long-lived loader (git path and loader alone). */
async function incrementalChild(dir: string): Promise<{ gitMs: number[]; loaderMs: number[] }> {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@caduceus.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@caduceus.invalid',
  };
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: dir, env, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'generated');
  const source = createSource({ repo: dir, stateDir: join(dir, '.caduceus'), log: silentLogger });
  const loader = new Loader();
  const first = await loader.load((await source.current()).files);
  if (first.findings.length > 0 || first.resources.length !== SKILLS + TASKS + 1) throw new Error('bad first load');
  const changed = 'skills/skill-04200.yaml';
  const gitMs: number[] = [];
  for (let k = 0; k < INCREMENTAL_ROUNDS; k++) {
    writeFileSync(join(dir, changed), skillDoc(4200, ` edit ${k}`));
    git('commit', '-q', '-am', `edit ${k}`);
    const t = performance.now();
    const r = await loader.load((await source.current()).files);
    gitMs.push(performance.now() - t);
    if (loader.lastParsed !== 1 || r.findings.length > 0 || r.resources.length !== SKILLS + TASKS + 1)
      throw new Error(`incremental load parsed ${loader.lastParsed} files, ${r.findings.length} findings`);
  }
  // The loader alone: the same files, one of them with new content each time.
  const base = (await source.current()).files;
  await source.stop();
  const loaderMs: number[] = [];
  for (let k = 0; k < INCREMENTAL_ROUNDS; k++) {
    const bytes = Buffer.from(skillDoc(4200, ` memory ${k}`));
    const next = base.map((f) =>
      f.path === changed ? { path: f.path, id: gitBlobId(bytes), read: async () => bytes } : f,
    );
    const t = performance.now();
    await loader.load(next);
    loaderMs.push(performance.now() - t);
    if (loader.lastParsed !== 1) throw new Error(`loader parsed ${loader.lastParsed} files`);
  }
  return { gitMs, loaderMs };
}

const argv = process.argv.slice(2);
if (argv[0] === '--generate') {
  // For profiling: `node --cpu-prof dist/app/cli.js validate $(node dist/bench/validate.js --generate)`.
  process.stdout.write(`${generate((argv[1] as Layout | undefined) ?? 'one-per-file')}\n`);
} else if (argv[0] === '--incremental-child') {
  process.stdout.write(JSON.stringify(await incrementalChild(argv[1] as string)));
} else {
  const loadBefore = loadavg()[0] ?? 0;
  const rows: Record<Layout, { ours: Run[]; ajv: Run[] }> = {
    'one-per-file': { ours: [], ajv: [] },
    packed: { ours: [], ajv: [] },
  };
  const dirs: Record<Layout, string> = { 'one-per-file': generate('one-per-file'), packed: generate('packed') };
  // Warm the page cache and the build's code cache once, outside the figures.
  caduceusValidate(dirs['one-per-file']);
  ajvValidate(dirs['one-per-file']);
  for (let k = 0; k < ROUNDS; k++) {
    // Alternating which goes first, so a busy moment falls on both sides.
    const one = rows['one-per-file'];
    if (k % 2 === 0) {
      one.ours.push(caduceusValidate(dirs['one-per-file']));
      one.ajv.push(ajvValidate(dirs['one-per-file']));
    } else {
      one.ajv.push(ajvValidate(dirs['one-per-file']));
      one.ours.push(caduceusValidate(dirs['one-per-file']));
    }
    rows.packed.ours.push(caduceusValidate(dirs.packed));
  }
  const inc = JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--incremental-child', dirs['one-per-file']], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }),
  ) as { gitMs: number[]; loaderMs: number[] };

  const med = (runs: Run[], f: (r: Run) => number): number => median(runs.map(f));
  const one = rows['one-per-file'];
  const oursMs = med(one.ours, (r) => r.ms);
  const ajvMs = med(one.ajv, (r) => r.ms);
  const ratios = one.ours.map((r, i) => r.ms / (one.ajv[i] as Run).ms);
  const oursCpu = med(one.ours, (r) => r.cpuMs);
  const ajvCpu = med(one.ajv, (r) => r.cpuMs);
  const oursRss = Math.max(...one.ours.map((r) => r.rssMb));
  const ajvRss = Math.max(...one.ajv.map((r) => r.rssMb));
  const packedMs = med(rows.packed.ours, (r) => r.ms);
  const packedRss = Math.max(...rows.packed.ours.map((r) => r.rssMb));
  const list = (runs: Run[]): string => runs.map((r) => r.ms.toFixed(0)).join(', ');
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const ajvCommand =
    'node node_modules/ajv-cli/dist/index.js validate --spec=draft2020 --strict=true --all-errors ' +
    '-s schemas/skill.schema.json -d "DIR/skills/*.yaml"';
  const perRound = ratios.map((r) => r.toFixed(2)).join(', ');
  const packedFiles = SKILLS / SKILLS_PER_FILE + TASKS / TASKS_PER_FILE + 1;
  const incGit = median(inc.gitMs);
  const section = [
    `## validate: 10,000 skills + 1,000 tasks, against ajv-cli (issue 14) — ${new Date().toISOString().slice(0, 10)}`,
    '',
    'Command: `npm run build && node dist/bench/validate.js`',
    `Machine: ${machineLine(loadBefore)}`,
    [
      `Each side: \`node dist/app/cli.js validate DIR\` and \`${ajvCommand}\` (ajv-cli ${ajvVersion()}),`,
      'each a fresh process, wall time from spawn to exit,',
      `${ROUNDS} alternating rounds after one warm-up each, median shown (all rounds in parentheses);`,
      'peak RSS is the largest of the rounds. ajv-cli checks the schema only; `caduceus validate` also',
      'parses with positions, fills defaults and checks every reference across the 11,001 resources.',
    ].join(' '),
    '',
    tableRow(['measure', 'caduceus validate', 'ajv-cli, same 10,000 skill files', 'ratio', 'target']),
    tableRow(['---', '---', '---', '---', '---']),
    tableRow([
      '**one resource per file** (11,001 files), wall',
      `${oursMs.toFixed(0)} ms (${list(one.ours)})`,
      `${ajvMs.toFixed(0)} ms (${list(one.ajv)})`,
      `${(oursMs / ajvMs).toFixed(2)} (per round: ${perRound})`,
      `< 1: ${mark(oursMs / ajvMs < 1)}; < 1500 ms: ${mark(oursMs < 1500)}`,
    ]),
    tableRow([
      'one resource per file, CPU time (user + system, every thread)',
      `${oursCpu.toFixed(0)} ms (${one.ours.map((r) => r.cpuMs.toFixed(0)).join(', ')})`,
      `${ajvCpu.toFixed(0)} ms (${one.ajv.map((r) => r.cpuMs.toFixed(0)).join(', ')})`,
      (oursCpu / ajvCpu).toFixed(2),
      '',
    ]),
    tableRow([
      'one resource per file, peak RSS',
      `${oursRss.toFixed(0)} MB`,
      `${ajvRss.toFixed(0)} MB`,
      (oursRss / ajvRss).toFixed(2),
      `< 200 MB: ${mark(oursRss < 200)}`,
    ]),
    tableRow([
      `packed (${packedFiles} files of 100 skills or 50 tasks), wall`,
      `${packedMs.toFixed(0)} ms (${list(rows.packed.ours)})`,
      '— (one document per file only)',
      '',
      '',
    ]),
    tableRow(['packed, peak RSS', `${packedRss.toFixed(0)} MB`, '', '', '']),
    tableRow([
      'one changed file re-validated after a commit (the changed trees and the one blob read through ' +
        `cat-file, the blob parsed, every cross-reference checked again), median of ${INCREMENTAL_ROUNDS}`,
      `${incGit.toFixed(1)} ms`,
      '',
      '',
      `< 50 ms: ${mark(incGit < 50)}`,
    ]),
    tableRow([
      'the same, loader alone (files in hand, one with new content)',
      `${median(inc.loaderMs).toFixed(1)} ms`,
      '',
      '',
      '',
    ]),
    '',
  ];
  process.stdout.write(`${section.join('\n')}\n`);
  if (!argv.includes('--dry-run')) replaceSection(join(root, 'bench/RESULTS.md'), '## validate:', section);
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
}

function ajvVersion(): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules/ajv-cli/package.json'), 'utf8')) as { version: string })
    .version;
}
