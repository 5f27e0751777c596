// `caduceus up`: runs the reconciler in the foreground until SIGINT/SIGTERM.

import { execFileSync } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { createLogger, type LogFormat, type LogLevel } from '../../reconciler/log.js';
import { parseDuration } from '../../reconciler/duration.js';
import { errorMessage } from '../../reconciler/errors.js';
import { reportStartup, waitForFirstStatus } from '../startup-report.js';

const HELP = `usage: caduceus up [DIR] [options]

Runs the reconciler in the foreground: watches a git repository, applies each new
revision, and serves /healthz, /readyz, /metrics, /status and POST /hooks/git.

  DIR                     configuration directory inside a git repository
                          (same as --repo <its repository> --path <DIR relative to it>)
  --repo PATH|URL         local repository or remote URL (file://, https://, ssh://)
  --path SUBDIR           configuration directory inside the repository
  --branch NAME           branch to track (default: the checked-out branch / remote HEAD)
  --worktree              dev mode: apply uncommitted edits of a local repository
  --allow-prune           apply revisions that prune everything or most resources
                          (otherwise held with a PruneGuard event until allowed)
  --prune-limit PERCENT   hold a revision that prunes more than this share of the
                          applied resources (default 50)
  --interval DURATION     remote fetch interval (default 60s)
  --resync DURATION       reconcile everything again at this interval (default 10m)
  --state-dir DIR         state directory (default .caduceus)
  --state URL             keep the state in PostgreSQL (postgres://USER@HOST/DB; default:
                          CADUCEUS_STATE_URL, else SQLite in the state directory); several
                          \`up\` replicas may share it, one leads
  --listen HOST:PORT      status server address (default 127.0.0.1:9090)
  --log-format text|json  log format (default text)
  --log-level LEVEL       debug, info, warn, error (default info)

The git webhook secret is read from CADUCEUS_WEBHOOK_SECRET.`;

export function gitTopLevel(dir: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    throw new UsageError(
      `${dir} is not inside a git repository; run 'git init && git add -A && git commit' there, ` +
        'or use --worktree with --repo',
    );
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        repo: { type: 'string' },
        path: { type: 'string' },
        branch: { type: 'string' },
        worktree: { type: 'boolean' },
        'allow-prune': { type: 'boolean' },
        'prune-limit': { type: 'string' },
        interval: { type: 'string' },
        resync: { type: 'string' },
        'state-dir': { type: 'string' },
        state: { type: 'string' },
        listen: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    const format = (v['log-format'] ?? 'text') as LogFormat;
    if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json\n\n${HELP}`);
    const level = (v['log-level'] ?? 'info') as LogLevel;
    let repo = v.repo ?? '.';
    let path = v.path;
    const dir = args.positionals[0];
    if (dir !== undefined) {
      if (v.repo) throw new UsageError(`give either DIR or --repo, not both\n\n${HELP}`);
      const top = gitTopLevel(resolve(dir));
      repo = top;
      path = relative(top, resolve(dir)) || undefined;
    }
    const limit = v['prune-limit'] === undefined ? 50 : Number(v['prune-limit'].replace(/%$/, ''));
    if (!Number.isFinite(limit) || limit < 0 || limit > 100)
      throw new UsageError(`--prune-limit must be a percentage from 0 to 100\n\n${HELP}`);
    const log = createLogger({ format, level });
    const [{ startApp }, { stateUrl }] = await Promise.all([
      import('../app.js'),
      import('../../reconciler/state/store.js'),
    ]);
    const url = stateUrl(v.state);
    if (url !== undefined && !/^postgres(ql)?:\/\//i.test(url))
      throw new UsageError(`--state takes a postgres:// URL (SQLite is the default, in --state-dir)\n\n${HELP}`);
    const app = await startApp({
      repo,
      stateDir: v['state-dir'] ?? '.caduceus',
      stateUrl: url,
      // A replica that lost the lease exits, so its supervisor restarts it as a follower.
      onLeadershipLost: () => {
        log.error('leadership lost; exiting so that a supervisor restarts this replica as a follower');
        setTimeout(() => process.exit(1), 100).unref();
      },
      listen: v.listen ?? '127.0.0.1:9090',
      log,
      path,
      branch: v.branch,
      worktree: v.worktree === true,
      pruneGuard: { maxShare: limit / 100, allow: v['allow-prune'] === true },
      interval: v.interval !== undefined ? parseDuration(v.interval) : undefined,
      resyncMs: v.resync !== undefined ? parseDuration(v.resync) : undefined,
    });
    // The source's own view of the repository: a URL's credentials are redacted there.
    log.info('caduceus is up', {
      url: app.url,
      role: app.role(),
      // Spread: the text log prints every key, so a follower would show repo=undefined.
      ...(app.role() === 'leader' ? { repo: app.source.status().repo } : {}),
      path: path ?? '.',
      stateDir: v['state-dir'] ?? '.caduceus',
    });
    return new Promise<number>((resolveExit) => {
      let stopping = false;
      const exit = (code: number): void => {
        resolveExit(code);
        // Everything of ours is closed; a handle someone else left open (a controller's
        // socket, a child) must not keep `up` alive after the operator asked it to stop.
        setTimeout(() => process.exit(code), 2_000).unref();
      };
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info('shutting down', { signal });
        const force = setTimeout(() => {
          log.error('shutdown took longer than 10 s; exiting anyway');
          process.exit(130);
        }, 10_000);
        force.unref();
        app.stop().then(
          () => {
            log.info('stopped');
            exit(0);
          },
          (err: unknown) => {
            log.error('shutdown failed', { error: errorMessage(err) });
            exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      // After the handlers: a signal during the report still stops `up` cleanly.
      const snapshot = (): ReturnType<typeof app.reconciler.snapshot> => app.reconciler.snapshot();
      void waitForFirstStatus(
        app.core,
        snapshot,
        () => stopping,
        undefined,
        () => app.reconciler.ready(),
      ).then(
        (statuses) => {
          if (stopping) return;
          reportStartup(
            statuses,
            snapshot(),
            log,
            format === 'text' ? (l) => process.stderr.write(`${l}\n`) : undefined,
            v['state-dir'] ?? '.caduceus',
          );
        },
        (err: unknown) => {
          if (!stopping) log.warn('could not report the start-up status', { error: errorMessage(err) });
        },
      );
    });
  });
}
