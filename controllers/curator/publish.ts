// The publishing half of a curator run and of a skill proposal: write the changed files
// into the curator's clone, commit them on the proposal branch (one date per day, so a
// re-run makes byte-identical commits), push with lease only when the branch differs,
// open or update the pull request, and record the proposals with their commits and diffs.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { CuratorStore } from './store.js';
import type { GitWork } from './git-work.js';
import { createForge, type Forge, type PullRequest } from './forge/index.js';
import { commitMessage, prBody, PR_TITLE } from './report.js';
import type { Plan } from './proposals.js';
import { isAgentProposal, type CuratorReport, type ProposalRecord } from './types.js';
import type { Applied, CuratorEnv, Loaded } from './run.js';

/** The commit date of proposals made on the day of `now` (midnight UTC). */
export function dayStamp(now: number): string {
  return new Date(Math.floor(now / 86_400_000) * 86_400_000).toISOString();
}

/** Writes (or removes, for null) config-relative files into the clone; returns their repository paths. */
export function writeChanges(
  git: GitWork,
  path: string,
  changes: ReadonlyArray<readonly [string, string | null]>,
): string[] {
  const repoPath = (rel: string): string => (path ? posix.join(path, rel) : rel);
  return changes.map(([rel, text]) => {
    const abs = join(git.dir, ...repoPath(rel).split('/'));
    if (text === null) rmSync(abs, { force: true });
    else {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
    }
    return repoPath(rel);
  });
}

/**
 * Finds the pull request of `branch` and updates it when `changed`, or opens it (with the
 * labels) when there is none open. Returns it and whether it was newly opened.
 */
export async function upsertPr(
  forge: Forge,
  git: GitWork,
  pr: { branch: string; title: string; body: string; labels: string[]; changed: boolean },
): Promise<{ pr: PullRequest; opened: boolean }> {
  const found = await forge.findPr(pr.branch, git.tracked);
  if (found && found.state === 'open') {
    if (pr.changed) await forge.updatePr(found, { title: pr.title, body: pr.body });
    return { pr: found, opened: false };
  }
  const created = await forge.createPr({ branch: pr.branch, base: git.tracked, title: pr.title, body: pr.body });
  await forge.addLabels(created, pr.labels);
  return { pr: created, opened: true };
}

export function makeForge(
  env: CuratorEnv,
  spec: CuratorSpec,
  git: GitWork,
  cstore: CuratorStore,
  curator: string,
): Forge {
  const branchHeads = (): Map<string, string> => {
    const heads = new Map<string, { pos: number; commit: string }>();
    for (const p of cstore.proposals({ curator })) {
      const h = heads.get(p.branch);
      if (p.commit && (!h || p.position >= h.pos)) heads.set(p.branch, { pos: p.position, commit: p.commit });
    }
    return new Map([...heads].map(([b, h]) => [b, h.commit]));
  };
  return createForge(
    spec.forge,
    {
      remoteSha: (b) => git.remoteSha(b),
      merged: async (c) => (await git.hasCommit(c)) && git.isAncestor(c, `refs/remotes/origin/${git.tracked}`),
      lastPushed: (b) => branchHeads().get(b),
    },
    'repo' in env.source ? env.source.repo : '',
    { env: env.env ?? process.env, baseDir: env.secretBaseDir },
  );
}

/** Commits each proposal on the curator branch and pushes it when it differs from the remote. */
export async function publishBranch(
  git: GitWork,
  path: string,
  cstore: CuratorStore,
  loaded: Loaded,
  applied: Applied[],
  report: CuratorReport,
  now: number,
): Promise<string> {
  const tip = report.revision;
  const branch = await chooseBranch(git, cstore, loaded, now);
  report.branch = branch;
  await git.checkout(tip, branch);
  // One date per day: a re-run the same day on the same tip makes byte-identical commits.
  const date = dayStamp(now);
  for (const a of applied) await git.commit(writeChanges(git, path, a.changes), commitMessage(a.proposal), date);
  const head = await git.head();
  const remote = await git.remoteSha(branch);
  if (remote && (await sameProposals(git, tip, remote, head, applied))) {
    // Same proposals on the same tip with the same result: keep the remote commits as they are.
    await git.checkout(remote, branch);
    report.message = `branch ${branch} is up to date`;
    report.outcome = 'unchanged';
  } else {
    await git.pushBranch(branch, loaded.spec.branchPrefix, remote);
    report.outcome = 'proposed';
  }
  return branch;
}

async function sameProposals(
  git: GitWork,
  tip: string,
  remote: string,
  head: string,
  applied: Applied[],
): Promise<boolean> {
  const commits = await git.commitsSince(tip, remote);
  if (commits.length !== applied.length || commits.length === 0) return false;
  if ((await git.parentOf((commits[0] as { sha: string }).sha)) !== tip) return false;
  if (commits.some((c, i) => c.proposalId !== applied[i]?.proposal.id)) return false;
  return (await git.tree(remote)) === (await git.tree(head));
}

/** The open proposals' branch when there is one, else `<prefix>/<date>` (suffixed when taken). */
async function chooseBranch(git: GitWork, cstore: CuratorStore, loaded: Loaded, now: number): Promise<string> {
  const mine = cstore.proposals({ curator: loaded.curator });
  const open = mine.filter((p) => p.state === 'open' && !isAgentProposal(p.action));
  if (open.length > 0) return (open[open.length - 1] as ProposalRecord).branch;
  const taken = new Set([...mine.map((p) => p.branch), ...(await git.remoteBranches())]);
  const base = `${loaded.spec.branchPrefix}/${new Date(now).toISOString().slice(0, 10)}`;
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

export async function publishPr(
  forge: Forge,
  git: GitWork,
  cstore: CuratorStore,
  loaded: Loaded,
  decided: Plan,
  applied: Applied[],
  branch: string,
  report: CuratorReport,
  now: number,
): Promise<void> {
  const body = prBody({
    proposals: decided.proposals,
    stale: decided.stale,
    flagged: decided.flagged,
    thresholds: loaded.spec.thresholds,
    revision: report.revision,
  });
  const bodyHash = createHash('sha256').update(`${PR_TITLE}\0${body}`).digest('hex');
  const last = cstore.lastReport(loaded.curator);
  // Recorded before talking to the forge, so a failing forge leaves the branch known as ours.
  await recordProposals(git, cstore, loaded, applied, branch, undefined, now);
  const changed = report.outcome !== 'unchanged' || last?.prBodyHash !== bodyHash || last?.branch !== branch;
  const { pr, opened } = await upsertPr(forge, git, {
    branch,
    title: PR_TITLE,
    body,
    labels: loaded.spec.labels,
    changed,
  });
  if (opened && report.outcome === 'unchanged') report.outcome = 'proposed';
  report.pr = { number: pr.number, url: pr.url };
  report.prBodyHash = bodyHash;
  await recordProposals(git, cstore, loaded, applied, branch, pr, now);
}

async function recordProposals(
  git: GitWork,
  cstore: CuratorStore,
  loaded: Loaded,
  applied: Applied[],
  branch: string,
  pr: PullRequest | undefined,
  now: number,
): Promise<void> {
  const commits = await git.commitsSince(await git.trackedTip(), await git.head());
  const current = new Set(applied.map((a) => a.proposal.id));
  const existing = new Map(cstore.proposals({ curator: loaded.curator }).map((p) => [p.id, p]));
  const records: ProposalRecord[] = [];
  for (let i = 0; i < applied.length; i++) {
    const p = (applied[i] as Applied).proposal;
    const commit = commits.find((c) => c.proposalId === p.id)?.sha ?? null;
    records.push({
      id: p.id,
      curator: loaded.curator,
      action: p.action,
      skills: p.skills,
      skillHashes: p.skillHashes,
      state: 'open',
      branch,
      commit,
      prNumber: pr?.number || null,
      prUrl: pr?.url || null,
      title: p.title,
      evidence: { ...p.evidence, lines: p.evidenceLines },
      files: p.files,
      diff: commit ? await git.show(commit) : '',
      position: i,
      createdAt: existing.get(p.id)?.createdAt ?? now,
      updatedAt: now,
    });
  }
  // Open proposals no longer made (a skill was used again, pinned, …) were never reviewed: forget them.
  const dropped = [...existing.values()]
    .filter((p) => p.state === 'open' && !isAgentProposal(p.action) && !current.has(p.id))
    .map((p) => p.id);
  cstore.store.tx(() => {
    for (const r of records) cstore.upsertProposal(r);
    cstore.deleteProposals(dropped);
  });
}
