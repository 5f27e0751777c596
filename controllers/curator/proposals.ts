// Decides what to propose from the signals: consolidations of near-duplicate skills (found
// through MinHash/LSH candidates, confirmed with exact Jaccard), prunes of skills nobody
// ran for `pruneAfter`, stale marks, and failure-rate flags. Pinned skills never appear;
// proposals reviewers closed are skipped until one of their skills changes.

import { createHash } from 'node:crypto';
import type { CuratorAction, CuratorSpec } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';
import { parseDuration } from '../../reconciler/duration.js';
import { jaccard, shingles, signature } from './minhash.js';
import { candidatePairs } from './lsh.js';
import type { Signals } from './signals.js';
import type { Proposal, ProposalRecord, SkillSignal, SkippedProposal } from './types.js';

/** Proposals one run makes when the spec does not say: a pull request stays reviewable. */
export const DEFAULT_MAX_PROPOSALS = 50;

/** A failure rate needs this many runs in the window before it is flagged. */
export const MIN_RUNS_FOR_FAILURE_RATE = 3;

export interface PlanInput {
  signals: Signals;
  skills: ReadonlyMap<string, Resource<'Skill'>>;
  spec: CuratorSpec;
  now: number;
  /** Proposals closed without merging, by id. */
  closed: ReadonlyMap<string, ProposalRecord>;
}

export interface Plan {
  proposals: Proposal[];
  skipped: SkippedProposal[];
  stale: SkillSignal[];
  flagged: SkillSignal[];
}

export function proposalId(action: CuratorAction, skills: Record<string, string>): string {
  const names = Object.keys(skills).sort();
  const h = createHash('sha256').update(action);
  for (const n of names) h.update(`\0${n}\0${skills[n]}`);
  return h.digest('hex').slice(0, 12);
}

const day = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString().slice(0, 10));

export function plan(input: PlanInput): Plan {
  const { spec } = input;
  const out: Plan = { proposals: [], skipped: [], stale: [], flagged: [] };
  const involved = new Set<string>();
  if (spec.actions.includes('consolidate')) planConsolidations(input, out, involved);
  if (spec.actions.includes('prune')) planPrunes(input, out, involved);
  else markStale(input, out, involved);
  capProposals(out, spec.maxProposals ?? DEFAULT_MAX_PROPOSALS);
  if (spec.actions.includes('update')) {
    for (const s of input.signals.skills) {
      if (s.runs >= MIN_RUNS_FOR_FAILURE_RATE && s.failureRate > spec.thresholds.failureRate) out.flagged.push(s);
    }
  }
  return out;
}

/** Adds the proposal unless reviewers closed the same one (same skills, same spec hashes). */
function offer(input: PlanInput, out: Plan, p: Omit<Proposal, 'id' | 'files'>): boolean {
  const id = proposalId(p.action, p.skillHashes);
  const closed = input.closed.get(id);
  if (closed) {
    out.skipped.push({
      action: p.action,
      skills: p.skills,
      reason:
        `closed without merging${closed.prNumber ? ` in PR #${closed.prNumber}` : ` on branch ${closed.branch}`}; ` +
        'proposed again only when one of the skills changes',
    });
    return false;
  }
  out.proposals.push({ ...p, id, files: [] });
  return true;
}

function planConsolidations(input: PlanInput, out: Plan, involved: Set<string>): void {
  const threshold = input.spec.thresholds.similarity;
  const candidates = input.signals.skills.filter((s) => !s.pinned);
  const sets = candidates.map((s) => shingles((input.skills.get(s.name) as Resource<'Skill'>).spec));
  const pairs = candidatePairs(sets.map(signature));
  // Union-find over confirmed pairs: one proposal per group of similar skills.
  const parent = candidates.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const similarity = (i: number, j: number): number => jaccard(sets[i] as Set<number>, sets[j] as Set<number>);
  for (const [i, j] of pairs) if (similarity(i, j) >= threshold) parent[find(i)] = find(j);
  const groups = new Map<number, number[]>();
  for (const i of candidates.keys()) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const group = members.map((i) => candidates[i] as SkillSignal);
    // Keep the most used; ties go to the older skill, then to the name.
    group.sort((a, b) => b.runs - a.runs || a.firstSeen - b.firstSeen || (a.name < b.name ? -1 : 1));
    const keep = group[0] as SkillSignal;
    const merged = group.slice(1);
    const keepSpec = (input.skills.get(keep.name) as Resource<'Skill'>).spec;
    const conflict = paramConflict(
      keepSpec,
      merged.map((m) => (input.skills.get(m.name) as Resource<'Skill'>).spec),
      keep.name,
      merged.map((m) => m.name),
    );
    const calls = merged.find(
      (m) => m.referencedBy.includes(`Skill/${keep.name}`) || keep.referencedBy.includes(`Skill/${m.name}`),
    );
    const names = group.map((s) => s.name);
    const refusal = conflict ?? (calls && `${keep.name} and ${calls.name} call each other`);
    if (refusal) {
      out.skipped.push({ action: 'consolidate', skills: names, reason: refusal });
      continue;
    }
    // Exact Jaccard against the kept skill (a member joined through a third one has no pair of its own).
    const simOf = (m: SkillSignal): number => similarity(candidates.indexOf(keep), candidates.indexOf(m));
    const evidenceLines = [
      `keep ${keep.name}: ${keep.runs} runs in the window, last used ${day(keep.lastUsed)}`,
      ...merged.map(
        (m) =>
          `merge ${m.name}: similarity ${simOf(m).toFixed(2)} (threshold ${threshold}), ` +
          `${m.runs} runs in the window, last used ${day(m.lastUsed)}`,
      ),
      ...merged
        .filter((m) => m.referencedBy.length > 0)
        .map((m) => `references to ${m.name} rewritten in ${m.referencedBy.join(', ')}`),
    ];
    const offered = offer(input, out, {
      action: 'consolidate',
      skills: names,
      skillHashes: Object.fromEntries(group.map((s) => [s.name, s.hash])),
      title:
        merged.length === 1
          ? `merge skill ${(merged[0] as SkillSignal).name} into ${keep.name}`
          : `merge skills ${merged.map((m) => m.name).join(', ')} into ${keep.name}`,
      evidenceLines,
      evidence: {
        keep: { name: keep.name, runs: keep.runs, lastUsed: keep.lastUsed },
        merged: merged.map((m) => ({
          name: m.name,
          similarity: Number(simOf(m).toFixed(3)),
          runs: m.runs,
          lastUsed: m.lastUsed,
          referencedBy: m.referencedBy,
        })),
      },
    });
    if (offered) for (const n of names) involved.add(n);
  }
}

function paramConflict(
  keep: Resource<'Skill'>['spec'],
  others: Array<Resource<'Skill'>['spec']>,
  keepName: string,
  otherNames: string[],
): string | undefined {
  const types = new Map((keep.params ?? []).map((p) => [p.name, { type: p.type, from: keepName }]));
  for (const [i, other] of others.entries()) {
    const name = otherNames[i] as string;
    for (const p of other.params ?? []) {
      const t = types.get(p.name);
      if (t && t.type !== p.type) return `param ${p.name} is ${t.type} in ${t.from} but ${p.type} in ${name}`;
      if (!t) types.set(p.name, { type: p.type, from: name });
    }
  }
  return undefined;
}

function planPrunes(input: PlanInput, out: Plan, involved: Set<string>): void {
  const pruneAfter = parseDuration(input.spec.thresholds.pruneAfter);
  const staleAfter = parseDuration(input.spec.thresholds.staleAfter);
  // Longest idle first, so a capped run proposes the clearest cases and re-runs agree.
  const idleSince = (s: SkillSignal): number => s.lastUsed ?? s.firstSeen;
  const order = [...input.signals.skills].sort((a, b) => idleSince(a) - idleSince(b) || (a.name < b.name ? -1 : 1));
  for (const s of order) {
    if (involved.has(s.name)) continue;
    const idle = input.now - (s.lastUsed ?? s.firstSeen);
    if (idle < staleAfter) continue;
    const oldEnough = input.now - s.firstSeen >= pruneAfter;
    if (idle < pruneAfter || !oldEnough) {
      out.stale.push(s);
      continue;
    }
    if (s.pinned) {
      out.skipped.push({ action: 'prune', skills: [s.name], reason: `pinned (${'caduceus.dev/pinned'}: "true")` });
      continue;
    }
    if (s.referencedBy.length > 0) {
      out.skipped.push({ action: 'prune', skills: [s.name], reason: `referenced by ${s.referencedBy.join(', ')}` });
      out.stale.push(s);
      continue;
    }
    const archive = input.spec.archive ? `moved to ${input.spec.archiveDir}/` : 'deleted (archive: false)';
    offer(input, out, {
      action: 'prune',
      skills: [s.name],
      skillHashes: { [s.name]: s.hash },
      title: `${input.spec.archive ? 'archive' : 'remove'} unused skill ${s.name}`,
      evidenceLines: [
        `no runs since ${day(s.lastUsed)} (pruneAfter ${input.spec.thresholds.pruneAfter}); ` +
          `first committed ${day(s.firstSeen)}`,
        `referenced by no task, skill, proxy or gateway policy; ${archive}`,
      ],
      evidence: {
        runs: s.runs,
        lastUsed: s.lastUsed,
        firstSeen: s.firstSeen,
        pruneAfter: input.spec.thresholds.pruneAfter,
      },
    });
  }
}

function markStale(input: PlanInput, out: Plan, involved: Set<string>): void {
  const staleAfter = parseDuration(input.spec.thresholds.staleAfter);
  for (const s of input.signals.skills) {
    if (!involved.has(s.name) && input.now - (s.lastUsed ?? s.firstSeen) >= staleAfter) out.stale.push(s);
  }
}

/** Keeps the first `max` proposals (consolidations come first); the rest are skipped for this run. */
function capProposals(out: Plan, max: number): void {
  for (const p of out.proposals.splice(max)) {
    out.skipped.push({
      action: p.action,
      skills: p.skills,
      reason: `over maxProposals (${max}) for one run; proposed once earlier ones are reviewed`,
    });
  }
}
