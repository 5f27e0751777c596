// `caduceus mcp [DIR]`: the team's skills as MCP tools over stdio, for editors and coding
// agents that start a command. It follows the git branch like `up` (a commit that changes
// the skills changes the tool list and tells the client), runs calls with every
// controller composed as `run` does, and records them with trigger `mcp`. stdout is the
// protocol: everything else goes to stderr.

import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import type { Resource, ResourceKey, Snapshot } from '../../reconciler/types.js';
import { keyOf } from '../../reconciler/types.js';
import { createLogger } from '../../reconciler/log.js';
import { errorMessage } from '../../reconciler/errors.js';
import { formatFinding } from '../../reconciler/finding-format.js';
import { localRun, localUser } from './local-run.js';
import { gitTopLevel } from './up.js';

const HELP = `usage: caduceus mcp [DIR] [options]

Serves the skills of the configuration in DIR (default .) as MCP tools over stdio.
The configuration is read from the last commit of the checked-out branch and followed:
a commit that adds or changes a skill sends notifications/tools/list_changed.

  --repo PATH        local repository (instead of DIR), with --path SUBDIR
  --path SUBDIR      configuration directory inside the repository
  --branch NAME      branch to follow (default: the checked-out branch)
  --tasks            offer every Task as a tool too (task_<name>)
  --state-dir DIR    state directory for the run history (default .caduceus)

An editor starts it as a command, e.g. {"command": "npx", "args": ["caduceus", "mcp", "config"]}.
Runs are in 'caduceus runs' with trigger mcp. Exit 0 when the client closes stdin,
1 when the first revision is invalid, 2 usage.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        repo: { type: 'string' },
        path: { type: 'string' },
        branch: { type: 'string' },
        tasks: { type: 'boolean' },
        'state-dir': { type: 'string' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    const [dir, ...extra] = args.positionals;
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${HELP}`);
    if (dir !== undefined && v.repo) throw new UsageError(`give either DIR or --repo, not both\n\n${HELP}`);
    let repo: string;
    let path: string | undefined;
    if (v.repo !== undefined) {
      repo = resolve(v.repo);
      path = v.path;
    } else {
      repo = gitTopLevel(resolve(dir ?? '.'));
      path = relative(repo, resolve(dir ?? '.')) || undefined;
    }
    const configDir = path ? (isAbsolute(path) ? path : join(repo, path)) : repo;
    const stateDir = resolve(v['state-dir'] ?? '.caduceus');
    const log = createLogger({ level: 'warn' });

    const [{ createSource }, { Loader }, proxy] = await Promise.all([
      import('../../reconciler/source/git-source.js'),
      import('../../reconciler/loader.js'),
      import('../../controllers/proxy/index.js'),
    ]);
    const source = createSource({ repo, path, branch: v.branch, stateDir, log: log.child({ component: 'source' }) });
    const loader = new Loader();
    const load = async (): Promise<Snapshot | undefined> => {
      const rev = await source.current();
      if (rev.id === revision) return undefined;
      revision = rev.id;
      const { resources, findings } = await loader.load(rev.files);
      const errors = findings.filter((f) => f.severity === 'error');
      if (errors.length) {
        for (const f of errors) process.stderr.write(`${formatFinding(f)}\n`);
        process.stderr.write(`caduceus mcp: revision ${rev.id.slice(0, 12)} is invalid; the last good one serves\n`);
        return undefined;
      }
      const map = new Map<ResourceKey, Resource>();
      for (const r of resources) map.set(keyOf(r), r);
      return { revision: rev.id, resources: map };
    };
    let revision: string | undefined;
    const first = await load();
    if (!first) return 1;
    let snap: Snapshot = first;

    const local = await localRun(() => snap, configDir, stateDir);
    const session = await proxy.serveStdio({
      snapshot: () => snap,
      runner: local.runner,
      gate: new proxy.RunGate(),
      tasks: () => v.tasks === true,
      actor: `user:${localUser()}`,
    });
    // One reload at a time: a burst of ref changes reads the tip once more at most.
    let reloading: Promise<void> = Promise.resolve();
    await source.start(() => {
      reloading = reloading.then(async () => {
        try {
          const next = await load();
          if (!next) return;
          snap = next;
          session.snapshotChanged(next);
        } catch (err) {
          process.stderr.write(`caduceus mcp: reading the repository failed: ${errorMessage(err)}\n`);
        }
      });
    });
    local.signal.addEventListener('abort', () => void session.close(), { once: true });
    await session.closed;
    await source.stop();
    await reloading;
    await local.close();
    return 0;
  });
}
