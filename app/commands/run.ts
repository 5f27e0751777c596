// `caduceus run skill|task NAME`: loads a configuration directory, composes the
// controllers' runners over a state directory and runs the work now, with live progress.
// SIGINT/SIGTERM cancel the run; backends remove its processes and containers first.

import { resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import type { ParamValue, Snapshot } from '../../reconciler/types.js';
import { errorMessage } from '../../reconciler/errors.js';
import { progressView } from './run-progress.js';
import { describeSkill, describeTask } from './run-report.js';
import { loadSnapshot, localRun, localUser } from './local-run.js';

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
  const local = await localRun(req.snapshot, req.configDir, req.stateDir);
  const { runner } = local;
  const view = progressView(process.stderr);
  const opts = {
    trigger: { source: 'cli', actor: `user:${localUser()}` },
    signal: local.signal,
    onProgress: view.onProgress,
  };
  try {
    const result =
      req.what === 'task' ? await runner.runTask(req.name, opts) : await runner.runSkill(req.name, req.params, opts);
    view.stop();
    if (req.json) writeStructured(result);
    else process.stdout.write('subtasks' in result ? describeTask(result) : describeSkill(result));
    if (local.interrupted()) return 130;
    return result.status === 'succeeded' ? 0 : 1;
  } catch (err) {
    view.stop();
    process.stderr.write(`caduceus: ${errorMessage(err)}\n`);
    return local.interrupted() ? 130 : 1;
  } finally {
    await local.close();
  }
}
