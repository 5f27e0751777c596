// The curator controller: for each Curator resource, keeps its run schedule registered
// (level-triggered: the desired schedule is compared with the registered one), and reports
// the next run and the last run's outcome as status. Runs themselves are in run.ts. It
// also provides runner.proposeSkill, the seam through which the agent reaches the skill
// auto-creation path (propose-skill.ts) without importing this controller.

import type {
  ControllerDeps,
  Controller,
  EventRecorder,
  Registration,
  ReconcileContext,
  Resource,
  Observed,
  ReconcileResult,
  Runner,
  SkillProposal,
  MemoryProposal,
} from '../../reconciler/types.js';
import { splitKey } from '../../reconciler/types.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { resolveSecret } from '../../reconciler/secrets.js';
import { CuratorStore } from './store.js';
import { CuratorScheduler } from './schedule.js';
import type { CuratorEnv } from './run.js';
import type { CuratorReport } from './types.js';

/** Re-check status at least this often after a scheduled run could have happened. */
const STATUS_SLACK_MS = 60_000;
const MAX_REQUEUE_MS = 86_400_000;

export function register(deps: ControllerDeps): Registration {
  const cstore = new CuratorStore(deps.store);
  const log = deps.log.child({ controller: 'curator' });
  const specs = new Map<string, CuratorSpec>();
  const envFor = (): CuratorEnv | undefined =>
    deps.gitSource
      ? {
          store: deps.store,
          log,
          stateDir: deps.stateDir,
          source: deps.gitSource,
          secretBaseDir: deps.configDir,
        }
      : undefined;
  const scheduler = new CuratorScheduler(
    cstore,
    async (name) => {
      const env = envFor();
      const spec = specs.get(name);
      if (!env || !spec) return;
      const object = `Curator/${name}`;
      let report: CuratorReport;
      try {
        // A run's code (signals, similarity, YAML edits, the forge clients) loads with the first run.
        const { runCurator } = await import('./run.js');
        report = await runCurator(env, { curator: name, spec, trigger: 'schedule' });
      } catch (err) {
        deps.events.record(object, 'Warning', 'CuratorRunFailed', `scheduled run failed: ${errorMessage(err)}`);
        throw err;
      }
      log.info('curator run finished', {
        curator: name,
        outcome: report.outcome,
        proposals: report.counts.proposals,
        branch: report.branch,
        message: report.message,
      });
      announce(deps.events, object, report);
    },
    log,
  );

  const controller: Controller = {
    kind: 'Curator',
    async reconcile(
      ctx: ReconcileContext,
      desired: Resource | undefined,
      _observed: Observed,
    ): Promise<ReconcileResult | undefined> {
      const name = splitKey(ctx.key).name;
      if (!desired) {
        scheduler.remove(name);
        specs.delete(name);
        cstore.forgetSchedule(name);
        return;
      }
      const spec = desired.spec as CuratorSpec;
      specs.set(name, spec);
      if (!deps.gitSource) {
        scheduler.remove(name);
        return {
          terminal: {
            reason: 'NoGitSource',
            message:
              'the curator proposes changes through git, but no git repository is configured; ' +
              'run `caduceus up --repo …`',
          },
        };
      }
      const misconfigured = forgeMisconfigured(spec);
      if (misconfigured) {
        scheduler.remove(name);
        return { terminal: { reason: 'ForgeMisconfigured', message: misconfigured } };
      }
      let next: number | undefined;
      try {
        next = scheduler.ensure(name, spec.schedule);
      } catch (err) {
        scheduler.remove(name);
        return { terminal: { reason: 'InvalidSchedule', message: errorMessage(err) } };
      }
      const last = cstore.lastReport(name);
      ctx.setObserved({
        schedule: scheduler.registered(name),
        nextRunAt: next === undefined ? null : new Date(next).toISOString(),
        lastRun: last
          ? {
              outcome: last.outcome,
              at: new Date(last.finishedAt).toISOString(),
              proposals: last.counts.proposals,
              branch: last.branch ?? null,
              pr: last.pr?.url ?? null,
              message: last.message,
            }
          : null,
      });
      const tokenProblem = forgeTokenUnset(spec, deps.configDir);
      if (tokenProblem) ctx.setCondition('Ready', 'False', 'SecretUnset', tokenProblem);
      else if (last && (last.outcome === 'invalid' || last.outcome === 'failed')) {
        ctx.setCondition(
          'Ready',
          'False',
          last.outcome === 'invalid' ? 'ResultInvalid' : 'RunFailed',
          `last run ${new Date(last.finishedAt).toISOString()}: ${last.message}` +
            (last.findings.length ? `: ${last.findings.slice(0, 3).join('; ')}` : ''),
        );
      } else {
        ctx.setCondition(
          'Ready',
          'True',
          'Scheduled',
          `next run ${next === undefined ? 'unknown' : new Date(next).toISOString()}` +
            (last ? `; last run ${last.outcome}` : ''),
        );
      }
      return next === undefined
        ? undefined
        : { requeueAfter: Math.min(MAX_REQUEUE_MS, Math.max(STATUS_SLACK_MS, next - Date.now() + STATUS_SLACK_MS)) };
    },
    async stop(): Promise<void> {
      scheduler.stopAll();
    },
  };
  const proposeSkill: NonNullable<Runner['proposeSkill']> = async (yaml, opts): Promise<SkillProposal> => {
    const env = envFor();
    if (!env) {
      throw new CaduceusError(
        'NoGitSource',
        'a new skill is proposed as a pull request, but no git repository is configured',
        {
          hint: 'run `caduceus up --repo …` to propose skills',
        },
      );
    }
    const by = opts.trigger.actor ? `${opts.trigger.source} (${opts.trigger.actor})` : opts.trigger.source;
    // The first applied Curator's settings (forge, branch prefix, labels); without one,
    // proposeNewSkill reads the tracked tree's Curator or the defaults.
    const [curator, spec] = [...specs.entries()].sort(([a], [b]) => a.localeCompare(b))[0] ?? [];
    const { proposeNewSkill } = await import('./propose-skill.js');
    const r = await proposeNewSkill(env, yaml, {
      reason: opts.reason,
      proposedBy: by,
      updateSimilar: opts.updateSimilar,
      format: opts.format,
      curator,
      spec,
    });
    log.info('skill proposed', { skill: r.name, branch: r.branch, outcome: r.outcome, proposal: r.id, by });
    return {
      proposalId: r.id,
      action: r.action,
      skill: r.name,
      similarity: r.similarity,
      file: r.file,
      branch: r.branch,
      outcome: r.outcome,
      pullRequest: r.pr.number > 0 ? r.pr.url : undefined,
    };
  };
  const proposeMemory: NonNullable<Runner['proposeMemory']> = async (notes, opts): Promise<MemoryProposal> => {
    const env = envFor();
    if (!env) {
      throw new CaduceusError(
        'NoGitSource',
        'memory is proposed as a pull request, but no git repository is configured',
        {
          hint: 'run `caduceus up --repo …` to propose memory',
        },
      );
    }
    const by = opts.trigger.actor ? `${opts.trigger.source} (${opts.trigger.actor})` : opts.trigger.source;
    const [curator, spec] = [...specs.entries()].sort(([a], [b]) => a.localeCompare(b))[0] ?? [];
    // Like the curator run and skill proposals: git, the forge client and the loader load
    // with the first proposal, not when `up` registers the curator.
    const { proposeMemoryNotes } = await import('./propose-memory.js');
    const r = await proposeMemoryNotes(env, notes, {
      file: opts.file,
      reason: opts.reason,
      runId: opts.runId,
      proposedBy: by,
      curator,
      spec,
    });
    log.info('memory proposed', { file: r.file, branch: r.branch, outcome: r.outcome, notes: r.notes.length, by });
    return {
      proposalId: r.id,
      file: r.file,
      branch: r.branch,
      notes: r.notes,
      outcome: r.outcome,
      pullRequest: r.pr.number > 0 ? r.pr.url : undefined,
    };
  };
  return {
    controllers: [controller],
    runner: { proposeSkill, proposeMemory },
    stop: async () => scheduler.stopAll(),
  };
}

/** A scheduled run's outcome as an event; `busy` (another run held the lock) is only logged. */
function announce(events: EventRecorder, object: string, report: CuratorReport): void {
  const run = `run ${report.runId.slice(0, 8)}`;
  if (report.outcome === 'invalid' || report.outcome === 'failed') {
    events.record(object, 'Warning', 'CuratorRunFailed', `${run} ${report.outcome}: ${report.message}`);
  } else if (report.outcome === 'proposed') {
    const where = report.pr ? report.pr.url : `branch ${report.branch ?? '?'}`;
    events.record(
      object,
      'Normal',
      'CuratorRunSucceeded',
      `${run}: ${report.counts.proposals} proposal(s) on ${where}`,
    );
  } else if (report.outcome !== 'busy') {
    events.record(
      object,
      'Normal',
      'CuratorRunSucceeded',
      `${run}: ${report.outcome}${report.message ? ` (${report.message})` : ''}`,
    );
  }
}

/** What the forge settings lack, which only a spec change can add. */
function forgeMisconfigured(spec: CuratorSpec): string | undefined {
  if (spec.forge.type === 'none') return undefined;
  if (!spec.forge.repo) return `forge ${spec.forge.type} needs spec.forge.repo (owner/name)`;
  if (!spec.forge.token) return `forge ${spec.forge.type} needs spec.forge.token (valueFrom env or file)`;
  return undefined;
}

/** Why the forge token cannot be read now; it may be set later without a commit. */
function forgeTokenUnset(spec: CuratorSpec, configDir: string | undefined): string | undefined {
  if (spec.forge.type === 'none' || !spec.forge.token) return undefined;
  try {
    resolveSecret(spec.forge.token, configDir ? { baseDir: configDir } : {});
  } catch (err) {
    return errorMessage(err);
  }
  return undefined;
}
