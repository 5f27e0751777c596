// `caduceus run skill|task NAME`: loads a configuration directory, composes the
// controllers' runners over a state directory and runs the work now, with live progress.
// SIGINT/SIGTERM cancel the run; backends remove its processes and containers first.

import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Registry } from 'prom-client';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { progressView } from './run-progress.js';
import { table } from '../../reconciler/cli/state-access.js';
import { formatFinding } from './validate.js';
import type {
  ControllerDeps,
  ParamValue,
  Resource,
  ResourceKey,
  SkillRunResult,
  Snapshot,
  TaskReport,
} from '../../reconciler/types.js';
import { keyOf } from '../../reconciler/types.js';
import { createLogger } from '../../reconciler/log.js';
import { errorMessage } from '../../reconciler/errors.js';
import { formatDuration } from '../../reconciler/duration.js';

const HELP = `usage: caduceus run skill NAME [-p key=value ...] [DIR] [options]
       caduceus run task NAME [DIR] [options]

Runs a skill or a task of the configuration in DIR (default .) now, locally or in
Docker as its Runtime says, and records the run in the state directory.

  -p, --param key=value   a skill parameter (repeatable); coerced to its declared type
  --state-dir DIR         state directory for the run history (default .caduceus)
  --json                  print the structured result on stdout
  
Progress goes to stderr: one redrawn line per subtask on a terminal, plain lines
otherwise. Ctrl-C cancels the run and cleans up. Exit 0 succeeded, 1 failed or invalid
configuration, 2 usage, 130 interrupted.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        param: { type: 'string', short: 'p', multiple: true },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const [what, name, dir = '.', ...extra] = args.positionals;
    if (what !== 'skill' && what !== 'task')
      throw new UsageError(`say what to run: 'run skill NAME' or 'run task NAME'\n\n${HELP}`);
    if (!name) throw new UsageError(`name the ${what} to run\n\n${HELP}`);
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${HELP}`);
    const params = parseParams(args.values.param ?? []);
    if (what === 'task' && Object.keys(params).length)
      throw new UsageError(`-p applies to skills; a task's subtasks carry their own params\n\n${HELP}`);

    const configDir = resolve(dir);
    const snapshot = await loadSnapshot(configDir);
    if (!snapshot) return 1;
    return runNow({
      what,
      name,
      params,
      snapshot,
      configDir,
      stateDir: resolve(args.values['state-dir'] ?? '.caduceus'),
      json: args.values.json === true,
    });
  });
}

function parseParams(list: string[]): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`-p takes key=value, got "${p}"\n\n${HELP}`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** The configuration as a snapshot, or undefined after printing its findings. */
async function loadSnapshot(dir: string): Promise<Snapshot | undefined> {
  const { loadDirectory } = await import('../../reconciler/loader.js');
  const { resources, findings } = await loadDirectory(dir);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    for (const f of errors) process.stderr.write(formatFinding(f) + '\n');
    process.stderr.write(
      `caduceus: the configuration in ${dir} has ${errors.length} error(s); fix them (see 'caduceus validate') and run again\n`,
    );
    return undefined;
  }
  const map = new Map<ResourceKey, Resource>();
  for (const r of resources) map.set(keyOf(r), r);
  return { revision: `dir:${dir}`, resources: map };
}

interface RunRequest {
  what: 'skill' | 'task';
  name: string;
  params: Record<string, ParamValue>;
  snapshot: Snapshot;
  configDir: string;
  stateDir: string;
  json: boolean;
}

async function runNow(req: RunRequest): Promise<number> {
  const [{ StateStore }, { CoreStore }, { compose, lateBoundRunner }] = await Promise.all([
    import('../../reconciler/state/store.js'),
    import('../../reconciler/state/core-store.js'),
    import('../compose.js'),
  ]);
  const store = new StateStore({ stateDir: req.stateDir });
  const log = createLogger({ level: 'warn' });
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log,
    stateDir: req.stateDir,
    snapshot: () => req.snapshot,
    runner,
    metrics: new Registry(),
    configDir: req.configDir,
  };
  const composition = compose(deps, provide);

  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`caduceus: ${sig} again, exiting without waiting for clean-up\n`);
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`caduceus: ${sig} received, cancelling the run and cleaning up…\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const view = progressView(process.stderr);
  const opts = {
    trigger: { source: 'cli', actor: `user:${localUser()}` },
    signal: abort.signal,
    onProgress: view.onProgress,
  };
  try {
    const result =
      req.what === 'task' ? await runner.runTask(req.name, opts) : await runner.runSkill(req.name, req.params, opts);
    view.stop();
    process.stdout.write(
      req.json
        ? JSON.stringify(result, null, 2) + '\n'
        : 'subtasks' in result
          ? describeTask(result)
          : describeSkill(result),
    );
    if (interrupted) return 130;
    return result.status === 'succeeded' ? 0 : 1;
  } catch (err) {
    view.stop();
    process.stderr.write(`caduceus: ${errorMessage(err)}\n`);
    return interrupted ? 130 : 1;
  } finally {
    await composition.stop();
    store.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function localUser(): string {
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    return String(process.getuid?.() ?? 'unknown');
  }
}

function tail(text: string, lines = 20): string {
  const all = text.trimEnd().split('\n');
  return all
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n');
}

function describeTask(r: TaskReport): string {
  const rows = r.subtasks.map((s) => [
    s.name,
    s.status,
    String(s.attempts),
    formatDuration(s.durationMs),
    (s.error ?? '').slice(0, 100),
  ]);
  let out = `task ${r.task} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId})\n\n`;
  out += table(['SUBTASK', 'STATUS', 'ATTEMPTS', 'DURATION', 'ERROR'], rows);
  for (const s of r.subtasks) if (s.output.trim()) out += `\n${s.name}:\n${tail(s.output)}\n`;
  return out;
}

function describeSkill(r: SkillRunResult): string {
  const rows = r.steps.map((s) => [
    String(s.index + 1),
    s.id ?? '',
    s.kind,
    s.status,
    s.exitCode === undefined ? '' : String(s.exitCode),
    formatDuration(s.durationMs),
    (s.error ?? '').slice(0, 100),
  ]);
  let out = `skill ${r.skill}@${r.version} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId})${r.error ? `: ${r.error}` : ''}\n\n`;
  out += table(['STEP', 'ID', 'KIND', 'STATUS', 'EXIT', 'DURATION', 'ERROR'], rows);
  if (r.output.trim()) out += `\noutput:\n${tail(r.output)}\n`;
  return out;
}
