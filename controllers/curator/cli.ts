// `caduceus curator run | status | proposals | show`: run the skill curator now (or as a
// dry-run that prints the proposals and the diff), print the last run's report, list open
// proposals, and show one proposal's evidence and diff, for teams without a forge API.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { table } from '../../reconciler/cli/state-access.js';
import { StateStore, stateUrl } from '../../reconciler/state/store.js';
import { createLogger } from '../../reconciler/log.js';
import { runCurator, type CuratorSource } from './run.js';
import { CuratorStore } from './store.js';
import { renderReport } from './report.js';

const HELP = `usage: caduceus curator <run | status | proposals | show ID> [options]

  run [DIR | --repo R] [--path SUB] [--branch B] [--dry-run] [--name CURATOR]
      Runs the curator now. It works in its own clone of the repository (a local path
      or URL), commits one proposal per commit on a curator/<date> branch, pushes it and
      opens or updates the pull request. DIR is a configuration directory inside a git
      repository. --dry-run prints the proposals and the unified diff and changes nothing.
  status                 the last run's report
  proposals [--all]      open proposals (id, action, skills, state, branch, pull request)
  show ID                one proposal's evidence and diff

common options: --state-dir DIR (default .caduceus), --json, --help
exit codes: 0 ok, 1 the result did not validate, 2 usage or run error`;

const OPTIONS = {
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  repo: { type: 'string' },
  path: { type: 'string' },
  branch: { type: 'string' },
  name: { type: 'string' },
  all: { type: 'boolean' },
} as const;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, OPTIONS, HELP);
    if (!args) return 0;
    const [sub, ...rest] = args.positionals;
    const stateDir = resolve(args.values['state-dir'] ?? '.caduceus');
    const json = args.values.json ?? false;
    switch (sub) {
      case 'run':
        return run(rest, args.values, stateDir, json);
      case 'status':
        return withStore(stateDir, (c) => status(c, args.values.name, json));
      case 'proposals':
        return withStore(stateDir, (c) => proposals(c, args.values.all ?? false, json));
      case 'show':
        if (!rest[0]) throw new UsageError(`curator show needs a proposal id\n\n${HELP}`);
        return withStore(stateDir, (c) => show(c, rest[0] as string, json));
      default:
        throw new UsageError(`${sub ? `unknown curator command "${sub}"` : 'missing curator command'}\n\n${HELP}`);
    }
  });
}

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

async function run(positionals: string[], v: Values, stateDir: string, json: boolean): Promise<number> {
  const dryRun = v['dry-run'] ?? false;
  if (positionals.length > 1 || (positionals[0] && v.repo))
    throw new UsageError(`curator run takes one DIR or --repo\n\n${HELP}`);
  const source = sourceFor(positionals[0], v, dryRun);
  const url = stateUrl(undefined);
  const hasState = url !== undefined || existsSync(join(stateDir, 'state.db'));
  // A dry-run changes nothing, not even by creating a state directory.
  const store = hasState || !dryRun ? new StateStore({ stateDir, url }) : new StateStore({ stateDir: ':memory:' });
  const log = createLogger({ level: json ? 'silent' : 'warn' });
  try {
    const report = await runCurator(
      { store, log, stateDir, source, secretBaseDir: 'dir' in source ? source.dir : undefined },
      { dryRun, trigger: 'cli', curator: v.name || undefined },
    );
    if (json) writeStructured(report);
    else {
      if (dryRun && !hasState)
        process.stderr.write(
          `note: no state in ${stateDir}, so no run history: every skill looks unused (pass --state-dir)\n`,
        );
      process.stdout.write(renderReport(report));
      if (report.diff) process.stdout.write(`\n${report.diff}`);
    }
    return report.outcome === 'invalid' ? 1 : report.outcome === 'failed' ? 2 : 0;
  } finally {
    store.close();
  }
}

/** DIR for a dry-run is read in place; otherwise the curator needs the repository around it. */
function sourceFor(dir: string | undefined, v: Values, dryRun: boolean): CuratorSource {
  if (v.repo) {
    const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(v.repo) || /^[^/\s]+@[^/\s]+:/.test(v.repo);
    return {
      repo: remote ? v.repo : resolve(v.repo),
      path: v.path || undefined,
      branch: v.branch || undefined,
    };
  }
  const abs = resolve(dir ?? '.');
  if (!existsSync(abs)) throw new UsageError(`${abs} does not exist`);
  if (dryRun) return { dir: abs };
  let top: string;
  let branch: string | undefined = v.branch;
  try {
    top = execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd: abs,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    branch ??= execFileSync('git', ['symbolic-ref', '--short', 'HEAD'], {
      cwd: abs,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    throw new UsageError(`${abs} is not inside a git repository with a branch checked out: pass --repo, or --dry-run`);
  }
  const path = relative(top, abs).split('\\').join('/');
  return { repo: top, path: path || undefined, branch: branch || undefined };
}

async function withStore(stateDir: string, fn: (c: CuratorStore) => number): Promise<number> {
  const url = stateUrl(undefined);
  if (url === undefined && !existsSync(join(stateDir, 'state.db')))
    throw new UsageError(
      `no state in ${stateDir}: run 'caduceus curator run' or 'caduceus up' first, or pass --state-dir`,
    );
  const store = new StateStore({ stateDir, url });
  try {
    return fn(new CuratorStore(store));
  } finally {
    store.close();
  }
}

function status(c: CuratorStore, name: string | undefined, json: boolean): number {
  const report = c.lastReport(name);
  if (json) {
    writeStructured(report ?? null);
    return 0;
  }
  process.stdout.write(report ? renderReport(report) : 'The curator has not run yet.\n');
  return 0;
}

function proposals(c: CuratorStore, all: boolean, json: boolean): number {
  const list = all ? c.proposals() : c.proposals({ state: 'open' });
  if (json) {
    writeStructured(list.map(({ diff: _diff, ...p }) => p));
    return 0;
  }
  if (list.length === 0) {
    process.stdout.write(all ? 'No proposals yet.\n' : 'No open proposals.\n');
    return 0;
  }
  const rows = list.map((p) => [
    p.id,
    p.action,
    p.skills.join(','),
    p.state,
    p.branch,
    p.prUrl ? (p.prNumber ? `#${p.prNumber} ${p.prUrl}` : p.prUrl) : '-',
    p.title,
  ]);
  process.stdout.write(table(['ID', 'ACTION', 'SKILLS', 'STATE', 'BRANCH', 'PULL REQUEST', 'TITLE'], rows));
  return 0;
}

function show(c: CuratorStore, id: string, json: boolean): number {
  const p = c.proposal(id);
  if (!p) throw new UsageError(`no proposal ${id}; 'caduceus curator proposals --all' lists them`);
  if (json) {
    writeStructured(p);
    return 0;
  }
  const lines = Array.isArray(p.evidence.lines) ? (p.evidence.lines as string[]) : [];
  process.stdout.write(
    [
      `Proposal ${p.id}: ${p.title}`,
      `  action ${p.action}, skills ${p.skills.join(', ')}, state ${p.state}`,
      `  branch ${p.branch}${p.commit ? ` at ${p.commit.slice(0, 12)}` : ''}` +
        (p.prUrl ? `, pull request ${p.prNumber ? `#${p.prNumber} ` : ''}${p.prUrl}` : ''),
      `  files: ${p.files.join(', ')}`,
      '',
      'Evidence:',
      ...lines.map((l) => `  - ${l}`),
      '',
      p.diff,
    ].join('\n') + (p.diff.endsWith('\n') ? '' : '\n'),
  );
  return 0;
}
