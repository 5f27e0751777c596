// Benchmark of start-up as a user feels it (issue 14), run with:
//   npm run build && node dist/bench/startup.js
// In the same run, in rounds that rotate the order of the commands, each a fresh process:
// - the baseline: `node -e 0`;
// - `caduceus --version` and `caduceus validate examples/repo`, wall time from spawn to exit;
// - `caduceus up` on the example configuration (this repository's committed HEAD) and on a
//   generated repository of 10,000 one-file skills: wall time from spawn to the first 200
//   from /readyz (the first revision applied), polled every 5 ms, then SIGTERM.
// The section of bench/RESULTS.md it writes replaces its previous one.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, median, replaceSection, runTimed, tableRow } from './measure.js';

const ROUNDS = 7;
const UP_ROUNDS = 5;
const SKILLS = 10_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/app/cli.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** CPU ms (user + system, every thread) a running process has used so far; Linux /proc, else NaN. */
function cpuSoFar(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ of /proc/PID/stat: 100 on Linux. */
const CLOCK_TICKS = 100;

/** CPU time of every `up` at the moment it was ready, by command. */
const readyCpu: Record<'upExample' | 'upSkills', number[]> = { upExample: [], upSkills: [] };

/** Wall time from spawning `caduceus up` to the first 200 from /readyz. */
async function upReady(args: string[], timeoutMs = 120_000, cpu?: number[]): Promise<number> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'caduceus-bench-startup-state-'));
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [cli, 'up', ...args, '--listen', `127.0.0.1:${port}`, '--state-dir', state, '--log-level', 'warn'],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ms: number | undefined;
  try {
    while (performance.now() - t0 < timeoutMs) {
      if (child.exitCode !== null) throw new Error(`caduceus up exited with ${child.exitCode}: ${stderr}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) {
          ms = performance.now() - t0;
          cpu?.push(cpuSoFar(child.pid));
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (ms === undefined) throw new Error(`caduceus up not ready within ${timeoutMs} ms: ${stderr}`);
    return ms;
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(state, { recursive: true, force: true });
  }
}

function skillsRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caduceus-bench-startup-skills-'));
  mkdirSync(join(dir, 'skills'));
  for (let i = 0; i < SKILLS; i++) {
    const calls = i % 10 === 9 ? `    - skill:\n        name: skill-${i - 1}\n        params: {window: 24h}\n` : '';
    writeFileSync(
      join(dir, 'skills', `skill-${String(i).padStart(5, '0')}.yaml`),
      `apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: skill-${i}\nspec:\n  version: "1.0.0"\n` +
        `  description: Generated skill ${i}\n  params:\n    - name: window\n      type: duration\n` +
        `      default: 72h\n  steps:\n    - run: echo "$PARAM_WINDOW"\n${calls}`,
    );
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@caduceus.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@caduceus.invalid',
  };
  // gc.auto=0: the commit of 10,000 loose objects must not start a background gc of its own.
  const steps = [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', 'commit', '-q', '-m', 'skills'],
    ['gc', '-q'],
  ];
  for (const args of steps) execFileSync('git', args, { cwd: dir, env });
  return dir;
}

function timed(args: string[], expectStatus = 0): number {
  const r = runTimed(process.execPath, args, { cwd: root });
  if (r.status !== expectStatus) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  return r.ms;
}

const COMMANDS = {
  baseline: () => timed(['-e', '0']),
  version: () => timed([cli, '--version']),
  validate: () => timed([cli, 'validate', 'examples/repo']),
};
type Name = keyof typeof COMMANDS;

const loadBefore = loadavg()[0] ?? 0;
const skills = skillsRepo();
// Warm the page cache and the build's code caches once, outside the figures.
for (const run of Object.values(COMMANDS)) run();
await upReady(['--repo', '.', '--path', 'examples/repo']);

const times: Record<Name | 'upExample' | 'upSkills', number[]> = {
  baseline: [],
  version: [],
  validate: [],
  upExample: [],
  upSkills: [],
};
const names = Object.keys(COMMANDS) as Name[];
for (let k = 0; k < ROUNDS; k++) {
  // Each round starts with another command, so a busy moment does not always hit the same one.
  for (let j = 0; j < names.length; j++) {
    const name = names[(k + j) % names.length] as Name;
    times[name].push(COMMANDS[name]());
  }
  if (k < UP_ROUNDS) {
    times.baseline.push(timed(['-e', '0']));
    times.upExample.push(await upReady(['--repo', '.', '--path', 'examples/repo'], undefined, readyCpu.upExample));
  }
}
for (let k = 0; k < UP_ROUNDS; k++)
  times.upSkills.push(await upReady(['--repo', skills], undefined, readyCpu.upSkills));
rmSync(skills, { recursive: true, force: true });

const base = median(times.baseline);
const m = (name: keyof typeof times): number => median(times[name]);
const all = (name: keyof typeof times): string => times[name].map((t) => t.toFixed(0)).join(', ');
const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
const row = (what: string, name: keyof typeof times, target: string, ok: boolean): string =>
  tableRow([
    what,
    `${m(name).toFixed(0)} ms (${all(name)})`,
    `+${(m(name) - base).toFixed(0)} ms`,
    `${target}: ${mark(ok)}`,
  ]);
const cpuList = (xs: number[]): string =>
  `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
const section = [
  `## Start-up (issue 14) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  'Command: `npm run build && node dist/bench/startup.js`',
  `Machine: ${machineLine(loadBefore)}`,
  [
    'Each figure is the median of fresh processes (all runs in parentheses), measured in rotating rounds',
    `with the baseline \`node -e 0\` in the same run (median ${base.toFixed(0)} ms; runs: ${all('baseline')}).`,
    '`up` is timed from spawn to the first 200 from `/readyz` (the first revision applied), polled every',
    '5 ms; it runs with `--listen 127.0.0.1:PORT --state-dir TMP --log-level warn`. The 10,000 skills are',
    'one file each in a packed git repository; every tenth calls another.',
  ].join(' '),
  '',
  '| command | wall | minus `node -e 0` | target |',
  '|---|---|---|---|',
  row('`node dist/app/cli.js --version`', 'version', '< +50 ms', m('version') - base < 50),
  row('`node dist/app/cli.js validate examples/repo`', 'validate', '< +150 ms', m('validate') - base < 150),
  row(
    '`node dist/app/cli.js up --repo . --path examples/repo`, to ready',
    'upExample',
    '< +400 ms',
    m('upExample') - base < 400,
  ),
  row(
    `\`node dist/app/cli.js up --repo SKILLS\` (${SKILLS.toLocaleString('en')} one-file skills), to ready`,
    'upSkills',
    '< 2000 ms',
    m('upSkills') < 2000,
  ),
  '',
  [
    'CPU time of the `up` process when it was ready (user + system, every thread, from /proc, 10 ms',
    `ticks; the git and Docker children not included): example ${cpuList(readyCpu.upExample)};`,
    `10,000 skills ${cpuList(readyCpu.upSkills)}.`,
  ].join(' '),
  '',
];
process.stdout.write(`${section.join('\n')}\n`);
if (!process.argv.includes('--dry-run')) replaceSection(join(root, 'bench/RESULTS.md'), '## Start-up', section);
