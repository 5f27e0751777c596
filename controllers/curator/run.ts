// One curator run, top to bottom: lock → fetch the tracked tip into the curator's clone →
// load → signals → plan → edit the overlay → validate the result → one commit per proposal
// on the curator branch → push with lease (only when something changed) → open or update
// the pull request → record proposals and the report. A dry-run stops after validation and
// returns the diff, writing nothing.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Finding, Logger, Resource } from '../../reconciler/types.js';
import type { StateStore } from '../../reconciler/state/store.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { Loader } from '../../reconciler/loader.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { parseDuration } from '../../reconciler/duration.js';
import { redact } from '../../reconciler/secrets.js';
import { formatFinding, formatPosition } from '../../reconciler/finding-format.js';
import { CuratorStore } from './store.js';
import { ConfigTree } from './tree.js';
import { collectSignals, type Signals } from './signals.js';
import { plan, type Plan } from './proposals.js';
import { applyProposal } from './edits.js';
import { checkoutTrackedTip, firstCommitTimes, type GitWork } from './git-work.js';
import type { Forge, PullRequest } from './forge/index.js';
import { usageLines } from './report.js';
import { acquireLock } from './lock.js';
import { makeForge, publishBranch, publishPr } from './publish.js';
import { overlayDiff } from './diff.js';
import { chooseCurator } from './defaults.js';
import type { CuratorReport, Proposal, ProposalRecord, RunOutcome } from './types.js';

export type CuratorSource = { dir: string } | { repo: string; path?: string; branch?: string };

export interface CuratorEnv {
  store: StateStore;
  log: Logger;
  stateDir: string;
  source: CuratorSource;
  /** Environment for secret references (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory relative `valueFrom.file` references resolve against. */
  secretBaseDir?: string;
  now?: () => number;
}

export interface CuratorRunOptions {
  /** Which Curator resource; default: the first in the configuration, else `default`. */
  curator?: string;
  /** Overrides the spec read from the configuration. */
  spec?: CuratorSpec;
  dryRun?: boolean;
  trigger?: string;
  /** How long to wait for another run to finish (default 10 min). */
  lockWaitMs?: number;
  /** After this long a lock is considered abandoned (default 30 min). */
  lockTtlMs?: number;
}

export interface Loaded {
  tree: ConfigTree;
  loader: Loader;
  resources: Resource[];
  findings: Finding[];
  spec: CuratorSpec;
  curator: string;
}

export interface Applied {
  proposal: Proposal;
  /** Config-relative path → content after this proposal (null: removed). */
  changes: Array<[string, string | null]>;
}

/** Runs the curator once and returns its report (also saved, unless dry-run). */
export async function runCurator(env: CuratorEnv, opts: CuratorRunOptions = {}): Promise<CuratorReport> {
  const now = env.now ?? Date.now;
  const cstore = new CuratorStore(env.store);
  const runId = randomUUID();
  const started = now();
  await acquireLock(cstore, runId, opts.lockWaitMs ?? 600_000, opts.lockTtlMs ?? 1_800_000);
  const cleanups: Array<() => void> = [];
  const report = emptyReport(runId, opts, started);
  try {
    await curate(env, opts, cstore, report, cleanups);
  } catch (err) {
    report.outcome = 'failed';
    report.message = redact(errorMessage(err));
    env.log.warn('curator run failed', { error: report.message });
  } finally {
    cstore.unlock(runId);
    for (const c of cleanups) c();
  }
  report.finishedAt = now();
  if (!report.dryRun) cstore.saveReport(report);
  return report;
}

async function curate(
  env: CuratorEnv,
  opts: CuratorRunOptions,
  cstore: CuratorStore,
  report: CuratorReport,
  cleanups: Array<() => void>,
): Promise<void> {
  const t = timer(report);
  const now = (env.now ?? Date.now)();
  const workspace = await prepareWorkspace(env, opts, cleanups);
  report.revision = workspace.revision;
  t('fetch');
  const loaded = await loadTree(workspace.root, opts);
  report.curator = loaded.curator;
  t('load');
  // A dry-run needs no forge (nor its token).
  const forge =
    workspace.git && !opts.dryRun ? makeForge(env, loaded.spec, workspace.git, cstore, loaded.curator) : undefined;
  if (forge && workspace.git) await refreshPrStates(cstore, forge, workspace.git, loaded.curator);
  t('forge-state');
  const signals = await gatherSignals(env, loaded, workspace.root, now);
  t('signals');
  const decided = decide(cstore, loaded, signals, now);
  fillReport(report, signals, decided);
  t('plan');
  const applied = applyAll(loaded, signals, decided.proposals);
  report.proposals = decided.proposals.map((p) => ({
    id: p.id,
    action: p.action,
    skills: p.skills,
    title: p.title,
    files: p.files,
  }));
  t('edit');
  if (!(await validateResult(loaded, decided.proposals, report))) return;
  t('validate');
  if (decided.proposals.length === 0) {
    report.outcome = opts.dryRun ? 'dry-run' : 'nothing';
    report.message = 'nothing to propose';
    return;
  }
  if (opts.dryRun || !workspace.git || !forge) {
    report.outcome = 'dry-run';
    report.diff = await overlayDiff(loaded.tree);
    t('diff');
    return;
  }
  const branch = await publishBranch(workspace.git, workspace.path, cstore, loaded, applied, report, now);
  t('git');
  await publishPr(forge, workspace.git, cstore, loaded, decided, applied, branch, report, now);
  t('pull-request');
}

// ---- steps ----

interface Workspace {
  root: string;
  revision: string;
  git?: GitWork;
  /** Config sub-directory inside the repository ('' for the root). */
  path: string;
}

async function prepareWorkspace(
  env: CuratorEnv,
  opts: CuratorRunOptions,
  cleanups: Array<() => void>,
): Promise<Workspace> {
  const src = env.source;
  if ('dir' in src) {
    if (!opts.dryRun)
      throw new CaduceusError('CuratorNeedsRepo', 'a curator run that pushes needs a git repository', {
        hint: 'pass --repo, or --dry-run to only print the proposals',
      });
    return { root: src.dir, revision: 'worktree', path: '' };
  }
  // A dry-run uses a throw-away clone so that not even the curator's clone changes.
  let dir = join(env.stateDir, 'curator', 'clone');
  if (opts.dryRun) {
    dir = mkdtempSync(join(tmpdir(), 'caduceus-curator-dry-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  const { git, tip, root, path } = await checkoutTrackedTip(dir, src.repo, src.branch, src.path);
  return { root, revision: tip, git, path };
}

async function loadTree(root: string, opts: CuratorRunOptions): Promise<Loaded> {
  const tree = new ConfigTree(root);
  const loader = new Loader();
  const { resources, findings } = await loader.load(tree.sourceFiles());
  return { tree, loader, resources, findings, ...chooseCurator(resources, opts) };
}

/** Reads what reviewers did with the open proposals: merged and closed ones are remembered. */
async function refreshPrStates(cstore: CuratorStore, forge: Forge, git: GitWork, curator: string): Promise<void> {
  const open = cstore.proposals({ state: 'open', curator });
  const byBranch = new Map<string, ProposalRecord[]>();
  for (const p of open) byBranch.set(p.branch, [...(byBranch.get(p.branch) ?? []), p]);
  for (const [branch, recs] of byBranch) {
    const first = recs[0] as ProposalRecord;
    const known: PullRequest | undefined = first.prNumber
      ? { number: first.prNumber, url: first.prUrl ?? '', state: 'open', branch, title: '' }
      : await forge.findPr(branch, git.tracked);
    // No pull request yet but the branch is there: the last run pushed and could not open one.
    const state = known ? await forge.getPrState(known) : (await git.remoteSha(branch)) ? 'open' : 'closed';
    if (state !== 'open')
      cstore.setProposalState(
        recs.map((r) => r.id),
        state,
      );
  }
}

async function gatherSignals(env: CuratorEnv, loaded: Loaded, root: string, now: number): Promise<Signals> {
  const firstSeen = await firstCommitTimes(root);
  return collectSignals({
    resources: loaded.resources,
    runs: new RunStore(env.store),
    now,
    windowMs: parseDuration(loaded.spec.thresholds.window),
    firstSeen,
    fallbackFirstSeen: (file) => {
      try {
        return statSync(join(root, ...file.split('/'))).mtimeMs;
      } catch {
        return now;
      }
    },
  });
}

function decide(cstore: CuratorStore, loaded: Loaded, signals: Signals, now: number): Plan {
  const skills = new Map(
    loaded.resources.filter((r): r is Resource<'Skill'> => r.kind === 'Skill').map((r) => [r.metadata.name, r]),
  );
  const done = new Map(
    cstore
      .proposals({ curator: loaded.curator })
      .filter((p) => p.state !== 'open')
      .map((p) => [p.id, p]),
  );
  return plan({ signals, skills, spec: loaded.spec, now, closed: done });
}

function applyAll(loaded: Loaded, signals: Signals, proposals: Proposal[]): Applied[] {
  const resources = new Map(loaded.resources.map((r) => [`${r.kind}/${r.metadata.name}`, r]));
  const ctx = { tree: loaded.tree, resources, signals, spec: loaded.spec };
  return proposals.map((p) => {
    p.files = applyProposal(ctx, p);
    return {
      proposal: p,
      changes: p.files.map((f): [string, string | null] => [f, loaded.tree.exists(f) ? loaded.tree.read(f) : null]),
    };
  });
}

/** The edited tree must load without errors; otherwise nothing is committed or pushed. */
async function validateResult(loaded: Loaded, proposals: Proposal[], report: CuratorReport): Promise<boolean> {
  const result = await loaded.loader.load(loaded.tree.sourceFiles());
  const errors = result.findings.filter((f) => f.severity === 'error');
  // Retired skills must really be gone: an archive folder the loader reads would keep them.
  const retired = new Set(
    proposals.flatMap((p) => (p.action === 'prune' ? p.skills : p.action === 'consolidate' ? p.skills.slice(1) : [])),
  );
  const lingering = result.resources.filter((r) => r.kind === 'Skill' && retired.has(r.metadata.name));
  if (errors.length === 0 && lingering.length > 0) {
    report.outcome = 'invalid';
    report.findings = lingering.map(
      (r) => `${formatPosition(r.source)}  Skill/${r.metadata.name} would still be loaded after archiving`,
    );
    report.message =
      `archiveDir "${loaded.spec.archiveDir}" is read by the loader, so archived skills would stay active; ` +
      'use "archive" (or a dot-folder); nothing was pushed';
    return false;
  }
  if (errors.length === 0) return true;
  const before = new Set(
    loaded.findings.filter((f) => f.severity === 'error').map((f) => `${f.file}:${f.rule}:${f.message}`),
  );
  const introduced = errors.filter((f) => !before.has(`${f.file}:${f.rule}:${f.message}`));
  report.outcome = 'invalid';
  report.findings = errors.slice(0, 50).map(formatFinding);
  report.message =
    introduced.length > 0
      ? `the proposals would leave ${introduced.length} validation error(s); nothing was pushed`
      : `revision ${report.revision.slice(0, 12)} does not pass validation (${errors.length} error(s)); ` +
        'nothing is pushed until it does';
  return false;
}

// ---- helpers ----

function emptyReport(runId: string, opts: CuratorRunOptions, started: number): CuratorReport {
  return {
    runId,
    curator: opts.curator ?? 'default',
    trigger: opts.trigger ?? 'cli',
    dryRun: opts.dryRun ?? false,
    startedAt: started,
    finishedAt: started,
    outcome: 'failed' as RunOutcome,
    message: '',
    revision: '',
    counts: { skills: 0, runsInWindow: 0, proposals: 0, skipped: 0, stale: 0, flagged: 0, pinned: 0 },
    mostUsed: [],
    leastUsed: [],
    proposals: [],
    skipped: [],
    stale: [],
    flagged: [],
    findings: [],
    timings: {},
  };
}

function fillReport(report: CuratorReport, signals: Signals, decided: Plan): void {
  const usage = usageLines(signals.skills);
  report.counts = {
    skills: signals.skills.length,
    runsInWindow: signals.runsInWindow,
    proposals: decided.proposals.length,
    skipped: decided.skipped.length,
    stale: decided.stale.length,
    flagged: decided.flagged.length,
    pinned: signals.skills.filter((s) => s.pinned).length,
  };
  report.mostUsed = usage.most;
  report.leastUsed = usage.least;
  report.skipped = decided.skipped.slice(0, 500);
  report.stale = decided.stale
    .slice(0, 500)
    .map((s) => ({ name: s.name, lastUsed: s.lastUsed === null ? null : new Date(s.lastUsed).toISOString() }));
  report.flagged = decided.flagged.map((s) => ({
    name: s.name,
    runs: s.runs,
    failures: s.failures,
    failureRate: Number(s.failureRate.toFixed(3)),
  }));
}

function timer(report: CuratorReport): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const t = performance.now();
    report.timings[phase] = Math.round(t - last);
    last = t;
  };
}
