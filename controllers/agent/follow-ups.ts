// What a successful top-level run leaves behind, after its result is returned: its
// `remember` notes proposed as an edit of the Runtime's memory file, and, when it made at
// least `skills.autoCreateThreshold` successful tool calls, the run itself proposed as a
// skill (a near-duplicate of an existing one as an update of it): YAML steps, or a SKILL.md
// when the run was mostly the model's judgement or the repository keeps only SKILL.md
// skills. Both go through the curator's branch-and-pull-request seams on the runner, never
// into the live configuration; the outcome is kept with the run's trace (`caduceus runs show`).

import type { Logger, Runner, SkillFormat, Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import { effectiveRuntime } from '../../reconciler/runtime-defaults.js';
import type { AgentRequest, AgentResult } from '../../reconciler/agent-contract.js';
import type { RuntimeSpec } from '../../reconciler/specs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { findSkill } from '../../reconciler/skill-names.js';
import { redact } from '../../reconciler/secrets.js';
import { runSettings } from './settings.js';
import { draftSkill, renderSkill, renderSkillMdDraft, stepCalls } from './skill-draft.js';
import { askModelForNames, settleInstructions, settleNaming, type ModelNaming } from './skill-naming.js';
import { judgeRun, mostlyJudgement, type RunJudgement } from './run-judgement.js';
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
    const all = resourcesOfKind(snap, 'Skill');
    const skills = new Map(all.map((s) => [s.metadata.name, s]));
    const draft = draftSkill(result.toolCalls, prompt, skills);
    if (!draft) return;
    const judged = judgeRun(result.toolCalls, prompt);
    // A SKILL.md when the run was mostly judgement, or when the repository keeps its skills only as SKILL.md.
    const skillMdOnly = all.length > 0 && all.every((s) => s.spec.agentSkill !== undefined);
    const format: SkillFormat = mostlyJudgement(judged) || skillMdOnly ? 'skill-md' : 'yaml';
    await this.attempt(result.runId, 'skill', async () => {
      let answer: ModelNaming = {};
      try {
        const upstream = runSettings(snap, req, this.deps.configDir).upstream;
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(NAMING_TIMEOUT_MS)]);
        answer = await askModelForNames(upstream, draft, prompt, signal, format === 'skill-md');
      } catch (err) {
        this.deps.log.info('the model did not name the proposed skill; derived names are used', {
          agentRun: result.runId,
          error: errorMessage(err),
        });
      }
      const naming = settleNaming(answer, draft, prompt, (n) => findSkill(snap, n) !== undefined);
      const firstLine = prompt.split('\n').find((l) => l.trim() !== '') ?? '';
      // Arguments and the request were redacted before the trace; the text is redacted once more on its way to git.
      const text = redact(
        format === 'yaml'
          ? renderSkill(draft, naming)
          : renderSkillMdDraft(
              draft,
              naming,
              settleInstructions(answer, derivedInstructions(firstLine, judged)),
              stepsNote(judged),
            ),
      );
      const counts = Object.entries(draft.toolCounts)
        .map(([tool, n]) => `${tool} ×${n}`)
        .join(', ');
      const steps = stepCalls(result.toolCalls).length;
      const why =
        format === 'yaml'
          ? ''
          : mostlyJudgement(judged)
            ? `; ${judged.judged} of ${judged.steps} calls used values the model read along the way, ` +
              'so it is proposed as SKILL.md instructions'
            : '; the repository keeps its skills as SKILL.md folders, so it is proposed as one';
      const reason =
        `agent run ${result.runId} (${describeTrigger(req)}) succeeded with ${steps} tool calls ` +
        `(threshold ${threshold}): ${counts}; asked "${firstLine.slice(0, 200)}"${why}; ` +
        `\`caduceus runs show ${result.runId}\` has the whole trace`;
      const p = await this.seam('proposeSkill')(text, { reason, trigger: req.trigger, updateSimilar: true, format });
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

/** What a learned SKILL.md tells the agent when the model wrote no instructions. */
function derivedInstructions(request: string, judged: RunJudgement): string {
  const lines = [`Use this skill for requests like: "${request.slice(0, 300)}".`, ''];
  if (judged.values.length > 0)
    lines.push(
      'An agent did this once, deciding each step from what it read. Work the same way: read first, then act on ' +
        `what you find; values such as ${judged.values.map((v) => `\`${v}\``).join(', ')} came from what it ` +
        'read and will differ next time.',
    );
  else lines.push('An agent did this once with the steps below; repeat them with the values of the new request.');
  return lines.join('\n');
}

function stepsNote(judged: RunJudgement): string {
  return judged.values.length > 0
    ? 'These are the calls of that run, an example rather than a script; parameters are PARAM_<NAME> in shell commands.'
    : 'Each parameter is in the environment as PARAM_<NAME> (upper case, - as _).';
}

function prSuffix(pullRequest: string | undefined): string {
  return pullRequest ? `, ${pullRequest}` : '';
}

function describeTrigger(req: AgentRequest): string {
  return req.trigger.actor ? `${req.trigger.source}, ${req.trigger.actor}` : req.trigger.source;
}
