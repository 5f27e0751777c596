// Gitea / Forgejo pull requests (`/api/v1`, `Authorization: token …`): find by base and
// head, create, edit, and labels by id (names are resolved, missing labels created).

import type { Forge, PrInput, PrState, PullRequest } from '../types.js';
import { jsonRequest, splitRepo, trimSlash } from '../http.js';

interface GtPull {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  merged: boolean;
  title: string;
  head: { ref: string };
}

export function createGiteaForge(opts: { url?: string; repo?: string; token: string }): Forge {
  const [owner, repo] = splitRepo(opts.repo, 'the Gitea forge');
  const root = trimSlash(opts.url ?? 'http://127.0.0.1:3000');
  const base = `${root}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  const headers = { accept: 'application/json', authorization: `token ${opts.token}` };
  const toPr = (p: GtPull): PullRequest => ({
    number: p.number,
    url: p.html_url,
    state: p.state === 'open' ? 'open' : p.merged ? 'merged' : 'closed',
    branch: p.head.ref,
    title: p.title,
  });
  return {
    description: `Gitea ${owner}/${repo}`,
    async findPr(branch: string, baseBranch: string): Promise<PullRequest | undefined> {
      const res = await jsonRequest<GtPull>(
        'GET',
        `${base}/pulls/${encodeURIComponent(baseBranch)}/${encodeURIComponent(branch)}`,
        headers,
        undefined,
        [404],
      );
      return res.status === 404 ? undefined : toPr(res.body);
    },
    async createPr(input: PrInput): Promise<PullRequest> {
      const res = await jsonRequest<GtPull>('POST', `${base}/pulls`, headers, {
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
      if (labels.length === 0) return;
      const existing = (await jsonRequest<Array<{ id: number; name: string }>>('GET', `${base}/labels`, headers)).body;
      const ids: number[] = [];
      for (const name of labels) {
        let label = existing.find((l) => l.name === name);
        if (!label)
          label = (
            await jsonRequest<{ id: number; name: string }>('POST', `${base}/labels`, headers, {
              name,
              color: '#0e8a16',
            })
          ).body;
        ids.push(label.id);
      }
      await jsonRequest('POST', `${base}/issues/${pr.number}/labels`, headers, { labels: ids });
    },
    async getPrState(pr: PullRequest): Promise<PrState> {
      return toPr((await jsonRequest<GtPull>('GET', `${base}/pulls/${pr.number}`, headers)).body).state;
    },
  };
}
