// The agent loop, one run start to finish: settings from the Runtime (fail closed), the
// allowed tools, the conversation with the project context; then model turns through the
// openai SDK, every tool call of a turn run in parallel within the concurrency limit,
// results redacted and cut before the model sees them; stop at a final answer or a
// limit; store the trace, finish the run-history row, remove the workspace on success.

import type { Logger, Runner, Snapshot } from '../../reconciler/types.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import type {
  AgentEvent,
  AgentMessage,
  AgentRequest,
  AgentResult,
  AgentStopReason,
  AgentToolCall,
  AgentTurn,
  AgentUsage,
} from '../../reconciler/agent-contract.js';
import type { RunStore } from '../../reconciler/state/runs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { formatDuration, timerDelay } from '../../reconciler/duration.js';
import { redact } from '../../reconciler/secrets.js';
import { createWorkspace, removeWorkspaceAsync } from '../../reconciler/workspace.js';
import { runSettings, type RunSettings } from './settings.js';
import { loadProjectContext } from './context.js';
import { learnSecrets } from './known-secrets.js';
import { callModel, upstreamErrorMessage } from './model-client.js';
import { builtinArgumentProblem, resolveToolset, type Toolset } from './tools/toolset.js';
import { failed, type ChildRequest, type ToolOutcome, type ToolRun } from './tools/types.js';
import { semaphore } from './semaphore.js';
import { RunSlots } from './run-slots.js';
import { cutMiddle } from './output-cut.js';
import type { TraceStore } from './trace-store.js';
import type { AgentMetrics } from './metrics.js';

export interface AgentLoopDeps {
  snapshot: () => Snapshot;
  runner: Runner;
  runs: RunStore;
  traces: TraceStore;
  metrics: AgentMetrics;
  stateDir: string;
  configDir?: string;
  log: Logger;
  /**
   * Every finished run (children of delegate too, at depth 1), after its trace is stored:
   * the follow-ups (memory and skill proposals) start here.
   */
  onFinished?: (result: AgentResult, req: AgentRequest, depth: number) => void;
}

const SYSTEM_PROMPT = [
  'You are the agent of Caduceus, working for a platform team.',
  'You act only through the tools you are given.',
  'Your workspace is a private directory that the file tools and shell commands share.',
  'Call several tools in one turn when the calls do not depend on each other.',
  'When the work is done, reply with the final answer and call no tool.',
].join(' ');

/** Answers kept in the run-history row (the trace keeps the whole answer). */
const REPORT_ANSWER_LIMIT = 64 * 1024;

interface Outcome {
  status: AgentResult['status'];
  stopReason: AgentStopReason;
  answer: string;
  error?: string;
}

/** The state of one run while its turns go on. */
interface RunState {
  runId: string;
  depth: number;
  req: AgentRequest;
  settings: RunSettings;
  toolset: Toolset;
  workspace: string;
  stop: AbortController;
  messages: AgentMessage[];
  toolCalls: AgentToolCall[];
  turns: AgentTurn[];
  usage: AgentUsage;
  notes: string[];
  emit(e: AgentEvent): void;
}

export class AgentLoop {
  /** Top-level runs in flight within the Runtime's concurrency limits. */
  readonly slots: RunSlots;
  /** Workspaces of finished runs still being removed; stop() waits for them. */
  private readonly removals = new Set<Promise<boolean>>();

  constructor(private readonly deps: AgentLoopDeps) {
    this.slots = new RunSlots(() => {
      const c = effectiveRuntime(deps.snapshot()).concurrency;
      return { maximum: c.maximum, queueLimit: c.queueLimit };
    });
  }

  /** Resolves when the workspaces of finished runs are removed (the controller's stop). */
  async settle(): Promise<void> {
    while (this.removals.size > 0) await Promise.all(this.removals);
  }

  /**
   * Throws before recording anything for a bad request, a missing upstream or key, an
   * unknown tool, or a full queue (QueueFull); a top-level run waits for a free slot.
   */
  async run(req: AgentRequest, depth = 0): Promise<AgentResult> {
    if (req.prompt === undefined && !req.messages?.length)
      throw new CaduceusError('InvalidAgentRequest', 'an agent run needs a prompt or messages', { field: 'prompt' });
    const snap = this.deps.snapshot();
    const settings = runSettings(snap, req, this.deps.configDir);
    learnSecrets(snap, this.deps.configDir);
    const toolset = resolveToolset(snap, req.tools ?? settings.defaultTools, depth, this.deps.runner.serverTools?.());
    const release = depth === 0 ? await this.slots.acquire(req.signal) : undefined;
    try {
      return await this.start(req, depth, settings, toolset);
    } finally {
      release?.();
    }
  }

  /** The run once admitted: recorded, turned, finished. */
  private async start(req: AgentRequest, depth: number, settings: RunSettings, toolset: Toolset): Promise<AgentResult> {
    const started = Date.now();
    const t0 = performance.now();
    const runId = this.deps.runs.start({
      kind: 'agent',
      name: req.name ?? 'agent',
      trigger: req.trigger.source,
      startedAt: started,
      actor: req.trigger.actor,
      parentId: req.parentRunId,
    });
    const ownWorkspace = req.workspace === undefined;
    const workspace = req.workspace ?? createWorkspace(this.deps.stateDir, runId);

    // One controller stops everything of the run; the reason tells a timeout from a cancel.
    const stop = new AbortController();
    let why: 'timeout' | 'cancelled' | undefined;
    const halt = (reason: 'timeout' | 'cancelled'): void => {
      why ??= reason;
      stop.abort();
    };
    const onCallerAbort = (): void => halt('cancelled');
    if (req.signal?.aborted) onCallerAbort();
    else req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => halt('timeout'), timerDelay(settings.limits.timeoutMs));

    const onProgress = req.onProgress;
    const state: RunState = {
      runId,
      depth,
      req,
      settings,
      toolset,
      workspace,
      stop,
      messages: this.openingMessages(req, settings, toolset),
      toolCalls: [],
      turns: [],
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      notes: [],
      emit: (e) => {
        try {
          onProgress?.(e);
        } catch (err) {
          // A broken progress display must not break the run.
          this.deps.log.debug('agent progress callback failed', { error: errorMessage(err) });
        }
      },
    };

    let outcome: Outcome;
    try {
      outcome = await this.turns(state);
    } catch (err) {
      outcome = stop.signal.aborted
        ? { status: 'failed', stopReason: 'cancelled', answer: '' }
        : { status: 'failed', stopReason: 'upstreamError', answer: '', error: upstreamErrorMessage(err) };
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }
    if (why !== undefined && outcome.status !== 'succeeded') {
      outcome =
        why === 'timeout'
          ? {
              status: 'timedOut',
              stopReason: 'timeout',
              answer: '',
              error: `the run timed out after ${formatDuration(settings.limits.timeoutMs)}`,
            }
          : { status: 'cancelled', stopReason: 'cancelled', answer: '', error: 'cancelled' };
    }
    return this.finish(state, outcome, performance.now() - t0, ownWorkspace);
  }

  private openingMessages(req: AgentRequest, settings: RunSettings, toolset: Toolset): AgentMessage[] {
    const messages: AgentMessage[] = [
      {
        role: 'system',
        content: toolset.names.length ? SYSTEM_PROMPT : SYSTEM_PROMPT.replace(/ You act only.*?share\./, ''),
      },
    ];
    const ctx = loadProjectContext(settings.context, this.deps.configDir);
    if (ctx.text) messages.push({ role: 'system', content: ctx.text });
    if (req.instructions) messages.push({ role: 'system', content: req.instructions });
    messages.push(...(req.messages ?? []));
    if (req.prompt !== undefined) messages.push({ role: 'user', content: req.prompt });
    return messages;
  }

  /** Model turns until an answer or a limit; throws what the upstream threw. */
  private async turns(run: RunState): Promise<Outcome> {
    const { limits, upstream } = run.settings;
    const stream = run.req.stream ?? upstream.stream;
    const m = this.deps.metrics;
    for (let turn = 1; ; turn++) {
      if (run.stop.signal.aborted) return { status: 'failed', stopReason: 'cancelled', answer: '' };
      run.emit({ type: 'turn', runId: run.runId, depth: run.depth, turn });
      // A signal per call: the SDK never removes the listener it adds to the one it is given.
      const call = linked(run.stop.signal);
      const reply = await callModel(upstream, {
        messages: run.messages,
        tools: run.toolset.definitions,
        stream,
        signal: call.signal,
        onDelta: (text) => run.emit({ type: 'answerDelta', runId: run.runId, depth: run.depth, text }),
      }).finally(call.dispose);
      const calls = reply.message.tool_calls ?? [];
      m.turns.inc({ model: upstream.model });
      m.upstreamSeconds.observe({ model: upstream.model }, reply.latencyMs / 1000);
      if (reply.usage) {
        m.tokens.inc({ model: upstream.model, kind: 'prompt' }, reply.usage.promptTokens);
        m.tokens.inc({ model: upstream.model, kind: 'completion' }, reply.usage.completionTokens);
        run.usage.promptTokens += reply.usage.promptTokens;
        run.usage.completionTokens += reply.usage.completionTokens;
        run.usage.totalTokens += reply.usage.totalTokens;
      }
      run.turns.push({
        turn,
        latencyMs: reply.latencyMs,
        finishReason: reply.finishReason,
        toolCalls: calls.length,
        usage: reply.usage,
      });
      run.messages.push(reply.message);
      if (calls.length === 0) return { status: 'succeeded', stopReason: 'answer', answer: reply.message.content ?? '' };
      if (limits.tokenBudget !== undefined && run.usage.totalTokens >= limits.tokenBudget) {
        return {
          status: 'failed',
          stopReason: 'tokenBudget',
          answer: '',
          error: `the run spent ${run.usage.totalTokens} tokens, over its budget of ${limits.tokenBudget}`,
        };
      }
      if (turn >= limits.maxTurns) {
        return {
          status: 'failed',
          stopReason: 'maxTurns',
          answer: '',
          error: `the model still called tools after ${limits.maxTurns} turn(s), the run's limit`,
        };
      }
      const room = Math.max(0, limits.maxToolCalls - run.toolCalls.length);
      const limit = semaphore(run.settings.concurrency);
      const seq0 = run.toolCalls.length;
      const made = await Promise.all(
        calls.map((call, i) =>
          i < room
            ? limit(() => this.callTool(run, turn, seq0 + i + 1, call))
            : Promise.resolve(this.refuse(run, turn, seq0 + i + 1, call)),
        ),
      );
      for (const c of made) {
        run.toolCalls.push(c);
        run.messages.push({ role: 'tool', tool_call_id: c.id, content: c.result });
      }
      if (calls.length > room) {
        return {
          status: 'failed',
          stopReason: 'maxToolCalls',
          answer: '',
          error: `the model asked for more than ${limits.maxToolCalls} tool call(s), the run's limit`,
        };
      }
    }
  }

  private refuse(run: RunState, turn: number, seq: number, call: ToolCallMsg): AgentToolCall {
    const text = `refused: the run's limit of ${run.settings.limits.maxToolCalls} tool calls is reached`;
    this.deps.metrics.toolCalls.inc({ tool: this.toolLabel(run, call.function.name), outcome: 'refused' });
    return {
      seq,
      turn,
      id: call.id,
      tool: call.function.name,
      arguments: redact(call.function.arguments),
      status: 'refused',
      durationMs: 0,
      result: text,
      error: text,
    };
  }

  private toolLabel(run: RunState, name: string): string {
    return run.toolset.byName.has(name) ? name : 'unknown';
  }

  /** One tool call: parse and check the arguments, run the tool under its timeout, redact and cut the result. */
  private async callTool(run: RunState, turn: number, seq: number, call: ToolCallMsg): Promise<AgentToolCall> {
    const name = call.function.name;
    const base = { runId: run.runId, depth: run.depth, turn, callId: call.id, tool: name };
    run.emit({ type: 'toolStart', ...base, arguments: redact(call.function.arguments) });
    const t0 = performance.now();
    const limits = run.settings.limits;
    let outcome: ToolOutcome;
    const tool = run.toolset.byName.get(name);
    const args = parseArguments(call.function.arguments);
    if (!tool) outcome = failed(`no tool named "${name}"; the tools of this run are ${run.toolset.names.join(', ')}`);
    else if (typeof args === 'string') outcome = failed(`arguments of ${name}: ${args}`);
    else {
      const problem = builtinArgumentProblem(tool, args);
      if (problem) outcome = failed(`arguments of ${name}: ${problem}`);
      else {
        // delegate is bounded by its children's own timeouts, not the per-tool one.
        const bounded = name !== 'delegate';
        const toolStop = linked(run.stop.signal);
        let timedOut = false;
        const timer = bounded
          ? setTimeout(() => {
              timedOut = true;
              toolStop.abort();
            }, timerDelay(limits.toolTimeoutMs))
          : undefined;
        try {
          outcome = await tool.execute(args, this.toolRun(run, toolStop.signal));
        } catch (err) {
          outcome = failed(errorMessage(err));
        } finally {
          clearTimeout(timer);
          toolStop.dispose();
        }
        if (timedOut && !run.stop.signal.aborted && outcome.status !== 'succeeded' && outcome.status !== 'timedOut') {
          const why = `timed out after ${formatDuration(limits.toolTimeoutMs)}`;
          // The tool saw a plain abort ("cancelled"); the model is told what happened instead.
          const rest = outcome.text.replace(/^(error: )?cancelled\n?/, '');
          outcome = {
            ...outcome,
            status: 'timedOut',
            text: `timed out after ${formatDuration(limits.toolTimeoutMs)}\n${rest}`,
            error: why,
          };
        }
      }
    }
    const durationMs = performance.now() - t0;
    // Secrets never reach the model: redaction comes before the cut and before the message.
    const result = cutMiddle(redact(outcome.text), limits.toolOutputBytes);
    this.deps.metrics.toolCalls.inc({ tool: this.toolLabel(run, name), outcome: outcome.status });
    const record: AgentToolCall = {
      seq,
      turn,
      id: call.id,
      tool: name,
      arguments: redact(call.function.arguments),
      status: outcome.status,
      durationMs,
      result,
      exitCode: outcome.exitCode,
      error: outcome.error !== undefined ? redact(outcome.error) : undefined,
      childRunIds: outcome.childRunIds,
    };
    run.emit({
      type: 'toolEnd',
      ...base,
      status: record.status,
      durationMs,
      exitCode: record.exitCode,
      error: record.error,
    });
    return record;
  }

  private toolRun(run: RunState, signal: AbortSignal): ToolRun {
    const req = run.req;
    return {
      runId: run.runId,
      depth: run.depth,
      workspace: run.workspace,
      isolation: req.isolation,
      mode: run.settings.mode,
      trigger: req.trigger,
      runner: this.deps.runner,
      snapshot: this.deps.snapshot(),
      signal,
      timeoutMs: run.settings.limits.toolTimeoutMs,
      outputLimitBytes: run.settings.outputLimitBytes,
      notes: run.notes,
      allowed: run.toolset.names,
      delegate: (children, sig) => this.delegate(run, children, sig),
      emit: run.emit,
    };
  }

  /** Children of one delegate call: a subset of the parent's tools, their own workspace and timeout. */
  private async delegate(
    run: RunState,
    children: readonly ChildRequest[],
    signal: AbortSignal,
  ): Promise<AgentResult[]> {
    const parentTools = new Set(run.toolset.names);
    const snap = this.deps.snapshot();
    // Every child's tools are checked before any starts, so a bad list starts nothing.
    const plans = children.map((c) => {
      const own = resolveToolset(
        snap,
        c.tools ?? run.toolset.names,
        run.depth + 1,
        this.deps.runner.serverTools?.(),
      ).names;
      const outside = own.filter((t) => !parentTools.has(t));
      if (outside.length)
        throw new CaduceusError(
          'ToolNotAllowed',
          `child ${c.name} asks for ${outside.join(', ')}, which this run may not use`,
        );
      return { child: c, tools: own };
    });
    const limit = semaphore(run.settings.concurrency);
    const limits = run.settings.limits;
    return Promise.all(
      plans.map(({ child, tools }) =>
        limit(() =>
          this.run(
            {
              prompt: child.prompt,
              tools,
              limits: { ...run.req.limits, timeoutMs: limits.delegateTimeoutMs },
              isolation: run.req.isolation,
              trigger: { source: 'agent:delegate', actor: run.req.trigger.actor },
              signal,
              parentRunId: run.runId,
              name: `${run.req.name ?? 'agent'}/${child.name}`,
              onProgress: run.req.onProgress,
            },
            run.depth + 1,
          ),
        ),
      ),
    );
  }

  private finish(run: RunState, outcome: Outcome, durationMs: number, ownWorkspace: boolean): AgentResult {
    const result: AgentResult = {
      runId: run.runId,
      status: outcome.status,
      stopReason: outcome.stopReason,
      answer: redact(outcome.answer),
      error: outcome.error !== undefined ? redact(outcome.error) : undefined,
      model: run.settings.upstream.model,
      durationMs,
      toolCalls: run.toolCalls,
      turns: run.turns,
      usage: run.usage,
      notes: run.notes.map(redact),
      messages: run.messages.map(redactMessage),
    };
    const log = this.deps.log.child({ agentRun: run.runId });
    try {
      this.deps.traces.save(result);
    } catch (err) {
      log.warn('could not store the agent trace', { error: errorMessage(err) });
    }
    this.deps.runs.finish(run.runId, {
      status: result.status,
      durationMs,
      error: result.error,
      report: {
        answer: result.answer.slice(0, REPORT_ANSWER_LIMIT),
        stopReason: result.stopReason,
        model: result.model,
        toolCalls: result.toolCalls.length,
        usage: result.usage,
      },
    });
    this.deps.metrics.runs.inc({ status: result.status, stop_reason: result.stopReason });
    if (ownWorkspace) {
      // The answer does not wait for the files to go; stop() does.
      if (result.status === 'succeeded') {
        const removal = removeWorkspaceAsync(run.workspace).finally(() => this.removals.delete(removal));
        this.removals.add(removal);
      } else log.info('kept the workspace of an agent run that did not succeed', { workspace: run.workspace });
    }
    try {
      this.deps.onFinished?.(result, run.req, run.depth);
    } catch (err) {
      log.warn('agent run hook failed', { error: errorMessage(err) });
    }
    return result;
  }
}

type ToolCallMsg = NonNullable<AgentMessage['tool_calls']>[number];

/**
 * A signal aborted with `parent` (or by abort()), whose link to the parent is undone by
 * dispose(): a run makes hundreds of calls and must not pile listeners on its own signal.
 */
function linked(parent: AbortSignal): { signal: AbortSignal; abort(): void; dispose(): void } {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  if (parent.aborted) ac.abort();
  else parent.addEventListener('abort', abort, { once: true });
  return { signal: ac.signal, abort, dispose: () => parent.removeEventListener('abort', abort) };
}

/** The arguments object, or why the text is not one. Empty text is `{}` (tools without params). */
function parseArguments(text: string): Record<string, unknown> | string {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'must be a JSON object';
  return v as Record<string, unknown>;
}

function redactMessage(m: AgentMessage): AgentMessage {
  return {
    ...m,
    content: m.content === null ? null : redact(m.content),
    ...(m.tool_calls
      ? {
          tool_calls: m.tool_calls.map((c) => ({
            ...c,
            function: { name: c.function.name, arguments: redact(c.function.arguments) },
          })),
        }
      : {}),
  };
}
