// `caduceus runs`: the run history of skills, tasks and agent runs from the state
// directory, newest first: trigger, outcome, attempts and duration of each run; and
// `caduceus runs show ID`, one run in full (run-show.ts).

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, table } from '../../reconciler/cli/state-access.js';
import { RunStore, type RunRecord } from '../../reconciler/state/runs.js';
import { RunUsageStore, type RunUsage } from '../../reconciler/state/run-usage.js';
import { formatBytes, formatCpuMs } from '../../reconciler/cli/quantities.js';
import { formatDuration } from '../../reconciler/duration.js';
import { TraceStore } from '../../controllers/agent/trace-store.js';
import { describeRun } from './run-show.js';

const HELP = `usage: caduceus runs [--task NAME | --skill NAME | --agent] [--limit N] [--state-dir DIR] [--json]
       caduceus runs show ID [--state-dir DIR] [--json]

Lists recorded runs, newest first (default 50), with the CPU time and peak memory of each
finished run (a task's are its skill runs'). --task and --skill keep the runs of one task
or skill, --agent the agent runs; --json prints the records with their reports.
'runs show ID' prints one run (ID or its first characters): an agent run's trace turn by
turn with every tool call, a skill's steps, a task's subtasks; --json gives it whole.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        task: { type: 'string' },
        skill: { type: 'string' },
        agent: { type: 'boolean' },
        limit: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    if (args.positionals[0] === 'show') return show(args.positionals.slice(1), v['state-dir'], v.json === true);
    if ([v.task, v.skill, v.agent].filter(Boolean).length > 1)
      throw new UsageError(`give one of --task, --skill, --agent\n\n${HELP}`);
    if (args.positionals.length) throw new UsageError(`unexpected arguments: ${args.positionals.join(' ')}\n\n${HELP}`);
    const limit = Number(v.limit ?? 50);
    if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive integer\n\n${HELP}`);
    const core = openState(v['state-dir'] ?? '.caduceus') as NonNullable<ReturnType<typeof openState>>;
    let runs: RunRecord[];
    let usage: Map<string, RunUsage>;
    try {
      const filter = v.task
        ? { kind: 'task' as const, name: v.task }
        : v.skill
          ? { kind: 'skill' as const, name: v.skill }
          : v.agent
            ? { kind: 'agent' as const }
            : {};
      runs = new RunStore(core.store).list({ ...filter, limit });
      usage = new RunUsageStore(core.store).forRuns(runs.map((r) => r.id));
    } finally {
      core.store.close();
    }
    if (v.json) {
      writeStructured(
        runs.map((r) => {
          const u = usage.get(r.id);
          return { ...r, cpuMs: u?.cpuMs ?? null, peakMemoryBytes: u?.peakMemoryBytes ?? null };
        }),
      );
      return 0;
    }
    const rows = runs.map((r) => [
      new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19),
      r.kind,
      r.version ? `${r.name}@${r.version}` : r.name,
      r.trigger + (r.actor ? ` (${r.actor})` : ''),
      r.status,
      String(r.attempts),
      r.durationMs === null ? '-' : formatDuration(r.durationMs),
      formatCpuMs(usage.get(r.id)?.cpuMs),
      formatBytes(usage.get(r.id)?.peakMemoryBytes),
      r.id.slice(0, 8),
      (r.error ?? '').replace(/\s+/g, ' ').slice(0, 80),
    ]);
    process.stdout.write(
      rows.length
        ? table(
            ['STARTED', 'KIND', 'NAME', 'TRIGGER', 'STATUS', 'ATTEMPTS', 'DURATION', 'CPU', 'PEAK MEM', 'ID', 'ERROR'],
            rows,
          )
        : 'no runs recorded\n',
    );
    return 0;
  });
}

function show(rest: string[], stateDir: string | undefined, json: boolean): number {
  const [id, ...extra] = rest;
  if (!id) throw new UsageError(`name the run: caduceus runs show ID\n\n${HELP}`);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${HELP}`);
  const core = openState(stateDir ?? '.caduceus') as NonNullable<ReturnType<typeof openState>>;
  try {
    const runs = new RunStore(core.store);
    const found = runs.find(id);
    if (found.length !== 1) {
      process.stderr.write(
        found.length
          ? `caduceus: "${id}" names more than one run; give more of the id\n`
          : `caduceus: no run "${id}" (caduceus runs lists them)\n`,
      );
      return 1;
    }
    const run = found[0] as RunRecord;
    const trace = run.kind === 'agent' ? new TraceStore(core.store).get(run.id) : undefined;
    const children = runs.list({ parentId: run.id, limit: 1000 }).reverse();
    if (json) writeStructured({ run, trace, children });
    else process.stdout.write(describeRun(run, trace, children));
    return 0;
  } finally {
    core.store.close();
  }
}
