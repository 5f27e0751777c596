// The Task controller. A task without a schedule runs once per spec change (like a
// Kubernetes Job): reconcile starts a run in the background when the run history has none
// for the spec's hash, and reports its outcome on a requeue. A task with a schedule is
// registered on node-cron; its concurrencyPolicy decides what a firing does while a run
// is still going. Pruning a task stops its schedule and cancels its runs. The result of a
// run it starts goes to the Task's `delivery` channel, through the gateway's runner.deliver.

import type {
  Controller,
  ControllerDeps,
  Observed,
  ReconcileContext,
  ReconcileResult,
  Resource,
  TaskReport,
} from '../../reconciler/types.js';
import type { DeliverySpec } from '../../reconciler/specs.js';
import { keyOf, splitKey } from '../../reconciler/types.js';
import { ABANDONED, type RunRecord } from '../../reconciler/state/runs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { formatDuration } from '../../reconciler/duration.js';
import { Schedules } from './scheduler.js';
import { INTERRUPTED, type TaskService } from './task-service.js';
import type { AdmittedRun } from './task-runner.js';
import { deliveryText } from './delivery-text.js';

/** While a run is in flight, how often reconcile looks again to report its outcome. */
const RUNNING_POLL_MS = 1000;

export class TaskController implements Controller {
  readonly kind = 'Task' as const;
  private readonly schedules: Schedules;
  /** The latest applied spec of each scheduled task: what a firing runs. */
  private readonly scheduled = new Map<string, Resource<'Task'>>();
  private stopped = false;
  /** Posts of results still going; stop() aborts and awaits them before the store closes. */
  private readonly deliveries = new Set<Promise<void>>();
  private readonly deliveryAbort = new AbortController();

  constructor(
    private readonly deps: ControllerDeps,
    private readonly svc: TaskService,
  ) {
    this.schedules = new Schedules(deps.log.child({ component: 'schedules' }));
  }

  async reconcile(
    ctx: ReconcileContext,
    desired: Resource | undefined,
    _observed: Observed,
  ): Promise<ReconcileResult | undefined> {
    const { name } = splitKey(ctx.key);
    if (!desired) {
      this.prune(ctx, name);
      return undefined;
    }
    const task = desired as Resource<'Task'>;
    if (task.spec.schedule) return this.reconcileScheduled(ctx, task);
    if (this.schedules.remove(name)) {
      this.scheduled.delete(name);
      ctx.event('Normal', 'ScheduleRemoved', `task ${name} no longer has a schedule`);
    }
    return this.reconcileJob(ctx, task);
  }

  private prune(ctx: ReconcileContext, name: string): void {
    this.schedules.remove(name);
    this.scheduled.delete(name);
    const cancelled = this.svc.active.cancelTask(name, 'task removed from git');
    if (cancelled.length) ctx.log.info('cancelled runs of a pruned task', { runs: cancelled.map((r) => r.runId) });
  }

  /** Runs once per spec: start a run when the history has none for this hash, else report it. */
  private reconcileJob(ctx: ReconcileContext, task: Resource<'Task'>): ReconcileResult {
    const name = task.metadata.name;
    const inFlight = this.svc.active.forTask(name);
    // An older spec's run is outdated: the new spec replaces it.
    for (const r of inFlight)
      if (r.specHash !== task.hash && r.trigger === 'apply') r.cancel('superseded by a new spec of the task');
    const current = inFlight.find((r) => r.specHash === task.hash);
    ctx.setObserved({ schedule: null, nextRun: null });
    if (current) return this.reportRunning(ctx, current);

    const last = this.svc.runs.lastForSpec('task', name, task.hash);
    const interrupted = last?.status === 'cancelled' && (last.error === INTERRUPTED || last.error === ABANDONED);
    if (!last || interrupted) {
      if (ctx.signal.aborted || this.stopped) return {};
      let run: AdmittedRun;
      try {
        run = this.svc.start(task, ctx.snapshot, { trigger: { source: 'apply' } });
      } catch (err) {
        if (err instanceof CaduceusError && err.code === 'QueueFull') {
          ctx.setCondition('Ready', 'False', 'QueueFull', err.describe());
          return { requeueAfter: 5000 };
        }
        throw err;
      }
      this.announce(run, task, ctx.revision);
      ctx.event(
        'Normal',
        'TaskStarted',
        `run ${short(run.runId)} started for spec ${task.hash.slice(0, 12)}` +
          (interrupted ? ' (the previous run was interrupted)' : ''),
      );
      return this.reportRunning(ctx, run);
    }
    ctx.setObserved({ lastRun: summary(last) });
    if (last.status === 'running') {
      ctx.setCondition(
        'Ready',
        'True',
        'Running',
        `run ${short(last.id)} (${last.trigger}) is in progress in another process`,
      );
      return { requeueAfter: 5 * RUNNING_POLL_MS };
    }
    ctx.setCondition('Ready', 'True', last.status === 'succeeded' ? 'Completed' : 'Failed', describeRun(last));
    return {};
  }

  private reportRunning(ctx: ReconcileContext, run: AdmittedRun): ReconcileResult {
    ctx.setObserved({
      lastRun: {
        id: run.runId,
        status: 'running',
        trigger: run.trigger,
        startedAt: new Date(run.startedAt).toISOString(),
      },
    });
    ctx.setCondition(
      'Ready',
      'True',
      'Running',
      `run ${short(run.runId)} started ${formatDuration(Date.now() - run.startedAt)} ago is in progress`,
    );
    return { requeueAfter: RUNNING_POLL_MS };
  }

  /** Registers the schedule when it changed and reports the next and last run. */
  private reconcileScheduled(ctx: ReconcileContext, task: Resource<'Task'>): ReconcileResult {
    const name = task.metadata.name;
    const schedule = task.spec.schedule as NonNullable<typeof task.spec.schedule>;
    this.scheduled.set(name, task);
    try {
      if (this.schedules.ensure(name, schedule, (slot) => this.fire(name, slot))) {
        ctx.event(
          'Normal',
          'Scheduled',
          `task ${name} runs on "${schedule.cron}" (${schedule.timezone}), ` +
            `concurrencyPolicy ${schedule.concurrencyPolicy}`,
        );
      }
    } catch (err) {
      // The scheduler throws CaduceusError InvalidSchedule for what the spec says; only a new spec fixes it.
      if (!(err instanceof CaduceusError)) throw err;
      this.schedules.remove(name);
      this.scheduled.delete(name);
      ctx.setObserved({ schedule: null, nextRun: null });
      return { terminal: { reason: 'InvalidSchedule', message: err.describe() } };
    }
    const next = this.schedules.nextRun(name);
    const last = this.svc.runs.list({ kind: 'task', name, limit: 1 })[0];
    ctx.setObserved({
      schedule: { ...schedule },
      nextRun: next ? next.toISOString() : null,
      lastRun: last ? summary(last) : null,
    });
    const lastText = last ? `; last run ${describeRun(last)}` : '';
    ctx.setCondition(
      'Ready',
      'True',
      'Scheduled',
      `next run ${next ? next.toISOString() : 'unknown'} on "${schedule.cron}" (${schedule.timezone})${lastText}`,
    );
    // Refresh nextRun/lastRun in status after the next firing, without polling fast schedules hard.
    const msToNext = next ? next.getTime() - Date.now() : 600_000;
    return { requeueAfter: Math.min(600_000, Math.max(5000, msToNext + 500)) };
  }

  /**
   * One cron firing, decided by the task's concurrencyPolicy. The firing is claimed in the
   * state store first, so a slot runs once even when two replicas both saw it (a leader
   * lease that changed hands around it).
   */
  private fire(name: string, slot: number): void {
    const task = this.scheduled.get(name);
    if (!task?.spec.schedule || this.stopped) return;
    if (!this.svc.runs.claimFiring(name, slot)) {
      this.deps.log.info('scheduled firing already claimed', { task: name, slot: new Date(slot).toISOString() });
      return;
    }
    const policy = task.spec.schedule.concurrencyPolicy;
    const running = this.svc.active.forTask(name);
    const object = keyOf(task);
    if (running.length > 0 && policy === 'Forbid') {
      const ids = running.map((r) => short(r.runId)).join(', ');
      const message = `skipped: run ${ids} still in progress (concurrencyPolicy Forbid)`;
      const id = this.svc.runs.start({ kind: 'task', name, specHash: task.hash, trigger: 'schedule' });
      this.svc.runs.finish(id, { status: 'skipped', durationMs: 0, attempts: 0, error: message });
      this.deps.events.record(object, 'Normal', 'RunSkipped', `scheduled run of ${name} ${message}`);
      return;
    }
    if (running.length > 0 && policy === 'Replace') {
      for (const r of running) r.cancel('replaced by a newer scheduled run (concurrencyPolicy Replace)');
      this.deps.events.record(
        object,
        'Normal',
        'RunReplaced',
        `run ${running.map((r) => short(r.runId)).join(', ')} of ${name} cancelled for a newer scheduled run`,
      );
    }
    try {
      this.announce(this.svc.start(task, this.deps.snapshot(), { trigger: { source: 'schedule' } }), task);
    } catch (err) {
      this.deps.log.warn('scheduled run rejected', { task: name, error: errorMessage(err) });
      this.deps.events.record(
        object,
        'Warning',
        'RunRejected',
        `scheduled run of ${name} rejected: ${errorMessage(err)}`,
      );
    }
  }

  /** Records an event when a run this controller started finishes, and posts its result where the Task says. */
  private announce(run: AdmittedRun, task: Resource<'Task'>, revision?: string): void {
    const object = `Task/${run.task}`;
    run.done.then(
      (report) => {
        if (this.stopped && report.status === 'cancelled') return;
        if (task.spec.delivery) {
          const posting = this.deliver(object, task.spec.delivery, report, revision);
          this.deliveries.add(posting);
          void posting.finally(() => this.deliveries.delete(posting));
        }
        const failed = report.subtasks.filter((s) => s.status !== 'succeeded').map((s) => `${s.name} ${s.status}`);
        this.deps.events.record(
          object,
          report.status === 'succeeded' ? 'Normal' : 'Warning',
          report.status === 'succeeded'
            ? 'TaskSucceeded'
            : report.status === 'cancelled'
              ? 'TaskCancelled'
              : 'TaskFailed',
          `run ${short(run.runId)} (${run.trigger}) ${report.status} in ${formatDuration(report.durationMs)}` +
            (failed.length ? `: ${failed.join(', ')}` : ''),
          revision,
        );
      },
      (err: unknown) =>
        this.deps.log.error('task run crashed', { task: run.task, run: run.runId, error: errorMessage(err) }),
    );
  }

  /** Posts a finished run's result to the Task's delivery channel through the gateway (runner.deliver). */
  private async deliver(
    object: string,
    target: DeliverySpec,
    report: TaskReport,
    revision: string | undefined,
  ): Promise<void> {
    const where = `${target.platform} channel ${target.channel}`;
    try {
      const deliver = this.deps.runner.deliver;
      if (!deliver) throw new CaduceusError('RunnerUnavailable', 'no controller provides deliver');
      await deliver.call(this.deps.runner, target, deliveryText(report), {
        trigger: { source: `task:${report.task}` },
        signal: this.deliveryAbort.signal,
      });
      if (this.deliveryAbort.signal.aborted) return;
      this.deps.events.record(
        object,
        'Normal',
        'ResultDelivered',
        `run ${short(report.runId)} (${report.status}) posted to ${where}`,
        revision,
      );
    } catch (err) {
      if (this.deliveryAbort.signal.aborted) return;
      this.deps.log.warn('task result not delivered', {
        task: report.task,
        run: report.runId,
        error: errorMessage(err),
      });
      this.deps.events.record(
        object,
        'Warning',
        'DeliveryFailed',
        `run ${short(report.runId)}: could not post to ${where}: ${errorMessage(err)}`,
        revision,
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.schedules.stopAll();
    this.scheduled.clear();
    await this.svc.stop();
    // Runs that finished while stopping may have started a post: it ends now, unrecorded.
    this.deliveryAbort.abort();
    await Promise.allSettled([...this.deliveries]);
  }
}

function short(id: string): string {
  return id.slice(0, 8);
}

function summary(r: RunRecord): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    trigger: r.trigger,
    startedAt: new Date(r.startedAt).toISOString(),
    durationMs: r.durationMs,
    attempts: r.attempts,
    error: r.error || undefined,
  };
}

function describeRun(r: RunRecord): string {
  const took = r.durationMs !== null ? ` in ${formatDuration(r.durationMs)}` : '';
  return `run ${short(r.id)} (${r.trigger}) ${r.status}${took}${r.error ? `: ${r.error}` : ''}`;
}
