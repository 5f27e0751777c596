// Assembles a running Caduceus: state store, git source, loader, controllers, the
// reconcile loop and the HTTP server. `caduceus up` is a thin shell around startApp,
// and end-to-end tests start it the same way.

import { isAbsolute, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger, ControllerDeps, Snapshot } from '../reconciler/types.js';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore, type NewEvent } from '../reconciler/state/core-store.js';
import { Loader } from '../reconciler/loader.js';
import { createSource, isRemoteRepo, type Source } from '../reconciler/source/git-source.js';
import { createGitWebhookRoute } from './webhook.js';
import { Reconciler } from '../reconciler/loop.js';
import { createLoopMetrics } from '../reconciler/metrics.js';
import { compose, lateBoundRunner, ALL_REGISTRATIONS, type Register } from './compose.js';
import { startServer } from './server.js';
import { silentLogger } from '../reconciler/log.js';
import { errorMessage } from '../reconciler/errors.js';

export interface AppOptions {
  /** Local repository path or remote URL. */
  repo: string;
  /** Sub-directory of the repository holding the configuration (like Flux's spec.path). */
  path?: string;
  branch?: string;
  /** Dev mode: watch uncommitted files of a local repository. */
  worktree?: boolean;
  stateDir: string;
  /** HOST:PORT of the status/metrics/webhook server (default 127.0.0.1:9090; port 0 picks one). */
  listen?: string;
  log?: Logger;
  resyncMs?: number;
  /** Remote fetch interval in ms (default 60 s). */
  interval?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Environment variable holding the git webhook secret (default CADUCEUS_WEBHOOK_SECRET). */
  webhookSecretEnv?: string;
  env?: NodeJS.ProcessEnv;
  /** Controllers to register (default: all). */
  registrations?: readonly Register[];
}

export interface App {
  url: string;
  store: StateStore;
  core: CoreStore;
  reconciler: Reconciler;
  source: Source;
  deps: ControllerDeps;
  waitForRevision(revision: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startApp(opts: AppOptions): Promise<App> {
  const log = opts.log ?? silentLogger;
  const env = opts.env ?? process.env;
  const stateDir = resolve(opts.stateDir);
  const store = new StateStore({ stateDir });
  const core = new CoreStore(store);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'caduceus_process_' });

  const repo = isRemoteRepo(opts.repo) ? opts.repo : resolve(opts.repo);
  const rawSource = createSource({
    repo,
    stateDir,
    log: log.child({ component: 'source' }),
    path: opts.path,
    branch: opts.branch,
    worktree: opts.worktree,
    interval: opts.interval,
  });
  let stopped = false;
  const recordHealth = sourceHealthRecorder(rawSource, core, log, () => stopped);
  // Fetches made through the app (webhook, tests) record their outcome as soon as they end.
  const source: Source = {
    current: () => rawSource.current(),
    start: (onChange) => rawSource.start(onChange),
    stop: () => rawSource.stop(),
    fetchNow: () => rawSource.fetchNow().finally(recordHealth),
    status: () => rawSource.status(),
  };

  const configDir = !isRemoteRepo(repo)
    ? opts.path
      ? isAbsolute(opts.path)
        ? opts.path
        : join(repo, opts.path)
      : repo
    : undefined;
  // Late binding: controllers are built before the loop that owns the snapshot.
  let reconciler: Reconciler | undefined;
  const snapshotWatchers = new Set<(snap: Snapshot) => void>();
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store,
    events: core,
    log,
    stateDir,
    snapshot: () => reconciler?.snapshot() ?? { revision: '', resources: new Map() },
    watchSnapshot: (fn) => {
      snapshotWatchers.add(fn);
      return () => snapshotWatchers.delete(fn);
    },
    runner,
    metrics,
    configDir: configDir && existsSync(configDir) ? configDir : undefined,
    gitSource: {
      repo,
      path: opts.path,
      branch: opts.branch,
    },
  };
  const composition = compose(deps, provide, opts.registrations ?? ALL_REGISTRATIONS);
  const loopMetrics = createLoopMetrics(metrics, {
    core,
    fetchErrors: () => source.status().fetchErrors,
    appliedRevision: () => reconciler?.applied(),
  });
  const rec = new Reconciler({
    core,
    source,
    loader: new Loader(),
    controllers: composition.controllers,
    log: log.child({ component: 'loop' }),
    metrics: loopMetrics,
    resyncMs: opts.resyncMs,
    backoffBaseMs: opts.backoffBaseMs,
    backoffMaxMs: opts.backoffMaxMs,
    onAccept: (snap) => {
      for (const fn of snapshotWatchers) fn(snap);
    },
  });
  reconciler = rec;

  const secretEnv = opts.webhookSecretEnv ?? 'CADUCEUS_WEBHOOK_SECRET';
  const webhook = createGitWebhookRoute({
    secret: () => env[secretEnv],
    secretName: secretEnv,
    onPush: (info) => {
      // A push to another branch cannot change what is followed; tags neither.
      if (opts.branch && info.ref && info.ref !== `refs/heads/${opts.branch}`) {
        log.debug('git push to another ref ignored', { ref: info.ref });
        return;
      }
      log.info('git push received', {
        provider: info.provider,
        ref: info.ref,
        after: info.after,
        delivery: info.deliveryId,
      });
      source
        .fetchNow()
        .then(() => rec.requestSync())
        .catch((err: unknown) => log.warn('fetch after webhook failed', { error: errorMessage(err) }));
    },
    log: log.child({ component: 'webhook' }),
  });

  // Anything started before a failure is released, so a bad --listen or a missing
  // branch leaves no open database, timer or watcher behind.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = await startServer({
      listen: opts.listen ?? '127.0.0.1:9090',
      routes: [webhook, ...composition.routes],
      metrics,
      ready: () => rec.ready(),
      status: () => ({
        ready: rec.ready(),
        source: source.status(),
        ...core.sourceState(),
        history: core.history(),
        resources: core.allStatus(),
      }),
      log,
    });
    // Starting the source first makes a missing repository, branch or path a startup
    // error; the first sync then reads the revision it found.
    await source.start(() => void rec.requestSync());
    await rec.requestSync();
    recordHealth();
    rec.start();
  } catch (err) {
    await source.stop().catch(() => undefined);
    await rec.stop().catch(() => undefined);
    await composition.stop().catch(() => undefined);
    await server?.close();
    store.close();
    throw err;
  }
  const srv = server;
  // The remote source fetches on its own timer and tells no one when a fetch fails, so
  // its in-memory status is compared each second; the database is written only on change.
  const healthTimer = rawSource.status().mode === 'remote' ? setInterval(recordHealth, 1000).unref() : undefined;

  return {
    url: srv.url,
    store,
    core,
    reconciler: rec,
    source,
    deps,
    waitForRevision: (revision, timeoutMs) => rec.waitForRevision(revision, timeoutMs),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(healthTimer);
      // The loop first, so no sync reads from a source that is already closed.
      await rec.stop();
      await source.stop();
      await composition.stop();
      await srv.close();
      store.close();
    },
  };
}

/**
 * Persists the source's health for `caduceus status` (which reads only the database) when
 * the fetch outcome changes: another failed attempt, a new error, a recovery. A steady,
 * working source is not rewritten on every poll. Failures starting and ending are events.
 */
function sourceHealthRecorder(source: Source, core: CoreStore, log: Logger, stopped: () => boolean): () => void {
  let written: string | undefined;
  let failingSince: string | undefined;
  return () => {
    if (stopped()) return;
    const s = source.status();
    const key = JSON.stringify([s.mode, s.repo, s.branch, s.path, s.fetchErrors, s.lastFetchError]);
    if (key === written) return;
    const events: NewEvent[] = [];
    let since = failingSince;
    if (s.fetchErrors > 0 && since === undefined) {
      since = s.lastFetchAt ?? new Date().toISOString();
      events.push({
        type: 'Warning',
        reason: 'GitFetchFailed',
        message: `${s.lastFetchError ?? 'fetch failed'}; the applied revision keeps running`,
      });
    } else if (s.fetchErrors === 0 && since !== undefined) {
      since = undefined;
      events.push({ type: 'Normal', reason: 'GitFetchRecovered', message: `fetching ${s.repo} works again` });
    }
    try {
      core.recordSourceHealth(
        {
          mode: s.mode,
          repo: s.repo,
          branch: s.branch,
          path: s.path,
          lastFetchAt: s.lastFetchAt,
          fetchErrors: s.fetchErrors,
          lastFetchError: s.lastFetchError,
          failingSince: since,
        },
        events,
      );
      written = key;
      failingSince = since;
    } catch (err) {
      // A busy or full disk must not stop the source; the next change tries again.
      log.warn('could not record the git source status', { error: errorMessage(err) });
    }
  };
}
