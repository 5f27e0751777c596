// GitHub REST pull requests: find by head (`owner:branch`, any state), create, update,
// label through the issues API, read merged/closed state. Works with GitHub Enterprise
// through forge.url (`https://host/api/v3`).

import type { Forge, PrInput, PrState, PullRequest } from '../types.js';
import { jsonRequest, splitRepo, trimSlash } from '../http.js';

interface GhPull {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  title: string;
  head: { ref: string };
}

export function createGitHubForge(opts: { url?: string; repo?: string; token: string }): Forge {
  const [owner, repo] = splitRepo(opts.repo, 'the GitHub forge');
  const api = trimSlash(opts.url ?? 'https://api.github.com');
  const base = `${api}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  const headers = {
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${opts.token}`,
    'x-github-api-version': '2022-11-28',
    'user-agent': 'caduceus-curator',
  };
  const toPr = (p: GhPull): PullRequest => ({
    number: p.number,
    url: p.html_url,
    state: p.state === 'open' ? 'open' : p.merged_at ? 'merged' : 'closed',
    branch: p.head.ref,
    title: p.title,
  });
  return {
    description: `GitHub ${owner}/${repo}`,
    async findPr(branch: string): Promise<PullRequest | undefined> {
      const q = new URLSearchParams({ head: `${owner}:${branch}`, state: 'all' });
      const res = await jsonRequest<GhPull[]>('GET', `${base}/pulls?${q}`, headers);
      const first = res.body[0];
      return first ? toPr(first) : undefined;
    },
    async createPr(input: PrInput): Promise<PullRequest> {
      const res = await jsonRequest<GhPull>('POST', `${base}/pulls`, headers, {
        title: input.title,
        head: input.branch,
        base: input.base,
        body: input.body,
      });
      return toPr(res.body);
    },
    async updatePr(pr: PullRequest, input: Pick<PrInput, 'title' | 'body'>): Promise<void> {
      await jsonRequest('PATCH', `${base}/pulls/${pr.number}`, headers, { title: input.title, body: input.body });
    },
    async addLabels(pr: PullRequest, labels: string[]): Promise<void> {
      if (labels.length > 0) await jsonRequest('POST', `${base}/issues/${pr.number}/labels`, headers, { labels });
    },
    async getPrState(pr: PullRequest): Promise<PrState> {
      return toPr((await jsonRequest<GhPull>('GET', `${base}/pulls/${pr.number}`, headers)).body).state;
    },
  };
}
