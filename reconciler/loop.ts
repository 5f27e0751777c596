// The reconcile loop. One revision's story, top to bottom:
//   fetch source → load + validate → plan against the applied snapshot → accept (or reject
//   whole) → enqueue changed keys → each controller reconciles its resource → summarise
//   into status and events → when every key of the revision has converged, the revision is applied.
// Controllers are level-triggered; the queue owns dedup, ordering, backoff and resync.

import type { Controller, Finding, Kind, Logger, ReconcileContext, Resource, ResourceKey, Snapshot } from './types.js';
import { APPLY_ORDER, keyOf, splitKey } from './types.js';
import type { CoreStore } from './state/core-store.js';
import { plan, type Plan } from './planner.js';
import { WorkQueue } from './work-queue.js';
import type { LoopMetrics } from './metrics.js';
import { errorMessage } from './errors.js';
import { backoffMs } from './backoff.js';
import { redactUrl } from './secrets.js';
import { describeFinding } from './finding-format.js';
import { short, summarise, type Outcome, type SummaryInput } from './summarise.js';

/** What the loop needs of a source: the tip as a list of files (see reconciler/source/). */
export interface RevisionProvider {
  current(): Promise<{
    id: string;
    files: Array<{ path: string; id: string; read(): Promise<Buffer> }>;
    /** The commit has no directory at the followed path: rejected, never read as empty. */
    missingPath?: string;
  }>;
}

/** What the loop needs of the loader (see reconciler/loader.ts). */
export interface ResourceLoader {
  load(
    files: Array<{ path: string; id: string; read(): Promise<Buffer> }>,
  ): Promise<{ resources: Resource[]; findings: Finding[] }>;
}

export interface LoopOptions {
  core: CoreStore;
  source: RevisionProvider;
  loader: ResourceLoader;
  controllers: readonly Controller[];
  log: Logger;
  metrics?: LoopMetrics;
  /** Resources reconciled at the same time (default 4). */
  concurrency?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Every resource is reconciled again at this interval to heal drift (default 10 min). */
  resyncMs?: number;
  /** Guards against pruning by accident (see pruneGuard()). */
  pruneGuard?: PruneGuardOptions;
  /** Told of every accepted snapshot (what serves skills to clients follows git through it). */
  onAccept?: (snap: Snapshot) => void;
}

export interface PruneGuardOptions {
  /** Hold a revision that prunes more than this share of the applied resources (default 0.5). */
  maxShare?: number;
  /** Let every prune through (`up --allow-prune`). */
  allow?: boolean;
}

/** A resource of the revision annotated with this ("true") lets that revision's prunes through. */
export const ALLOW_PRUNE_ANNOTATION = 'caduceus.dev/allow-prune';

/** Why the loop cannot move on: a sync or the applied record that the state store refused. */
export interface SyncProblem {
  message: string;
  since: string;
  failures: number;
  retryInMs: number;
}

export type SyncOutcome = {
  outcome: 'applied' | 'accepted' | 'rejected' | 'held' | 'unchanged';
  revision: string;
  plan?: Plan;
  errors?: Finding[];
};

/** A commit without the followed directory, as the finding it is rejected with. */
function missingPathFinding(path: string): Finding {
  return {
    file: path,
    line: 1,
    column: 1,
    severity: 'error',
    rule: 'path-not-found',
    message:
      `this commit has no directory "${path}" (the --path that up follows); nothing is pruned. ` +
      'Restore it, or restart up with the new --path',
  };
}

/** How long stop() waits for in-flight reconciles to notice the abort. */
const STOP_GRACE_MS = 5_000;

export class Reconciler {
  private snap: Snapshot | undefined;
  private readonly controllers = new Map<Kind, Controller>();
  private readonly queue: WorkQueue;
  private pending = new Set<ResourceKey>();
  private pendingRevision: string | undefined;
  private pendingSummary: Record<string, number> = {};
  private firstSync = true;
  private syncChain: Promise<unknown> = Promise.resolve();
  private syncQueued = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly appliedWaiters = new Map<string, Array<() => void>>();
  /** Keys whose reconcile ended terminal, with the spec hash it ended for. */
  private readonly stalled = new Map<ResourceKey, string>();
  private appliedRevision: string | undefined;
  private stopped = false;
  private problem: SyncProblem | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LoopOptions) {
    for (const c of opts.controllers) this.controllers.set(c.kind, c);
    const rank = (key: string): number => {
      const { kind } = splitKey(key);
      const i = APPLY_ORDER.indexOf(kind);
      // Deletions run after applies, in reverse order, so dependents go first.
      return this.snap?.resources.has(key) ? i : APPLY_ORDER.length * 2 - i;
    };
    this.queue = new WorkQueue((key, release) => this.reconcileKey(key, release), {
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: opts.backoffBaseMs ?? 500,
      maxDelayMs: opts.backoffMaxMs ?? 300_000,
      priority: rank,
    });
    this.appliedRevision = opts.core.sourceState().lastAppliedRevision ?? undefined;
  }

  /** The snapshot of the last accepted revision (the one controllers are driven by). */
  snapshot(): Snapshot {
    return this.snap ?? { revision: '', resources: new Map() };
  }

  /** The revision whose every resource has converged, if any in this process. */
  applied(): string | undefined {
    return this.appliedRevision;
  }

  /** True once the first revision of this process has been fully applied, and nothing is failing to be recorded. */
  ready(): boolean {
    return (
      this.problem === undefined &&
      this.snap !== undefined &&
      this.pending.size === 0 &&
      this.appliedRevision === this.snap.revision
    );
  }

  /** Set while a sync (or recording a revision as applied) fails; cleared once one goes through. */
  syncProblem(): SyncProblem | undefined {
    return this.problem;
  }

  start(): void {
    const resync = this.opts.resyncMs ?? 600_000;
    this.resyncTimer = setInterval(() => this.resync(), resync);
    this.resyncTimer.unref();
  }

  /** Re-reads the source and reconciles every resource again (drift healing). */
  resync(): void {
    this.requestSync();
    for (const key of this.snapshot().resources.keys()) this.queue.add(key);
  }

  /** Coalesces sync requests: at most one running and one queued. */
  requestSync(): Promise<unknown> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.syncQueued) return this.syncChain;
    this.syncQueued = true;
    this.syncChain = this.syncChain.then(async () => {
      this.syncQueued = false;
      try {
        const outcome = await this.sync();
        this.recovered();
        return outcome;
      } catch (err) {
        this.failed(err, () => void this.requestSync());
        return undefined;
      }
    });
    return this.syncChain;
  }

  /**
   * A sync that threw (a state-store write refused, a source that failed) left the loop as
   * it was; it is tried again with backoff until it goes through, and /status and /readyz
   * say why meanwhile.
   */
  private failed(err: unknown, retry: () => void): void {
    const failures = (this.problem?.failures ?? 0) + 1;
    const retryInMs = backoffMs(failures, {
      initialMs: this.opts.backoffBaseMs ?? 500,
      maxMs: this.opts.backoffMaxMs ?? 300_000,
      maxExponent: 20,
    });
    this.problem = {
      message: redactUrl(errorMessage(err)),
      since: this.problem?.since ?? new Date().toISOString(),
      failures,
      retryInMs,
    };
    this.opts.log.error('sync failed; the loop stays on the revision it had and tries again', {
      error: this.problem.message,
      failures,
      retryInMs,
    });
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(retry, retryInMs);
    this.retryTimer.unref();
  }

  private recovered(): void {
    if (!this.problem) return;
    const p = this.problem;
    this.problem = undefined;
    clearTimeout(this.retryTimer);
    const message = `${p.failures} attempt(s) since ${p.since} failed (${p.message}); the state takes writes again`;
    this.opts.log.info('sync works again', { failures: p.failures });
    try {
      this.opts.core.recordLoopEvent('Warning', 'StateWriteFailed', message);
    } catch {
      // Nothing more to do: the next failure is reported the same way.
    }
  }

  /** One revision, start to finish of the accept step; reconciles continue on the queue. */
  async sync(): Promise<SyncOutcome> {
    const rev = await this.opts.source.current();
    if (this.snap && rev.id === this.snap.revision) return { outcome: 'unchanged', revision: rev.id };
    const { resources, findings } = await this.opts.loader.load(rev.files);
    // Shutting down: a revision read meanwhile is left for the next start.
    if (this.stopped) return { outcome: 'unchanged', revision: rev.id };
    const errors = findings.filter((f) => f.severity === 'error');
    if (rev.missingPath !== undefined) errors.unshift(missingPathFinding(rev.missingPath));
    if (errors.length > 0) return this.reject(rev.id, errors);
    const p = plan(resources, this.opts.core.appliedHashes(), (k) => this.opts.core.appliedResource(k));
    const held = this.pruneGuard(resources, p);
    if (held) return this.hold(rev.id, held, p);
    this.accept(rev.id, resources, p);
    return { outcome: this.ready() ? 'applied' : 'accepted', revision: rev.id, plan: p };
  }

  /**
   * Like Argo CD's allowEmpty: false, a revision that would prune every applied resource,
   * or more than maxShare of them, is held until someone allows it (`up --allow-prune`, or
   * a resource of the revision annotated caduceus.dev/allow-prune: "true"). Returns the
   * message saying what would go, or undefined when the revision may proceed.
   */
  private pruneGuard(resources: Resource[], p: Plan): string | undefined {
    const doomed = p.entries.filter((e) => e.action === 'delete').map((e) => e.key);
    if (doomed.length === 0 || this.opts.pruneGuard?.allow) return undefined;
    if (resources.some((r) => r.metadata.annotations?.[ALLOW_PRUNE_ANNOTATION] === 'true')) return undefined;
    const applied = this.opts.core.appliedHashes().size;
    const maxShare = this.opts.pruneGuard?.maxShare ?? 0.5;
    const everything = resources.length === 0;
    if (!everything && (doomed.length < 2 || doomed.length / Math.max(1, applied) <= maxShare)) return undefined;
    const names =
      doomed.length > 20 ? `${doomed.slice(0, 20).join(', ')} and ${doomed.length - 20} more` : doomed.join(', ');
    const why = everything
      ? 'it has no resources and would prune every one'
      : `it would prune ${doomed.length} of ${applied} resources, more than ${Math.round(maxShare * 100)}%`;
    return (
      `${why}: ${names}. Nothing of it is applied. If that is intended, start up with --allow-prune ` +
      `or annotate a resource of the revision ${ALLOW_PRUNE_ANNOTATION}: "true"`
    );
  }

  private hold(revision: string, message: string, p: Plan): SyncOutcome {
    const state = this.opts.core.sourceState();
    if (state.lastAttemptedRevision === revision && state.lastAttemptOutcome === 'held')
      return { outcome: 'held', revision, plan: p };
    const text = `revision ${short(revision)} held by the prune guard: ${message}`;
    this.opts.log.warn('revision held by the prune guard', { revision: short(revision), prune: p.summary.delete });
    this.opts.core.recordAttempt(revision, 'held', { message: text, summary: p.summary }, [
      { type: 'Warning', reason: 'PruneGuard', message: text, revision },
    ]);
    this.opts.metrics?.revisions.inc({ outcome: 'held' });
    return { outcome: 'held', revision, plan: p };
  }

  private reject(revision: string, errors: Finding[]): SyncOutcome {
    const state = this.opts.core.sourceState();
    if (state.lastAttemptedRevision === revision && state.lastAttemptOutcome === 'rejected') {
      return { outcome: 'rejected', revision, errors };
    }
    const first = errors[0] as Finding;
    const running = this.snap ? `revision ${short(this.snap.revision)} keeps running` : 'nothing applied yet';
    const message =
      `revision ${short(revision)} rejected with ${errors.length} error(s); ${running}. ` +
      `First: ${describeFinding(first)}`;
    this.opts.log.warn('revision rejected', {
      revision,
      errors: errors.length,
      first: describeFinding(first),
    });
    this.opts.core.recordAttempt(revision, 'rejected', { errors, message }, [
      { type: 'Warning', reason: 'RevisionRejected', message, revision },
    ]);
    this.opts.metrics?.revisions.inc({ outcome: 'rejected' });
    return { outcome: 'rejected', revision, errors };
  }

  private accept(revision: string, resources: Resource[], p: Plan): void {
    const map = new Map<ResourceKey, Resource>();
    for (const r of resources) map.set(keyOf(r), r);
    const summary = { ...p.summary, resources: resources.length };
    const { create, update, delete: prune } = p.summary;
    const message = `revision ${short(revision)}: ${create} to create, ${update} to update, ${prune} to prune`;
    // Recorded first: when the store refuses the write this throws before anything moved,
    // so no controller sees the new snapshot and the sync is retried as a whole.
    this.opts.core.recordAttempt(revision, 'accepted', { message, summary }, [
      { type: 'Normal', reason: 'RevisionAccepted', message, revision },
    ]);
    this.snap = { revision, resources: map };
    try {
      this.opts.onAccept?.(this.snap);
    } catch (err) {
      this.opts.log.warn('a snapshot watcher failed', { error: errorMessage(err) });
    }
    this.opts.metrics?.revisions.inc({ outcome: 'accepted' });
    this.opts.log.info('revision accepted', { revision: short(revision), ...p.summary });

    // After a restart every resource is reconciled: controllers hold in-memory state
    // (listeners, schedules) that a new process must rebuild.
    // Keys of the previous revision that have not settled yet are carried over: one may be
    // mid-reconcile with the older spec, which the new plan (made against the applied
    // table) cannot see, e.g. a change reverted before it was applied.
    const keys = this.firstSync
      ? [...new Set([...map.keys(), ...p.entries.filter((e) => e.action === 'delete').map((e) => e.key)])]
      : [...new Set([...p.entries.filter((e) => e.action !== 'unchanged').map((e) => e.key), ...this.pending])];
    this.firstSync = false;
    this.pending = new Set(keys);
    this.pendingRevision = revision;
    this.pendingSummary = summary;
    for (const k of keys) this.queue.add(k);
    this.maybeApplied();
  }

  private maybeApplied(): void {
    if (this.pending.size > 0 || !this.pendingRevision) return;
    const revision = this.pendingRevision;
    try {
      if (this.opts.core.sourceState().lastAppliedRevision !== revision) {
        const message = `revision ${short(revision)} applied`;
        this.opts.core.recordApplied(revision, this.pendingSummary, [
          { type: 'Normal', reason: 'RevisionApplied', message, revision },
        ]);
        this.opts.metrics?.revisions.inc({ outcome: 'applied' });
        this.opts.log.info('revision applied', { revision: short(revision) });
      }
    } catch (err) {
      // Not recorded, not applied: tried again with backoff (a new revision may replace it).
      this.failed(err, () => {
        this.maybeApplied();
        if (!this.pendingRevision) this.recovered();
      });
      return;
    }
    this.pendingRevision = undefined;
    this.appliedRevision = revision;
    const waiters = this.appliedWaiters.get(revision) ?? [];
    this.appliedWaiters.delete(revision);
    for (const w of waiters) w();
  }

  /** Resolves once `revision` is fully applied (or rejects after timeoutMs). */
  waitForRevision(revision: string, timeoutMs = 10_000): Promise<void> {
    if (this.appliedRevision === revision && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`revision ${revision} not applied within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.appliedWaiters.get(revision) ?? [];
      list.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.appliedWaiters.set(revision, list);
    });
  }

  /** Resolves when the work queue is empty (tests, one-shot applies). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Reconciles one key with its controller and writes the outcome in one transaction:
   * dispatch here, status and events in summarise(), retries and requeues on the queue.
   */
  private async reconcileKey(key: ResourceKey, release: () => void = () => undefined): Promise<void> {
    const snap = this.snapshot();
    const revision = snap.revision;
    const desired = snap.resources.get(key);
    // A terminal outcome holds until the spec changes: resyncs and stray requeues pass by.
    if (desired && this.stalled.get(key) === desired.hash) {
      this.settle(key, revision);
      return;
    }
    this.stalled.delete(key);
    const { kind } = splitKey(key);
    const controller = this.controllers.get(kind);
    const set: SummaryInput['set'] = { conditions: [], events: [] };
    const observed: Record<string, unknown> = {};
    const log = this.opts.log.child({ resource: key });
    const ctx: ReconcileContext = {
      key,
      revision,
      snapshot: snap,
      signal: this.abort.signal,
      log,
      setCondition: (type, status, reason, message) => {
        set.conditions = [...set.conditions.filter((c) => c.type !== type), { type, status, reason, message }];
      },
      setObserved: (fields) => Object.assign(observed, fields),
      event: (type, reason, message) => set.events.push({ type, reason, message }),
    };
    const previous = this.opts.core.lastStatus(key);
    const started = performance.now();
    let outcome: Outcome;
    let requeueAfter: number | undefined;
    try {
      const result = controller ? await controller.reconcile(ctx, desired, { status: previous }) : undefined;
      if (result?.terminal) outcome = { kind: 'terminal', terminal: result.terminal };
      else {
        outcome = { kind: 'done' };
        requeueAfter = result?.requeueAfter;
      }
    } catch (err) {
      this.observeDuration(kind, 'error', started);
      if (this.abort.signal.aborted) return;
      const message = errorMessage(err);
      const { failures, delayMs } = this.queue.backoff(key);
      log.warn('reconcile failed', { error: message, failures, retryInMs: delayMs });
      outcome = { kind: 'failed', message, failures, retryInMs: delayMs };
    }
    if (outcome.kind !== 'failed')
      this.observeDuration(kind, outcome.kind === 'done' ? 'success' : 'terminal', started);

    const summary = summarise({
      key,
      revision,
      desired,
      driven: controller !== undefined,
      outcome,
      set,
      previous,
      appliedHash: this.opts.core.appliedHashesFor(key),
    });
    // Only the write is left: another key may start meanwhile, and its outcome joins this
    // one's transaction (see CoreStore.writeStepSoon).
    release();
    try {
      await this.opts.core.writeStepSoon({ key, revision, observed, ...summary });
    } catch (err) {
      // The state is whole (one transaction); reconcile again once the store takes writes.
      const delayMs = outcome.kind === 'failed' ? outcome.retryInMs : this.queue.backoff(key).delayMs;
      log.error('could not record the reconcile outcome', { error: errorMessage(err), retryInMs: delayMs });
      return;
    }
    if (outcome.kind === 'failed') return;
    this.queue.forget(key);
    if (outcome.kind === 'terminal' && desired) {
      this.stalled.set(key, desired.hash);
      log.warn('stalled until the spec changes', {
        reason: outcome.terminal.reason,
        message: outcome.terminal.message,
      });
    } else if (requeueAfter !== undefined && desired) {
      this.queue.addAfter(key, requeueAfter);
    }
    this.settle(key, revision);
  }

  private observeDuration(kind: Kind, result: 'success' | 'terminal' | 'error', started: number): void {
    this.opts.metrics?.reconcileDuration.observe({ kind, result }, (performance.now() - started) / 1000);
    this.opts.metrics?.reconciles.inc({ kind, result });
  }

  private settle(key: ResourceKey, revision: string): void {
    if (this.pendingRevision === revision && this.pending.delete(key)) this.maybeApplied();
  }

  /** Stops the queue and every controller; in-flight reconciles are aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    this.queue.stop();
    this.abort.abort();
    // In-flight reconciles see the aborted signal; wait for them and a running sync
    // (bounded: a hung fetch must not hold the shutdown) so none writes to the state
    // store after it is closed.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.syncChain.catch(() => undefined), this.queue.idle()]),
      new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS))),
    ]);
    clearTimeout(timer);
    await Promise.allSettled([...this.controllers.values()].map((c) => c.stop?.()));
  }
}
