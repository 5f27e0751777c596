// `caduceus top`: the runs in flight, from the state directory, with their CPU and memory
// (sampled from /proc for local process groups and from Docker's stats for containers, by
// whichever process runs them: `caduceus up` or `caduceus run`). Reads only.

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, table } from '../../reconciler/cli/state-access.js';
import { formatBytes, formatCpuMs, formatPercent } from '../../reconciler/cli/quantities.js';
import { RunStore, type RunRecord } from '../../reconciler/state/runs.js';
import { RunUsageStore, type RunUsage } from '../../reconciler/state/run-usage.js';
import { formatDuration } from '../../reconciler/duration.js';

const HELP = `usage: caduceus top [--state-dir DIR] [--watch] [--json | -o json|yaml]

Lists the skill and task runs in flight, newest first, with CPU use over the last
second, CPU time so far, memory now and its peak, and the number of processes. A task's
CPU and peak are those of its skill runs. --watch redraws every 2 seconds until Ctrl-C.
Finished runs keep their CPU time and peak memory: see caduceus runs.`;

interface Row {
  run: RunRecord;
  usage: RunUsage | undefined;
}

function snapshot(stateDir: string): Row[] {
  const core = openState(stateDir) as NonNullable<ReturnType<typeof openState>>;
  try {
    const running = new RunStore(core.store).list({ limit: 10_000 }).filter((r) => r.status === 'running');
    const usage = new RunUsageStore(core.store).forRuns(running.map((r) => r.id));
    return running.map((run) => ({ run, usage: usage.get(run.id) }));
  } finally {
    core.store.close();
  }
}

function render(rows: Row[], now = Date.now()): string {
  if (rows.length === 0) return 'no runs in flight\n';
  return table(
    ['ID', 'KIND', 'NAME', 'TRIGGER', 'AGE', 'CPU', 'CPU TIME', 'MEMORY', 'PEAK', 'PROCS'],
    rows.map(({ run, usage }) => [
      run.id.slice(0, 8),
      run.kind,
      run.version ? `${run.name}@${run.version}` : run.name,
      run.trigger,
      formatDuration(Math.max(0, now - run.startedAt)),
      formatPercent(usage?.cpuPercent),
      formatCpuMs(usage?.cpuMs),
      formatBytes(usage?.memoryBytes),
      formatBytes(usage?.peakMemoryBytes),
      usage?.processes === null || usage?.processes === undefined ? '-' : String(usage.processes),
    ]),
  );
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      { 'state-dir': { type: 'string' }, watch: { type: 'boolean' }, json: { type: 'boolean' } },
      HELP,
    );
    if (!args) return 0;
    if (args.positionals.length) throw new UsageError(`unexpected arguments: ${args.positionals.join(' ')}\n\n${HELP}`);
    const stateDir = args.values['state-dir'] ?? '.caduceus';
    const once = (): void => {
      const rows = snapshot(stateDir);
      if (args.values.json)
        writeStructured(rows.map(({ run, usage }) => ({ ...run, report: undefined, usage: usage ?? null })));
      else process.stdout.write(render(rows));
    };
    if (!args.values.watch) {
      once();
      return 0;
    }
    const tty = process.stdout.isTTY === true && process.env.TERM !== 'dumb';
    for (;;) {
      if (tty) process.stdout.write('\x1b[H\x1b[2J');
      once();
      await new Promise((r) => setTimeout(r, 2000));
    }
  });
}
