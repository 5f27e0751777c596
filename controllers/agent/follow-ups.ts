// What a successful top-level run leaves behind, after its result is returned: its
// `remember` notes proposed as an edit of the Runtime's memory file, and, when it made at
// least `skills.autoCreateThreshold` successful tool calls, the run itself proposed as a
// skill (a near-duplicate of an existing one as an update of it). Both go through the
// curator's branch-and-pull-request seams on the runner, never into the live configuration;
// the outcome is kept with the run's trace (`caduceus runs show`).

import type { Logger, Runner, Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import type { AgentRequest, AgentResult } from '../../reconciler/agent-contract.js';
import type { RuntimeSpec } from '../../reconciler/specs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { findSkill } from '../../reconciler/skill-names.js';
import { redact } from '../../reconciler/secrets.js';
import { runSettings } from './settings.js';
import { draftSkill, renderSkill, stepCalls } from './skill-draft.js';
import { askModelForNames, settleNaming, type ModelNaming } from './skill-naming.js';
import type { RunProposal, TraceStore } from './trace-store.js';
import type { AgentMetrics } from './metrics.js';

export interface FollowUpDeps {
  snapshot: () => Snapshot;
  runner: Runner;
  traces: TraceStore;
  metrics: AgentMetrics;
  log: Logger;
  configDir?: string;
}

/** Bound of the naming call; a slow model only costs the derived names. */
const NAMING_TIMEOUT_MS = 60_000;
/** How long stop() waits for proposals in flight (a push, a forge call). */
const STOP_GRACE_MS = 30_000;

/** Codes that mean "nowhere to propose to here" (no git source, no curator): skipped, not failed. */
const NOWHERE: ReadonlySet<string> = new Set(['NoGitSource', 'RunnerUnavailable', 'CuratorNeedsRepo']);

export class FollowUps {
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly deps: FollowUpDeps) {}

  /** The loop's onFinished: starts the follow-ups of a successful top-level run in the background. */
  onFinished(result: AgentResult, req: AgentRequest, depth: number): void {
    if (depth > 0 || result.status !== 'succeeded' || this.abort.signal.aborted) return;
    const work = this.follow(result, req)
      .catch((err: unknown) =>
        this.deps.log.warn('agent run follow-up failed', { agentRun: result.runId, error: errorMessage(err) }),
      )
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  /** Resolves once every follow-up started so far has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
  }

  private async follow(result: AgentResult, req: AgentRequest): Promise<void> {
    const snap = this.deps.snapshot();
    const rt = effectiveRuntime(snap);
    if (result.notes.length > 0) await this.memory(result, req, rt);
    const threshold = rt.skills.autoCreateThreshold;
    if (rt.skills.autoCreate && stepCalls(result.toolCalls).length >= threshold)
      await this.skill(result, req, snap, threshold);
  }

  private async memory(result: AgentResult, req: AgentRequest, rt: RuntimeSpec): Promise<void> {
    const file = rt.agent.memoryFile;
    if (!file) {
      this.record(result.runId, {
        kind: 'memory',
        outcome: 'skipped',
        detail: `${result.notes.length} note(s) kept in this trace: the Runtime names no spec.agent.memoryFile`,
      });
      return;
    }
    await this.attempt(result.runId, 'memory', async () => {
      const p = await this.seam('proposeMemory')(result.notes, {
        file,
        reason: `agent run ${result.runId} (${describeTrigger(req)}) asked to remember ${result.notes.length} note(s)`,
        trigger: req.trigger,
        runId: result.runId,
      });
      return {
        outcome: p.outcome,
        detail: `${p.notes.length} new note(s) for ${p.file} on branch ${p.branch}${prSuffix(p.pullRequest)}`,
      };
    });
  }

  private async skill(result: AgentResult, req: AgentRequest, snap: Snapshot, threshold: number): Promise<void> {
    const prompt = result.messages
      .filter((m) => m.role === 'user' && m.content)
      .map((m) => m.content as string)
      .join('\n\n');
    const skills = new Map(resourcesOfKind(snap, 'Skill').map((s) => [s.metadata.name, s]));
    const draft = draftSkill(result.toolCalls, prompt, skills);
    if (!draft) return;
    await this.attempt(result.runId, 'skill', async () => {
      let answer: ModelNaming = {};
      try {
        const upstream = runSettings(snap, req, this.deps.configDir).upstream;
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(NAMING_TIMEOUT_MS)]);
        answer = await askModelForNames(upstream, draft, prompt, signal);
      } catch (err) {
        this.deps.log.info('the model did not name the proposed skill; derived names are used', {
          agentRun: result.runId,
          error: errorMessage(err),
        });
      }
      const naming = settleNaming(answer, draft, prompt, (n) => findSkill(snap, n) !== undefined);
      // Arguments and the request were redacted before the trace; the YAML is redacted once more on its way to git.
      const yaml = redact(renderSkill(draft, naming));
      const counts = Object.entries(draft.toolCounts)
        .map(([tool, n]) => `${tool} ×${n}`)
        .join(', ');
      const steps = stepCalls(result.toolCalls).length;
      const firstLine = prompt.split('\n').find((l) => l.trim() !== '') ?? '';
      const reason =
        `agent run ${result.runId} (${describeTrigger(req)}) succeeded with ${steps} tool calls ` +
        `(threshold ${threshold}): ${counts}; asked "${firstLine.slice(0, 200)}"; ` +
        `\`caduceus runs show ${result.runId}\` has the whole trace`;
      const p = await this.seam('proposeSkill')(yaml, { reason, trigger: req.trigger, updateSimilar: true });
      const what =
        p.action === 'update'
          ? `update of skill ${p.skill} (similarity ${p.similarity ?? '?'})`
          : `new skill ${p.skill} in ${p.file}`;
      return {
        outcome: p.outcome,
        detail: `${what} on branch ${p.branch}${prSuffix(p.pullRequest)}`,
      };
    });
  }

  /** Runs one proposal and records its outcome: proposed / unchanged, skipped (nowhere to propose), failed. */
  private async attempt(
    runId: string,
    kind: RunProposal['kind'],
    fn: () => Promise<Pick<RunProposal, 'outcome' | 'detail'>>,
  ): Promise<void> {
    try {
      this.record(runId, { kind, ...(await fn()) });
    } catch (err) {
      const skipped = err instanceof CaduceusError && NOWHERE.has(err.code);
      this.record(runId, { kind, outcome: skipped ? 'skipped' : 'failed', detail: redact(errorMessage(err)) });
      if (!skipped)
        this.deps.log.warn(`agent ${kind} proposal failed`, { agentRun: runId, error: redact(errorMessage(err)) });
    }
  }

  private seam<K extends 'proposeMemory' | 'proposeSkill'>(name: K): NonNullable<Runner[K]> {
    const fn = this.deps.runner[name];
    if (!fn) throw new CaduceusError('RunnerUnavailable', `no controller provides ${name}`);
    return fn.bind(this.deps.runner) as NonNullable<Runner[K]>;
  }

  private record(runId: string, p: Omit<RunProposal, 'at'>): void {
    this.deps.metrics.proposals.inc({ kind: p.kind, outcome: p.outcome });
    try {
      this.deps.traces.saveProposal(runId, { ...p, at: Date.now() });
    } catch (err) {
      this.deps.log.warn('could not store the outcome of a proposal', { agentRun: runId, error: errorMessage(err) });
    }
    this.deps.log.info(`agent ${p.kind} proposal: ${p.outcome}`, { agentRun: runId, detail: p.detail });
  }
}

function prSuffix(pullRequest: string | undefined): string {
  return pullRequest ? `, ${pullRequest}` : '';
}

function describeTrigger(req: AgentRequest): string {
  return req.trigger.actor ? `${req.trigger.source}, ${req.trigger.actor}` : req.trigger.source;
}
