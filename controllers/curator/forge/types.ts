// One interface for every forge the curator opens pull requests on. The run never asks
// which forge it talks to; each folder next to this file implements it.

export type PrState = 'open' | 'closed' | 'merged';

export interface PullRequest {
  number: number;
  url: string;
  state: PrState;
  branch: string;
  title: string;
}

export interface PrInput {
  branch: string;
  base: string;
  title: string;
  body: string;
}

export interface Forge {
  /** Human name for messages (`GitHub owner/repo`, `branch only`). */
  readonly description: string;
  /** The newest pull request whose head is `branch`, in any state. */
  findPr(branch: string, base: string): Promise<PullRequest | undefined>;
  createPr(input: PrInput): Promise<PullRequest>;
  updatePr(pr: PullRequest, input: Pick<PrInput, 'title' | 'body'>): Promise<void>;
  addLabels(pr: PullRequest, labels: string[]): Promise<void>;
  /** Current state of a known pull request (merged / closed without merging / open). */
  getPrState(pr: PullRequest): Promise<PrState>;
}
