// Assembles a running Caduceus: state store, git source, loader, controllers, the
// reconcile loop and the HTTP server. `caduceus up` is a thin shell around startApp,
// and end-to-end tests start it the same way. With PostgreSQL several replicas may run:
// the one holding the leader lease (leader.ts) does all of this, the others serve the
// read endpoints and take over when the lease expires.

import { isAbsolute, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { Registry } from '../reconciler/prom-metrics.js';
import type { Logger, ControllerDeps, HttpRoute, Snapshot } from '../reconciler/types.js';
import { resourcesOfKind } from '../reconciler/types.js';
import { applyRetention, retentionLimits } from '../reconciler/state/retention.js';
import { StateStore } from '../reconciler/state/store.js';
import { CoreStore, type NewEvent } from '../reconciler/state/core-store.js';
import { RunStore } from '../reconciler/state/runs.js';
import { LeaderLease, type Acquired } from '../reconciler/state/leader.js';
import { Loader } from '../reconciler/loader.js';
import { rememberSecret, rememberSecretsIn, type SecretOptions } from '../reconciler/secrets.js';
import { createSource, isRemoteRepo, type Source } from '../reconciler/source/git-source.js';
import { createGitWebhookRoute } from './webhook.js';
import { DeliveryLog } from './webhook-deliveries.js';
import { Reconciler, type PruneGuardOptions } from '../reconciler/loop.js';
import { createLoopMetrics } from '../reconciler/metrics.js';
import { compose, lateBoundRunner, ALL_REGISTRATIONS, type Register } from './compose.js';
import { startServer } from './server.js';
import { defaultMetricsOnce } from './default-metrics.js';
import { silentLogger } from '../reconciler/log.js';
import { errorMessage } from '../reconciler/errors.js';

/** Longest wait for the first revision to be applied before work readiness does not need starts anyway. */
const STARTED_WAIT_MS = 60_000;

export interface AppOptions {
  /** Local repository path or remote URL. */
  repo: string;
  /** Sub-directory of the repository holding the configuration (like Flux's spec.path). */
  path?: string;
  branch?: string;
  /** Dev mode: watch uncommitted files of a local repository. */
  worktree?: boolean;
  stateDir: string;
  /** A postgres:// URL: state in PostgreSQL, and replicas with one leader (default: SQLite in stateDir). */
  stateUrl?: string;
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
  /** Prune guard: hold revisions that prune more than this share, unless allowed (see loop.ts). */
  pruneGuard?: PruneGuardOptions;
  /** How often the Runtime's retention runs (default 1 h; also once at start). */
  retentionIntervalMs?: number;
  /** Controllers to register (default: all). */
  registrations?: readonly Register[];
  /** Leader lease timing on PostgreSQL (defaults: 8 s lease, renewed every 2 s, followers try every second). */
  lease?: { ttlMs?: number; renewMs?: number; pollMs?: number };
  /**
   * Called when this replica lost the lease (it could not renew in time) and has stopped
   * leading. `caduceus up` exits, so a supervisor restarts it as a follower; the default
   * stops the app.
   */
  onLeadershipLost?: () => void;
}

export interface App {
  url: string;
  store: StateStore;
  core: CoreStore;
  /** The deployment's stable id: what its containers and Swarm services are labelled with. */
  instanceId: string;
  role(): 'leader' | 'follower';
  /** Resolves when this replica leads (at once with SQLite); rejects if taking over failed. */
  leading: Promise<void>;
  /** The parts below exist only on the leader; reading them on a follower throws. */
  reconciler: Reconciler;
  source: Source;
  deps: ControllerDeps;
  waitForRevision(revision: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** What only the leader runs. */
interface Leading {
  rec: Reconciler;
  source: Source;
  deps: ControllerDeps;
  stop(): Promise<void>;
}

export async function startApp(opts: AppOptions): Promise<App> {
  const log = opts.log ?? silentLogger;
  const stateDir = resolve(opts.stateDir);
  // One `up` per SQLite state directory; a second one is refused here, naming the first.
  // (PostgreSQL replicas share the store; the leader lease decides which one acts.)
  const store = new StateStore({ stateDir, url: opts.stateUrl, exclusive: true });
  let core: CoreStore;
  let instanceId: string;
  try {
    core = new CoreStore(store);
    instanceId = core.instanceId();
  } catch (err) {
    store.close();
    throw err;
  }
  const metrics = new Registry();
  // Node's default metrics: after the first sync (below) or at the first scrape.
  const defaultMetrics = defaultMetricsOnce(metrics);
  const lease = store.dialect === 'postgres' ? new LeaderLease(store, { ttlMs: opts.lease?.ttlMs }) : undefined;
  const routes: HttpRoute[] = [];
  let leader: Leading | undefined;
  // Until this replica knows whether it leads (and, leading, has applied the first
  // revision), it is not ready: the server answers from before the first sync, and a probe
  // must not send traffic to a process that has applied nothing yet.
  let electing = true;
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];

  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = await startServer({
      listen: opts.listen ?? '127.0.0.1:9090',
      routes,
      metrics,
      beforeScrape: defaultMetrics,
      // A follower is ready as soon as it serves the read endpoints; neither is with a
      // state database deleted or overwritten under it.
      ready: () => !electing && store.health() === undefined && (leader ? leader.rec.ready() : true),
      notReady: () => store.health() ?? leader?.rec.syncProblem()?.message,
      status: () => {
        const stateProblem = store.health();
        let stored: Record<string, unknown> = {};
        try {
          stored = { ...core.sourceState(), history: core.history(), resources: core.allStatus() };
        } catch {
          // A damaged database has nothing to say; stateProblem says why.
        }
        return {
          role: leader ? 'leader' : 'follower',
          instance: instanceId,
          leader: lease ? leaderInfo(lease) : undefined,
          ready: (leader ? leader.rec.ready() : false) && stateProblem === undefined,
          stateProblem,
          syncProblem: leader?.rec.syncProblem(),
          source: leader?.source.status(),
          ...stored,
        };
      },
      log,
    });
    const first = lease ? lease.tryAcquire() : { term: 1 };
    if (first) leader = await lead(opts, { store, core, metrics, routes, log, stateDir, instanceId }, first);
    electing = false;
  } catch (err) {
    if (leader === undefined) lease?.release();
    await server?.close();
    store.close();
    throw err;
  }
  const srv = server;
  // A second after the first sync: not in front of the first /readyz answer, and early enough
  // that the process and GC figures cover nearly the whole life of the process.
  timers.push(setTimeout(defaultMetrics, 1000).unref());

  let resolveLeading: () => void = () => undefined;
  let rejectLeading: (err: unknown) => void = () => undefined;
  const leading = new Promise<void>((res, rej) => {
    resolveLeading = res;
    rejectLeading = rej;
  });
  leading.catch(() => undefined);

  const lost = (why: string): void => {
    if (stopped) return;
    log.error('leadership lost: stopping', { reason: why });
    const parts = leader;
    leader = undefined;
    void (parts?.stop() ?? Promise.resolve()).finally(() => (opts.onLeadershipLost ?? (() => void app.stop()))());
  };
  const renewEvery = (): void => {
    if (!lease) return;
    const ttl = lease.ttlMs;
    let renewedAt = Date.now();
    timers.push(
      setInterval(() => {
        let ok: boolean | undefined;
        try {
          ok = lease.renew();
        } catch (err) {
          log.warn('could not renew the leader lease', { error: errorMessage(err) });
        }
        if (ok) renewedAt = Date.now();
        else if (ok === false) lost('another replica holds the lease');
        // Step down before the lease can expire, so no two leaders act at once.
        else if (Date.now() - renewedAt > ttl - (opts.lease?.renewMs ?? 2000))
          lost('the lease could not be renewed in time');
      }, opts.lease?.renewMs ?? 2000).unref(),
    );
  };
  // A deleted or damaged database is said in the log too, once per new problem.
  let stateProblem: string | undefined;
  timers.push(
    setInterval(() => {
      const p = store.health();
      if (p !== undefined && p !== stateProblem)
        log.error('the state database is not usable; /readyz fails', { problem: p });
      stateProblem = p;
    }, 5_000).unref(),
  );
  if (leader) {
    resolveLeading();
    renewEvery();
  } else if (lease) {
    log.info('another replica leads; serving the read endpoints', { leader: lease.current()?.holder });
    let trying = false;
    const poll = setInterval(() => {
      if (trying || stopped) return;
      let acq: Acquired | undefined;
      try {
        acq = lease.tryAcquire();
      } catch (err) {
        log.warn('could not read the leader lease', { error: errorMessage(err) });
        return;
      }
      if (!acq) return;
      trying = true;
      clearInterval(poll);
      renewEvery();
      lead(opts, { store, core, metrics, routes, log, stateDir, instanceId }, acq).then(
        (parts) => {
          if (stopped) return void parts.stop();
          leader = parts;
          resolveLeading();
        },
        (err: unknown) => {
          rejectLeading(err);
          lost(`taking over failed: ${errorMessage(err)}`);
        },
      );
    }, opts.lease?.pollMs ?? 1000);
    poll.unref();
    timers.push(poll);
  }

  const need = (): Leading => {
    if (!leader) throw new Error('this replica is a follower: the leader runs the reconciler');
    return leader;
  };
  const app: App = {
    url: srv.url,
    store,
    core,
    instanceId,
    role: () => (leader ? 'leader' : 'follower'),
    leading,
    get reconciler() {
      return need().rec;
    },
    get source() {
      return need().source;
    },
    get deps() {
      return need().deps;
    },
    waitForRevision: (revision, timeoutMs) => need().rec.waitForRevision(revision, timeoutMs),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      const parts = leader;
      leader = undefined;
      await parts?.stop();
      // A clean shutdown hands the lease over at once instead of after its expiry.
      if (parts) {
        try {
          lease?.release();
        } catch (err) {
          log.warn('could not release the leader lease', { error: errorMessage(err) });
        }
      }
      await srv.close();
      store.close();
    },
  };
  return app;
}

function leaderInfo(lease: LeaderLease): Record<string, unknown> | null {
  try {
    const cur = lease.current();
    return cur ? { holder: cur.holder, term: cur.term, expiresAt: new Date(cur.expiresAt).toISOString() } : null;
  } catch {
    return null;
  }
}

interface Shared {
  store: StateStore;
  core: CoreStore;
  metrics: Registry;
  routes: HttpRoute[];
  log: Logger;
  stateDir: string;
  instanceId: string;
}

/**
 * Starts everything only the leader runs: the source, the controllers, the loop and its
 * routes. A leader that replaced one that died first abandons that one's runs.
 */
async function lead(opts: AppOptions, shared: Shared, acquired: Acquired): Promise<Leading> {
  const { store, core, metrics, routes, log, stateDir, instanceId } = shared;
  const env = opts.env ?? process.env;
  // SQLite: the `up` before this one on the state directory may have crashed (its lock
  // says so); PostgreSQL: the leader whose lease expired. Either one's runs are abandoned.
  if (store.lock) {
    abandonCrashedRuns(store, core, log);
  } else if (acquired.previous !== undefined) {
    const n = new RunStore(store).abandonRunning(acquired.previous);
    core.record(
      'Instance/up',
      'Normal',
      'LeaderElected',
      `replica ${store.owner.slice(0, 8)} leads (term ${acquired.term}); ${n} run(s) of the previous leader abandoned`,
    );
    log.info('took the leader lease', { term: acquired.term, abandonedRuns: n });
  } else if (store.dialect === 'postgres') {
    core.record(
      'Instance/up',
      'Normal',
      'LeaderElected',
      `replica ${store.owner.slice(0, 8)} leads (term ${acquired.term})`,
    );
  }

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
  let lastRead: number | undefined;
  const source: Source = {
    current: () =>
      rawSource.current().then((r) => {
        lastRead = Date.now();
        return r;
      }),
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
  let firstSyncDone: () => void = () => undefined;
  const started = new Promise<void>((res) => {
    firstSyncDone = res;
  });
  const deps: ControllerDeps = {
    store,
    events: core,
    log,
    stateDir,
    instanceId,
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
    started,
  };
  const composition = compose(deps, provide, opts.registrations ?? ALL_REGISTRATIONS);
  const loopMetrics = createLoopMetrics(metrics, {
    core,
    fetchErrors: () => source.status().fetchErrors,
    lastSuccessfulFetch: () => {
      const s = source.status();
      if (s.mode !== 'remote') return lastRead;
      return s.lastSuccessAt ? Date.parse(s.lastSuccessAt) : undefined;
    },
    appliedRevision: () => reconciler?.applied(),
  });
  const rec = new Reconciler({
    core,
    source,
    loader: new SecretAwareLoader({ env, ...(configDir ? { baseDir: configDir } : {}) }),
    controllers: composition.controllers,
    log: log.child({ component: 'loop' }),
    metrics: loopMetrics,
    resyncMs: opts.resyncMs,
    backoffBaseMs: opts.backoffBaseMs,
    backoffMaxMs: opts.backoffMaxMs,
    pruneGuard: opts.pruneGuard,
    onAccept: (snap) => {
      for (const fn of snapshotWatchers) fn(snap);
    },
  });
  reconciler = rec;

  const secretEnv = opts.webhookSecretEnv ?? 'CADUCEUS_WEBHOOK_SECRET';
  // Redacted from the start, not only once the first webhook has read it.
  rememberSecret(env[secretEnv]);
  const webhook = createGitWebhookRoute({
    secret: () => {
      const value = env[secretEnv];
      rememberSecret(value);
      return value;
    },
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
    deliveries: new DeliveryLog(store),
  });
  const mounted = [webhook, ...composition.routes];
  routes.push(...mounted);
  const unmount = (): void => {
    for (const r of mounted) {
      const i = routes.indexOf(r);
      if (i >= 0) routes.splice(i, 1);
    }
  };

  // Anything started before a failure is released, so a bad --listen or a missing
  // branch leaves no timer or watcher behind.
  try {
    // Starting the source first makes a missing repository, branch or path a startup
    // error; the first sync then reads the revision it found.
    await source.start(() => void rec.requestSync());
    await rec.requestSync();
    recordHealth();
    rec.start();
    // The first sync queues the revision's keys; `started` waits for them to be applied
    // (at 10,000 resources that is most of the start), or a minute at most when a key
    // keeps failing. A rejected first revision has no snapshot: nothing to wait for.
    const first = rec.snapshot().revision;
    void (first ? rec.waitForRevision(first, STARTED_WAIT_MS) : Promise.resolve())
      .catch(() => undefined)
      .then(firstSyncDone);
  } catch (err) {
    unmount();
    await source.stop().catch(() => undefined);
    await rec.stop().catch(() => undefined);
    await composition.stop().catch(() => undefined);
    throw err;
  }
  // The remote source fetches on its own timer and tells no one when a fetch fails, so
  // its in-memory status is compared each second; the database is written only on change.
  const healthTimer = rawSource.status().mode === 'remote' ? setInterval(recordHealth, 1000).unref() : undefined;
  // The logs stay bounded: the Runtime's retention at start and every hour.
  const retain = (): void => {
    try {
      const rt = resourcesOfKind(rec.snapshot(), 'Runtime')[0];
      const r = applyRetention(store, retentionLimits(rt?.spec.retention));
      if (Object.keys(r.deleted).length > 0)
        log.info('old log rows deleted', { ...r.deleted, freedPages: r.freedPages });
    } catch (err) {
      log.warn('retention failed; it is tried again in an hour', { error: errorMessage(err) });
    }
  };
  retain();
  const retentionTimer = setInterval(retain, opts.retentionIntervalMs ?? 3_600_000).unref();

  return {
    rec,
    source,
    deps,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(healthTimer);
      clearInterval(retentionTimer);
      unmount();
      // The loop first, so no sync reads from a source that is already closed.
      await rec.stop();
      await source.stop();
      await composition.stop();
    },
  };
}

/**
 * The previous `up` on this state directory crashed (its holder file is still there): its
 * runs in progress are marked abandoned, so `runs` stops listing them as running and a
 * task whose run they were is started again. Their processes died with it (local steps
 * are tied to it) and their containers are removed by the Docker backend's collection.
 */
function abandonCrashedRuns(store: StateStore, core: CoreStore, log: Logger): void {
  const crashed = store.lock?.crashed;
  // Runs without an owner were written before owners were, so by a process now gone.
  const n = new RunStore(store).abandonRunning(crashed?.owner ?? '');
  if (!crashed && n === 0) return;
  const who = crashed
    ? `caduceus up pid ${crashed.pid} on host ${crashed.host} (up since ${crashed.since})`
    : 'an older caduceus';
  const message = `${who} did not stop cleanly; ${n} run(s) it had in progress are abandoned`;
  log.warn('the previous process on this state directory did not stop cleanly', { abandonedRuns: n, ...crashed });
  core.recordLoopEvent('Warning', 'RunsAbandoned', message);
}

/**
 * The loader of `up`: every secret a loaded revision references is resolved once and so
 * redacted from then on, also the ones no controller reads (an LLM key, a variable a
 * Runtime puts on the step allow-list).
 */
class SecretAwareLoader extends Loader {
  constructor(private readonly secretOpts: SecretOptions) {
    super();
  }

  override async load(files: Parameters<Loader['load']>[0]): ReturnType<Loader['load']> {
    const result = await super.load(files);
    rememberSecretsIn(
      result.resources.map((r) => r.spec),
      this.secretOpts,
    );
    return result;
  }
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
