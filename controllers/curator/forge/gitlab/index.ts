// GitLab merge requests (`/api/v4/projects/<url-encoded path>/merge_requests`,
// `PRIVATE-TOKEN`): find by source branch, create with labels, update, add labels, and
// read opened / closed / merged.

import type { Forge, PrInput, PrState, PullRequest } from '../types.js';
import { jsonRequest, trimSlash } from '../http.js';
import { CaduceusError } from '../../../../reconciler/errors.js';

interface GlMr {
  iid: number;
  web_url: string;
  state: 'opened' | 'closed' | 'merged' | 'locked';
  title: string;
  source_branch: string;
}

export function createGitLabForge(opts: { url?: string; repo?: string; token: string }): Forge {
  if (!opts.repo?.includes('/'))
    throw new CaduceusError('ForgeMisconfigured', 'the GitLab forge needs forge.repo as group/project', {
      field: 'spec.forge.repo',
    });
  const base = `${trimSlash(opts.url ?? 'https://gitlab.com')}/api/v4/projects/${encodeURIComponent(opts.repo)}`;
  const headers = { accept: 'application/json', 'private-token': opts.token };
  const toPr = (m: GlMr): PullRequest => ({
    number: m.iid,
    url: m.web_url,
    state: m.state === 'merged' ? 'merged' : m.state === 'closed' ? 'closed' : 'open',
    branch: m.source_branch,
    title: m.title,
  });
  return {
    description: `GitLab ${opts.repo}`,
    async findPr(branch: string, target: string): Promise<PullRequest | undefined> {
      const q = new URLSearchParams({
        source_branch: branch,
        target_branch: target,
        order_by: 'created_at',
        sort: 'desc',
      });
      const first = (await jsonRequest<GlMr[]>('GET', `${base}/merge_requests?${q}`, headers)).body[0];
      return first ? toPr(first) : undefined;
    },
    async createPr(input: PrInput): Promise<PullRequest> {
      const res = await jsonRequest<GlMr>('POST', `${base}/merge_requests`, headers, {
        source_branch: input.branch,
        target_branch: input.base,
        title: input.title,
        description: input.body,
      });
      return toPr(res.body);
    },
    async updatePr(pr: PullRequest, input: Pick<PrInput, 'title' | 'body'>): Promise<void> {
      await jsonRequest('PUT', `${base}/merge_requests/${pr.number}`, headers, {
        title: input.title,
        description: input.body,
      });
    },
    async addLabels(pr: PullRequest, labels: string[]): Promise<void> {
      if (labels.length > 0)
        await jsonRequest('PUT', `${base}/merge_requests/${pr.number}`, headers, { add_labels: labels.join(',') });
    },
    async getPrState(pr: PullRequest): Promise<PrState> {
      return toPr((await jsonRequest<GlMr>('GET', `${base}/merge_requests/${pr.number}`, headers)).body).state;
    },
  };
}
