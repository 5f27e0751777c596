// `caduceus skills [DIR]`: every skill of the configuration (and those the curator moved
// to its archive) with how it is used, from the run history in the state directory:
// version, file, runs, last run, failure rate, last change, and whether it is active,
// stale or archived by the Curator's thresholds. Reads only; changes go through git.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, table } from '../../reconciler/cli/state-access.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { parseDuration } from '../../reconciler/duration.js';
import type { Resource } from '../../reconciler/types.js';

const HELP = `usage: caduceus skills [DIR] [--status active|stale|archived] [--sort last-used|runs|name|modified]
                       [--state-dir DIR] [--json | -o json|yaml]

Lists the skills of the configuration in DIR (default .) and those in its archive
directory, each with version, file, runs and failures within the Curator's window
(thresholds.window, default 30d), the last run, the last change (git commit time of the
file) and a status: archived (in the archive directory), stale (no run within
thresholds.staleAfter, default 7d) or active. The run history comes from --state-dir
(default .caduceus); without one every skill has no runs.

  --status S   only skills with this status
  --sort K     last-used (default, most recent first), runs (most first), name, modified (newest first)`;

const STATUSES = ['active', 'stale', 'archived'] as const;
const SORTS = ['last-used', 'runs', 'name', 'modified'] as const;
type Status = (typeof STATUSES)[number];

export interface SkillRow {
  name: string;
  version: string;
  file: string;
  status: Status;
  runs: number;
  failures: number;
  failureRate: number | null;
  lastRun: string | null;
  modified: string | null;
}

/** Last commit time of a file, or its mtime outside git. */
function modifiedAt(root: string, file: string): number | null {
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%ct', '--', file], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (out) return Number(out) * 1000;
  } catch {
    // not a git repository
  }
  try {
    return statSync(join(root, file)).mtimeMs;
  } catch {
    return null;
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        status: { type: 'string' },
        sort: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    if (v.status !== undefined && !(STATUSES as readonly string[]).includes(v.status))
      throw new UsageError(`--status takes ${STATUSES.join(', ')}\n\n${HELP}`);
    const sort = v.sort ?? 'last-used';
    if (!(SORTS as readonly string[]).includes(sort))
      throw new UsageError(`--sort takes ${SORTS.join(', ')}\n\n${HELP}`);
    if (args.positionals.length > 1) throw new UsageError(`skills takes one directory\n\n${HELP}`);
    const dir = resolve(args.positionals[0] ?? '.');

    const { loadDirectory } = await import('../../reconciler/loader.js');
    const loaded = await loadDirectory(dir);
    const curator = loaded.resources.find((r): r is Resource<'Curator'> => r.kind === 'Curator');
    const archiveDir = curator?.spec.archiveDir ?? 'archive';
    const staleAfter = parseDuration(curator?.spec.thresholds.staleAfter ?? '7d');
    const window = parseDuration(curator?.spec.thresholds.window ?? '30d');
    const skills = loaded.resources
      .filter((r): r is Resource<'Skill'> => r.kind === 'Skill')
      .map((s) => ({ s, file: s.source.file, archived: false }));
    const archivePath = join(dir, archiveDir);
    if (existsSync(archivePath)) {
      const archived = await loadDirectory(archivePath);
      for (const s of archived.resources)
        if (s.kind === 'Skill')
          skills.push({ s: s as Resource<'Skill'>, file: `${archiveDir}/${s.source.file}`, archived: true });
    }

    const now = Date.now();
    const usage = new Map<string, { runs: number; failures: number }>();
    let lastUsed = new Map<string, number>();
    const core = openState(v['state-dir'] ?? '.caduceus', { mustExist: false });
    if (core) {
      try {
        const runs = new RunStore(core.store);
        for (const u of runs.skillUsage(now - window)) {
          const acc = usage.get(u.name) ?? { runs: 0, failures: 0 };
          acc.runs += u.runs;
          acc.failures += u.failures;
          usage.set(u.name, acc);
        }
        lastUsed = runs.lastUsedBySkill();
      } finally {
        core.store.close();
      }
    }

    let rows: SkillRow[] = skills.map(({ s, file, archived }) => {
      const name = s.metadata.name;
      const u = usage.get(name) ?? { runs: 0, failures: 0 };
      const last = lastUsed.get(name);
      const modified = modifiedAt(dir, file);
      const status: Status = archived
        ? 'archived'
        : last !== undefined && now - last <= staleAfter
          ? 'active'
          : 'stale';
      return {
        name,
        version: s.spec.version,
        file,
        status,
        runs: u.runs,
        failures: u.failures,
        failureRate: u.runs > 0 ? u.failures / u.runs : null,
        lastRun: last !== undefined ? new Date(last).toISOString() : null,
        modified: modified !== null ? new Date(modified).toISOString() : null,
      };
    });
    if (v.status) rows = rows.filter((r) => r.status === v.status);
    const by: Record<string, (a: SkillRow, b: SkillRow) => number> = {
      'last-used': (a, b) => (b.lastRun ?? '').localeCompare(a.lastRun ?? ''),
      runs: (a, b) => b.runs - a.runs,
      name: (a, b) => a.name.localeCompare(b.name),
      modified: (a, b) => (b.modified ?? '').localeCompare(a.modified ?? ''),
    };
    rows.sort((a, b) => (by[sort] as (a: SkillRow, b: SkillRow) => number)(a, b) || a.name.localeCompare(b.name));

    if (v.json) {
      writeStructured(rows);
      return 0;
    }
    const day = (iso: string | null): string => (iso ? iso.replace('T', ' ').slice(0, 16) : '-');
    process.stdout.write(
      rows.length
        ? table(
            ['NAME', 'VERSION', 'STATUS', 'RUNS', 'FAILED', 'LAST RUN', 'MODIFIED', 'FILE'],
            rows.map((r) => [
              r.name,
              r.version,
              r.status,
              String(r.runs),
              r.failureRate === null ? '-' : `${Math.round(r.failureRate * 100)}%`,
              day(r.lastRun),
              day(r.modified),
              r.file,
            ]),
          )
        : 'no skills\n',
    );
    return 0;
  });
}
