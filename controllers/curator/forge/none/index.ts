// The `none` forge: branch only, for teams without a forge API. A "pull request" is the
// pushed curator branch itself: open while the branch exists on the remote, merged once
// its head is in the tracked branch, closed when the branch was deleted unmerged.
// `caduceus curator proposals` and `curator show` stand in for the review page.

import type { Forge, PrInput, PrState, PullRequest } from '../types.js';

export interface BranchState {
  /** Head of the branch on the remote, or undefined when it does not exist. */
  remoteSha(branch: string): Promise<string | undefined>;
  /** Whether `commit` is contained in the tracked branch. */
  merged(commit: string): Promise<boolean>;
  /** The last head the curator pushed to the branch, if known. */
  lastPushed(branch: string): string | undefined;
}

export function createNoneForge(state: BranchState, remote: string): Forge {
  const pr = (branch: string, title: string, s: PrState): PullRequest => ({
    number: 0,
    url: `${remote}#${branch}`,
    state: s,
    branch,
    title,
  });
  const stateOf = async (branch: string): Promise<PrState | undefined> => {
    const sha = await state.remoteSha(branch);
    if (sha) return (await state.merged(sha)) ? 'merged' : 'open';
    const last = state.lastPushed(branch);
    if (!last) return undefined;
    return (await state.merged(last)) ? 'merged' : 'closed';
  };
  return {
    description: 'branch only (forge: none)',
    async findPr(branch: string): Promise<PullRequest | undefined> {
      const s = await stateOf(branch);
      return s ? pr(branch, '', s) : undefined;
    },
    async createPr(input: PrInput): Promise<PullRequest> {
      return pr(input.branch, input.title, 'open');
    },
    async updatePr(): Promise<void> {},
    async addLabels(): Promise<void> {},
    async getPrState(p: PullRequest): Promise<PrState> {
      return (await stateOf(p.branch)) ?? 'closed';
    },
  };
}
