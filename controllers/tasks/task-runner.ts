// One task run, start to finish: admit it against the queue limit (or reject it whole),
// record it in the run history, fan its subtasks out through a bounded pool (skill
// subtasks through runner.runSkill, shell subtasks through runner.exec, prompt subtasks
// through runner.runAgent), retry failures with backoff, enforce per-subtask and
// whole-task timeouts, and aggregate a TaskReport.

import type {
  Logger,
  Resource,
  RunOptions,
  RunProgress,
  Runner,
  Snapshot,
  SubtaskReport,
  TaskReport,
} from '../../reconciler/types.js';
import type { Subtask } from '../../reconciler/specs.js';
import type { SubtaskAgentReport } from '../../reconciler/types.js';
import { limitsFromSpec, type AgentEvent, type AgentResult } from '../../reconciler/agent-contract.js';
import type { RunStore, RunStatus } from '../../reconciler/state/runs.js';
import { parseDuration, formatDuration, timerDelay } from '../../reconciler/duration.js';
import { paramEnv } from '../../reconciler/env-names.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import type { ErrorCode } from '../../reconciler/error-codes.js';
import { runPool, type WaitingQueue } from './bounded-pool.js';
import { backoffDelay, sleep } from './retry.js';
import { runtimeOf, taskSettings, type TaskSettings } from './settings.js';

export interface TaskRunDeps {
  runner: Runner;
  runs: RunStore;
  queue: WaitingQueue;
  log: Logger;
}

/** A task run that has been admitted and recorded; `done` settles with its report. */
export interface AdmittedRun {
  runId: string;
  task: string;
  specHash: string;
  trigger: string;
  startedAt: number;
  /** Cancels the run: subtasks in flight are aborted, queued ones never start. */
  cancel(reason: string): void;
  done: Promise<TaskReport>;
}

/** Why a run stopped early; carried as the abort reason of the run's signal. */
class Stop {
  constructor(
    readonly kind: 'cancelled' | 'timedOut',
    readonly message: string,
  ) {}
}

type Outcome = SubtaskReport['status'];

interface AttemptResult {
  status: Outcome;
  output: string;
  error?: string;
  /** Another attempt cannot help (an unknown skill, a bad param, a missing image). */
  permanent?: boolean;
  agent?: SubtaskAgentReport;
}

/** Errors the runner throws before anything runs, which no retry can fix. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UnknownSkill',
  'MissingParam',
  'UnknownParam',
  'InvalidParam',
  'ImageNotFound',
  // The agent fails closed: no upstream, no model, an unset key, a tool that does not exist.
  'LlmNotConfigured',
  'SecretUnset',
  'UnknownAgentTool',
  'RunnerUnavailable',
]);

/**
 * Admits and starts a run of `task`. Throws QueueFull (synchronously, nothing recorded)
 * when its waiting subtasks would exceed the Runtime's queue limit.
 */
export function admitTask(
  deps: TaskRunDeps,
  task: Resource<'Task'>,
  snapshot: Snapshot,
  opts: RunOptions,
): AdmittedRun {
  const name = task.metadata.name;
  const settings = taskSettings(task.spec, runtimeOf(snapshot)?.spec);
  const subtasks = task.spec.subtasks;
  const reservation = deps.queue.reserve(
    Math.max(0, subtasks.length - settings.concurrency),
    settings.queueLimit,
    `task "${name}"`,
  );
  const startedAt = Date.now();
  let runId: string;
  try {
    runId = deps.runs.start({
      kind: 'task',
      name,
      specHash: task.hash,
      trigger: opts.trigger.source,
      startedAt,
      actor: opts.trigger.actor || undefined,
    });
  } catch (err) {
    reservation.releaseAll();
    throw err;
  }

  const abort = new AbortController();
  const cancel = (reason: string): void => {
    if (!abort.signal.aborted) abort.abort(new Stop('cancelled', reason));
  };
  const onOuterAbort = (): void => cancel('cancelled by the caller');
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => {
    if (!abort.signal.aborted)
      abort.abort(new Stop('timedOut', `task timed out after ${formatDuration(settings.timeoutMs)}`));
  }, timerDelay(settings.timeoutMs));

  const run = new TaskRun(deps, task, settings, runId, abort.signal, opts);
  for (const st of subtasks) run.progress({ subtask: st.name, state: 'queued' });
  const done = runPool(
    subtasks,
    settings.concurrency,
    (st) => run.subtask(st),
    (i) => {
      // The first `concurrency` subtasks never waited; each later one leaves the queue now.
      if (i >= settings.concurrency) reservation.release(1);
    },
  )
    .then((reports) => run.finish(reports, startedAt))
    .finally(() => {
      clearTimeout(timer);
      reservation.releaseAll();
      opts.signal?.removeEventListener('abort', onOuterAbort);
    });
  return { runId, task: name, specHash: task.hash, trigger: opts.trigger.source, startedAt, cancel, done };
}

class TaskRun {
  private readonly log: Logger;

  constructor(
    private readonly deps: TaskRunDeps,
    private readonly task: Resource<'Task'>,
    private readonly settings: TaskSettings,
    private readonly runId: string,
    private readonly signal: AbortSignal,
    private readonly opts: RunOptions,
  ) {
    this.log = deps.log.child({ task: task.metadata.name, run: runId });
  }

  progress(p: RunProgress): void {
    try {
      this.opts.onProgress?.(p);
    } catch (err) {
      // A broken progress display must not break the run.
      this.log.debug('progress callback failed', { error: errorMessage(err) });
    }
  }

  private stopReason(): Stop | undefined {
    const r: unknown = this.signal.reason;
    return this.signal.aborted ? (r instanceof Stop ? r : new Stop('cancelled', 'cancelled')) : undefined;
  }

  /** One subtask with its retries; never throws. */
  async subtask(st: Subtask): Promise<SubtaskReport> {
    const started = performance.now();
    let agent: SubtaskAgentReport | undefined;
    const report = (status: Outcome, attempts: number, output: string, error?: string): SubtaskReport => {
      this.progress({ subtask: st.name, state: status, attempt: attempts, message: error });
      return {
        name: st.name,
        status,
        attempts,
        durationMs: Math.round(performance.now() - started),
        output,
        error,
        agent,
      };
    };
    const early = this.stopReason();
    if (early)
      return report(early.kind === 'timedOut' ? 'timedOut' : 'cancelled', 0, '', `not started: ${early.message}`);
    if (st.skill === undefined && st.run === undefined && st.prompt === undefined)
      return report('failed', 1, '', 'InvalidSubtask: a subtask needs one of skill, run or prompt');

    const retry = this.settings.retry;
    let attempts = 0;
    let last: AttemptResult;
    for (;;) {
      attempts++;
      this.progress({ subtask: st.name, state: 'running', attempt: attempts });
      last = await this.attempt(st, attempts);
      if (last.agent) agent = last.agent;
      if (
        last.status === 'succeeded' ||
        last.status === 'cancelled' ||
        last.permanent ||
        this.signal.aborted ||
        attempts >= retry.maxAttempts
      )
        break;
      const delay = backoffDelay(retry, attempts);
      this.progress({
        subtask: st.name,
        state: 'retrying',
        attempt: attempts,
        message:
          `attempt ${attempts} ${last.status}${last.error ? `: ${last.error}` : ''}; ` +
          `retrying in ${formatDuration(delay)}`,
      });
      if (!(await sleep(delay, this.signal))) break;
    }
    const stop = this.stopReason();
    if (stop && last.status !== 'succeeded') return report(stop.kind, attempts, last.output, stop.message);
    return report(last.status, attempts, last.output, last.error);
  }

  /** One attempt in its own workspace or container, bounded by the subtask's timeout. */
  private async attempt(st: Subtask, attempt: number): Promise<AttemptResult> {
    const timeoutMs = st.timeout ? parseDuration(st.timeout) : undefined;
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    this.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    // Exec enforces its own timeout (and reports timedOut); this timer is the bound for
    // skills, and a fallback for exec should a backend overrun.
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              timedOut = true;
              ac.abort();
            },
            timerDelay(st.run === undefined ? timeoutMs : timeoutMs + 2000),
          );
    const trigger = {
      source: `task:${this.task.metadata.name}`,
      actor: this.opts.trigger.actor || undefined,
    };
    try {
      if (st.prompt !== undefined) {
        const r = await this.prompt(st, attempt, trigger, ac.signal);
        const summary = agentSummary(r);
        if (timedOut && r.status === 'cancelled')
          return {
            status: 'timedOut',
            output: r.answer,
            error: `timed out after ${formatDuration(timeoutMs ?? 0)}`,
            agent: summary,
          };
        return {
          status: r.status,
          output: r.answer,
          error: r.error,
          agent: summary,
        };
      }
      if (st.skill !== undefined) {
        const r = await this.deps.runner.runSkill(st.skill, st.params ?? {}, {
          trigger,
          signal: ac.signal,
          parentRunId: this.runId,
          // The task's isolation reaches every shell step of the skill (see RunOptions.isolation).
          isolation: this.task.spec.isolation,
          onProgress: this.opts.onProgress
            ? (p: RunProgress) => {
                if (p.state === 'running' || p.state === 'failed')
                  this.progress({
                    subtask: st.name,
                    state: 'running',
                    attempt,
                    message: `${p.subtask ?? 'step'} ${p.state}${p.message ? `: ${p.message}` : ''}`,
                  });
              }
            : undefined,
        });
        if (timedOut && r.status === 'cancelled')
          return { status: 'timedOut', output: r.output, error: `timed out after ${formatDuration(timeoutMs ?? 0)}` };
        return { status: r.status, output: r.output, error: r.error };
      }
      const r = await this.deps.runner.exec(
        {
          command: st.run as string,
          ...(st.shell !== undefined ? { shell: st.shell } : {}),
          env: this.env(st, attempt),
          timeoutMs,
          isolation: this.task.spec.isolation,
        },
        {
          trigger,
          signal: ac.signal,
          // The latest output line is the subtask's live progress message (only split
          // into lines when someone is watching).
          onProgress: this.opts.onProgress
            ? (p: RunProgress) =>
                p.message && this.progress({ subtask: st.name, state: 'running', attempt, message: p.message })
            : undefined,
        },
      );
      const status = timedOut && r.status === 'cancelled' ? 'timedOut' : r.status;
      const error =
        status === 'succeeded'
          ? undefined
          : status === 'timedOut'
            ? `timed out after ${formatDuration(timeoutMs ?? r.durationMs)}`
            : status === 'cancelled'
              ? 'cancelled'
              : `exit code ${r.exitCode ?? 'unknown'}${lastLine(r.output) ? `: ${lastLine(r.output)}` : ''}`;
      return { status, output: r.output, error };
    } catch (err) {
      const permanent = err instanceof CaduceusError && PERMANENT.has(err.code);
      return {
        status: timedOut ? 'timedOut' : ac.signal.aborted ? 'cancelled' : 'failed',
        output: '',
        error: errorMessage(err),
        permanent,
      };
    } finally {
      if (timer) clearTimeout(timer);
      this.signal.removeEventListener('abort', onStop);
    }
  }

  /** A prompt subtask's attempt: one agent run in its own workspace, with the task's isolation and its own tools. */
  private prompt(
    st: Subtask,
    attempt: number,
    trigger: RunOptions['trigger'],
    signal: AbortSignal,
  ): Promise<AgentResult> {
    const runAgent = this.deps.runner.runAgent;
    if (!runAgent)
      throw new CaduceusError('RunnerUnavailable', 'prompt subtasks need the agent, which is not registered');
    const onProgress = this.opts.onProgress;
    return runAgent({
      prompt: st.prompt as string,
      tools: st.agent?.tools,
      limits: st.agent?.limits ? limitsFromSpec(st.agent.limits) : undefined,
      isolation: this.task.spec.isolation,
      trigger,
      signal,
      parentRunId: this.runId,
      name: `${this.task.metadata.name}/${st.name}`,
      ...(onProgress
        ? {
            onProgress: (e: AgentEvent) => {
              const message = agentProgressMessage(e);
              if (message) this.progress({ subtask: st.name, state: 'running', attempt, message });
            },
          }
        : {}),
    });
  }

  private env(st: Subtask, attempt: number): Record<string, string> {
    const env: Record<string, string> = {
      CADUCEUS_TASK: this.task.metadata.name,
      CADUCEUS_SUBTASK: st.name,
      CADUCEUS_ATTEMPT: String(attempt),
      CADUCEUS_RUN_ID: this.runId,
    };
    return { ...env, ...paramEnv(st.params ?? {}) };
  }

  /** Aggregates the subtask reports and records the outcome in the run history. */
  finish(subtasks: SubtaskReport[], startedAt: number): TaskReport {
    const stop = this.stopReason();
    const failed = subtasks.filter((s) => s.status !== 'succeeded');
    let status: TaskReport['status'] = failed.length === 0 ? 'succeeded' : 'failed';
    let runStatus: Exclude<RunStatus, 'running'> = status;
    let error = failed.length
      ? `${failed.length} of ${subtasks.length} subtask(s) did not succeed: ` +
        failed.map((s) => `${s.name} (${s.status})`).join(', ')
      : undefined;
    if (stop && failed.length > 0) {
      status = stop.kind === 'cancelled' ? 'cancelled' : 'failed';
      runStatus = stop.kind;
      error = stop.message;
    }
    const durationMs = Date.now() - startedAt;
    const report: TaskReport = { runId: this.runId, task: this.task.metadata.name, status, durationMs, subtasks };
    const attempts = subtasks.reduce((n, s) => n + s.attempts, 0);
    this.deps.runs.finish(this.runId, { status: runStatus, durationMs, attempts, report, error: error || undefined });
    this.log.info('task run finished', { status: runStatus, durationMs, attempts });
    return report;
  }
}

function lastLine(output: string): string {
  const lines = output.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

/** What a subtask report keeps of an agent run: the answer is its output, this the rest. */
function agentSummary(r: AgentResult): SubtaskAgentReport {
  return {
    runId: r.runId,
    stopReason: r.stopReason,
    answer: r.answer,
    toolCalls: r.toolCalls.map((c) => ({
      tool: c.tool,
      status: c.status,
      durationMs: Math.round(c.durationMs),
      exitCode: c.exitCode,
    })),
    usage: r.usage,
  };
}

/** One progress line per tool call start and end (children's marked), none for the rest. */
function agentProgressMessage(e: AgentEvent): string | undefined {
  const who = e.depth > 0 ? 'child ' : '';
  if (e.type === 'toolStart') return `${who}${e.tool} started`;
  if (e.type === 'toolEnd') return `${who}${e.tool} ${e.status}`;
  return undefined;
}
