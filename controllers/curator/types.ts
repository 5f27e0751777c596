// The curator's own vocabulary: skill signals, proposals, their stored records and the
// report every run writes. Shared by the curator's files only.

import type { CuratorAction } from '../../reconciler/specs.js';

export type ProposalState = 'open' | 'merged' | 'closed';

/**
 * What a stored proposal does: a curator action, or one the agent asked for through the
 * runner (each on a branch of its own, never the curator run's): `create` a new skill,
 * `revise` an existing skill a new one was similar to, `memory` notes for the memory file.
 */
export type ProposalAction = CuratorAction | 'create' | 'revise' | 'memory';

/** Proposals that live on branches of their own, outside the curator run's branch and its bookkeeping. */
export function isAgentProposal(action: ProposalAction): boolean {
  return action === 'create' || action === 'revise' || action === 'memory';
}

/** What the curator knows about one active skill. */
export interface SkillSignal {
  name: string;
  /** Config-relative file holding the skill. */
  file: string;
  hash: string;
  version: string;
  pinned: boolean;
  runs: number;
  failures: number;
  failureRate: number;
  /** Epoch ms of the last run ever (any window), or null if never run. */
  lastUsed: number | null;
  /** Epoch ms the skill's file was first committed (or its mtime outside git). */
  firstSeen: number;
  /** `Task/x`, `GatewayPolicy/y`, `Proxy/z`, `Skill/w` that name this skill. */
  referencedBy: string[];
}

/** One change the curator wants, before it becomes a commit. */
export interface Proposal {
  id: string;
  action: CuratorAction;
  /** Every skill the proposal touches; for consolidate the kept one first. */
  skills: string[];
  skillHashes: Record<string, string>;
  title: string;
  /** Human lines for the commit body and the PR table. */
  evidenceLines: string[];
  evidence: Record<string, unknown>;
  /** Filled when the edit is applied: config-relative files touched. */
  files: string[];
}

export interface ProposalRecord {
  id: string;
  curator: string;
  action: ProposalAction;
  skills: string[];
  skillHashes: Record<string, string>;
  state: ProposalState;
  branch: string;
  commit: string | null;
  prNumber: number | null;
  prUrl: string | null;
  title: string;
  evidence: Record<string, unknown>;
  files: string[];
  diff: string;
  /** Order of the proposal's commit on its branch. */
  position: number;
  createdAt: number;
  updatedAt: number;
}

export interface SkippedProposal {
  action: CuratorAction | 'any';
  skills: string[];
  reason: string;
}

export type RunOutcome = 'proposed' | 'unchanged' | 'nothing' | 'dry-run' | 'invalid' | 'failed' | 'busy';

export interface UsageLine {
  name: string;
  runs: number;
  failureRate: number;
  lastUsed: string | null;
}

export interface CuratorReport {
  runId: string;
  curator: string;
  trigger: string;
  dryRun: boolean;
  startedAt: number;
  finishedAt: number;
  outcome: RunOutcome;
  /** Why, for invalid / failed / nothing. */
  message: string;
  revision: string;
  counts: {
    skills: number;
    runsInWindow: number;
    proposals: number;
    skipped: number;
    stale: number;
    flagged: number;
    pinned: number;
  };
  mostUsed: UsageLine[];
  leastUsed: UsageLine[];
  proposals: Array<{ id: string; action: CuratorAction; skills: string[]; title: string; files: string[] }>;
  skipped: SkippedProposal[];
  stale: Array<{ name: string; lastUsed: string | null }>;
  flagged: Array<{ name: string; runs: number; failures: number; failureRate: number }>;
  /** Validation errors of the resulting tree, when outcome is invalid. */
  findings: string[];
  branch?: string;
  pr?: { number: number; url: string };
  /** sha256 of the pull-request body last written, so an unchanged body is not written again. */
  prBodyHash?: string;
  /** Unified diff, for dry-runs. */
  diff?: string;
  timings: Record<string, number>;
}
