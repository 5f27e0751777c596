// runSkill: resolves a skill by name or alias, validates its params, runs its steps in
// order in one workspace (local or Docker per its isolation), passes step outputs on,
// enforces per-step and whole-skill timeouts and a call-depth limit, and records every
// run (nested calls too, with their parent) in the run history. The caller's isolation
// (a Task's, in RunOptions) reaches every nested call, since they share the options.

import type { Logger, ParamValue, RunOptions, SkillRunResult, Snapshot, StepResult } from '../../reconciler/types.js';
import type { SkillStep } from '../../reconciler/specs.js';
import type { RunStore } from '../../reconciler/state/runs.js';
import type { RunUsageStore } from '../../reconciler/state/run-usage.js';
import { RunMeter } from './run-meter.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { parseDuration, timerDelay } from '../../reconciler/duration.js';
import { redact } from '../../reconciler/secrets.js';
import { findSkill } from '../../reconciler/skill-names.js';
import type { Backend } from './backend.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import { skillIsolation, type EffectiveIsolation } from './runtime-config.js';
import { paramEnv, stepEnvName } from '../../reconciler/env-names.js';
import { validateParams } from '../../reconciler/skill-params.js';
import { interpolate, type Scope } from './interpolate.js';
import { runFileStep } from './file-step.js';
import { createWorkspace, removeWorkspace, shareWorkspaceWith } from '../../reconciler/workspace.js';

export const MAX_SKILL_DEPTH = 8;
/** Step outputs handed to later steps as env vars are cut to their last 64 KiB (env limits). */
const STEP_ENV_LIMIT = 64 * 1024;
/** Output kept per step in the structured result and the run history. */
const STEP_TAIL_LIMIT = 64 * 1024;
const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

export interface SkillEngineDeps {
  snapshot: () => Snapshot;
  runs: RunStore;
  /** Where CPU and memory of runs are kept (for `caduceus top` and `runs`). */
  usage?: RunUsageStore;
  stateDir: string;
  backends: { local: Backend; docker: Backend; swarm: Backend };
  log: Logger;
  maxDepth?: number;
}

/** What a nested call inherits from its caller. */
interface CallFrame {
  depth: number;
  workspace: string;
  parentId: string;
  deadline: number;
}

/** One skill run as its steps see it. */
interface SkillRunContext {
  runId: string;
  skill: string;
  values: Record<string, ParamValue>;
  iso: EffectiveIsolation;
  workspace: string;
  /** Epoch ms by which the whole skill (and its caller's budget) must end. */
  deadline: number;
  depth: number;
  opts: RunOptions;
  outputLimitBytes: number;
  meter: RunMeter;
}

export class SkillEngine {
  constructor(private readonly deps: SkillEngineDeps) {}

  /** Throws CaduceusError for an unknown skill or bad params (nothing is recorded then). */
  run(nameOrAlias: string, params: Record<string, ParamValue>, opts: RunOptions): Promise<SkillRunResult> {
    return this.call(nameOrAlias, params, opts, undefined);
  }

  private async call(
    nameOrAlias: string,
    given: Record<string, ParamValue>,
    opts: RunOptions,
    frame: CallFrame | undefined,
  ): Promise<SkillRunResult> {
    const snap = this.deps.snapshot();
    const skill = findSkill(snap, nameOrAlias);
    if (!skill) {
      throw new CaduceusError(
        'UnknownSkill',
        `no skill named "${nameOrAlias}" in revision ${snap.revision || '(none applied)'}`,
        {
          field: 'skill',
          hint: 'caduceus status lists the applied skills',
        },
      );
    }
    const depth = (frame?.depth ?? 0) + 1;
    const maxDepth = this.deps.maxDepth ?? MAX_SKILL_DEPTH;
    if (depth > maxDepth) {
      throw new CaduceusError(
        'SkillDepthExceeded',
        `skill calls nest deeper than ${maxDepth} (at ${skill.metadata.name})`,
        {
          hint: 'a skill probably calls itself through its steps',
        },
      );
    }
    const name = skill.metadata.name;
    const spec = skill.spec;
    const values = validateParams(name, spec.params ?? [], given);
    const runtime = effectiveRuntime(snap);
    const iso = skillIsolation(runtime, spec.isolation, opts.isolation);
    const started = Date.now();
    const t0 = performance.now();
    const runId = this.deps.runs.start({
      kind: 'skill',
      name,
      version: spec.version,
      specHash: skill.hash,
      trigger: opts.trigger.source,
      actor: opts.trigger.actor,
      parentId: frame ? frame.parentId : opts.parentRunId,
      startedAt: started,
    });
    // A nested call shares its caller's workspace; a caller's own (the agent's) stays theirs.
    const workspace = frame?.workspace ?? opts.workspace ?? createWorkspace(this.deps.stateDir, runId);
    const deadline = Math.min(frame?.deadline ?? Infinity, started + parseDuration(spec.timeout ?? '10m'));
    const log = this.deps.log.child({ skill: name, runId });
    let result: SkillRunResult | undefined;
    const meter = new RunMeter(runId, this.deps.usage);
    try {
      if (iso.mode !== 'local') shareWorkspaceWith(workspace, iso.user);
      const steps = await this.runSteps(spec.steps, {
        runId,
        skill: name,
        values,
        iso,
        workspace,
        deadline,
        depth,
        opts,
        outputLimitBytes: runtime.execution.outputLimitBytes,
        meter,
      });
      result = { runId, skill: name, version: spec.version, ...steps, durationMs: performance.now() - t0 };
      return result;
    } catch (err) {
      // Infrastructure failures (Docker gone, image missing) end the run as failed.
      result = {
        runId,
        skill: name,
        version: spec.version,
        status: 'failed',
        durationMs: performance.now() - t0,
        steps: [],
        output: '',
        error: redact(errorMessage(err)),
      };
      return result;
    } finally {
      const r = result as SkillRunResult;
      meter.finish();
      this.deps.runs.finish(runId, {
        status: r.status,
        durationMs: r.durationMs,
        error: r.error,
        report: { steps: r.steps, output: r.output.slice(-STEP_TAIL_LIMIT) },
      });
      if (!frame && !opts.workspace) {
        if (r.status === 'succeeded') removeWorkspace(workspace);
        else log.info('kept the workspace of a run that did not succeed', { workspace, status: r.status });
      }
    }
  }

  private async runSteps(
    steps: readonly SkillStep[],
    run: SkillRunContext,
  ): Promise<Pick<SkillRunResult, 'status' | 'steps' | 'output' | 'error'>> {
    const results: StepResult[] = [];
    const scope: Scope = { params: run.values, steps: {} };
    let status: SkillRunResult['status'] = 'succeeded';
    let error: string | undefined;
    let output = '';
    for (const [index, step] of steps.entries()) {
      const kind = stepKind(step);
      const base = { index, kind, id: step.id };
      if (status !== 'succeeded') {
        results.push({ ...base, status: 'skipped', durationMs: 0, outputTail: '' });
        continue;
      }
      const remaining = run.deadline - Date.now();
      if (run.opts.signal?.aborted || remaining <= 0) {
        status = run.opts.signal?.aborted ? 'cancelled' : 'timedOut';
        error = status === 'cancelled' ? 'cancelled' : `skill ${run.skill} timed out`;
        results.push({ ...base, status: 'skipped', durationMs: 0, outputTail: '' });
        continue;
      }
      const stepTimeout = step.timeout !== undefined ? Math.min(parseDuration(step.timeout), remaining) : remaining;
      run.opts.onProgress?.({
        state: 'running',
        message: `step ${index + 1}/${steps.length} ${step.name ?? step.id ?? kind}`,
      });
      const r = await this.runStep(step, kind, scope, run, stepTimeout);
      // Outputs may echo a secret resolved elsewhere in the process: redact like logs.
      r.outputTail = redact(r.outputTail);
      const res: StepResult = { ...base, ...r, outputTail: r.outputTail.slice(-STEP_TAIL_LIMIT) };
      results.push(res);
      if (res.status === 'succeeded' || step.continueOnError) {
        if (step.id !== undefined) scope.steps[step.id] = trimBlankEdges(r.outputTail).slice(-STEP_ENV_LIMIT);
        output = r.outputTail;
        continue;
      }
      status = res.status === 'timedOut' ? 'timedOut' : res.status === 'cancelled' ? 'cancelled' : 'failed';
      const how = res.status === 'timedOut' ? 'timed out' : res.status;
      error = `step ${index + 1} (${step.name ?? step.id ?? kind}) ${how}${res.error ? `: ${res.error}` : ''}`;
      output = r.outputTail;
    }
    return { status, steps: results, output, error: error !== undefined ? redact(error) : undefined };
  }

  private async runStep(
    step: SkillStep,
    kind: StepResult['kind'],
    scope: Scope,
    run: SkillRunContext,
    timeoutMs: number,
  ): Promise<Omit<StepResult, 'index' | 'kind' | 'id'>> {
    const t0 = performance.now();
    const elapsed = (): number => performance.now() - t0;
    try {
      if (kind === 'run') {
        const env: Record<string, string> = {
          ...paramEnv(scope.params),
          CADUCEUS_RUN_ID: run.runId,
          CADUCEUS_SKILL: run.skill,
        };
        for (const [id, out] of Object.entries(scope.steps)) env[stepEnvName(id)] = out;
        const backend = this.deps.backends[run.iso.mode];
        const onProgress = run.opts.onProgress;
        const res = await backend.run(
          {
            runId: run.runId,
            command: step.run as string,
            env,
            workspace: run.workspace,
            timeoutMs,
            signal: run.opts.signal,
            outputLimitBytes: run.outputLimitBytes,
            onLine: onProgress ? (line: string) => onProgress({ state: 'running', message: redact(line) }) : undefined,
            onUsage: (u) => run.meter.sample(u),
          },
          run.iso,
        );
        run.meter.stepDone(res.usage);
        return {
          status: res.status,
          exitCode: res.exitCode ?? undefined,
          durationMs: res.durationMs,
          outputTail: res.output,
          error:
            res.status === 'timedOut'
              ? `timed out after ${Math.round(timeoutMs)}ms`
              : res.status === 'failed'
                ? `exit code ${res.exitCode}`
                : undefined,
        };
      }
      if (kind === 'http' && step.http) {
        const timeout = AbortSignal.timeout(
          timerDelay(Math.min(timeoutMs, step.timeout !== undefined ? timeoutMs : DEFAULT_HTTP_TIMEOUT_MS)),
        );
        const signal = run.opts.signal ? AbortSignal.any([timeout, run.opts.signal]) : timeout;
        try {
          // undici is loaded with the first http step, not at start-up.
          const { runHttpStep } = await import('./http-step.js');
          const r = await runHttpStep(step.http, scope, signal, run.outputLimitBytes);
          return {
            status: r.ok ? 'succeeded' : 'failed',
            durationMs: elapsed(),
            outputTail: r.body,
            error: r.error || undefined,
          };
        } catch (err) {
          if (run.opts.signal?.aborted)
            return { status: 'cancelled', durationMs: elapsed(), outputTail: '', error: 'cancelled' };
          if (timeout.aborted)
            return { status: 'timedOut', durationMs: elapsed(), outputTail: '', error: 'HTTP request timed out' };
          throw err;
        }
      }
      if (kind === 'file' && step.file) {
        const out = runFileStep(step.file, scope, run.workspace, run.outputLimitBytes, run.iso.mode !== 'local');
        return { status: 'succeeded', durationMs: elapsed(), outputTail: out };
      }
      const call = step.skill;
      // The schema gives every step exactly one of run, http, file and skill.
      if (!call) throw new Error(`step ${step.name ?? step.id ?? ''} has no run, http, file or skill`);
      const params: Record<string, ParamValue> = {};
      for (const [k, v] of Object.entries(call.params ?? {}))
        params[k] = typeof v === 'string' ? interpolate(v, scope, (s) => s, `skill.params.${k}`) : v;
      const nested = await this.call(call.name, params, run.opts, {
        depth: run.depth,
        workspace: run.workspace,
        parentId: run.runId,
        deadline: Math.min(run.deadline, Date.now() + timeoutMs),
      });
      return {
        status:
          nested.status === 'succeeded'
            ? 'succeeded'
            : nested.status === 'timedOut'
              ? 'timedOut'
              : nested.status === 'cancelled'
                ? 'cancelled'
                : 'failed',
        durationMs: elapsed(),
        outputTail: nested.output,
        error: nested.error ? `${call.name}: ${nested.error}` : undefined,
      };
    } catch (err) {
      return { status: 'failed', durationMs: elapsed(), outputTail: '', error: redact(errorMessage(err)) };
    }
  }
}

function stepKind(step: SkillStep): StepResult['kind'] {
  if (step.run !== undefined) return 'run';
  if (step.http !== undefined) return 'http';
  if (step.file !== undefined) return 'file';
  return 'skill';
}

/** Drops leading blank lines and trailing white space, but keeps the first line's indentation (aligned columns). */
function trimBlankEdges(text: string): string {
  return text.replace(/^\s*\n/, '').trimEnd();
}
