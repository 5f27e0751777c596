import { describe, it, expect, afterEach } from 'vitest';
import { createGitHubForge } from '../../../controllers/curator/forge/github/index.js';
import { createGiteaForge } from '../../../controllers/curator/forge/gitea/index.js';
import { createGitLabForge } from '../../../controllers/curator/forge/gitlab/index.js';
import { startForgeServer, summary, type ForgeServer } from './forge-server.js';

const servers: ForgeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const GH_HEADERS = ['authorization', 'accept', 'x-github-api-version', 'content-type'];

describe('GitHub forge', () => {
  it('speaks the pulls and issues-labels REST endpoints with a bearer token', async () => {
    const pr = {
      number: 7,
      html_url: 'https://github.example/acme/config/pull/7',
      state: 'open',
      merged_at: null,
      title: 'T',
      head: { ref: 'curator/2026-11-25' },
    };
    const s = await startForgeServer((r) => {
      if (r.method === 'GET' && r.path.startsWith('/repos/acme/config/pulls?')) return { status: 200, body: [] };
      if (r.method === 'POST' && r.path === '/repos/acme/config/pulls') return { status: 201, body: pr };
      if (r.method === 'PATCH') return { status: 200, body: pr };
      if (r.method === 'POST' && r.path === '/repos/acme/config/issues/7/labels')
        return { status: 200, body: [{ name: 'curator' }] };
      if (r.method === 'GET' && r.path === '/repos/acme/config/pulls/7')
        return { status: 200, body: { ...pr, state: 'closed', merged_at: '2026-11-25T10:00:00Z' } };
      return { status: 404, body: { message: 'Not Found' } };
    });
    servers.push(s);
    const forge = createGitHubForge({ url: s.url, repo: 'acme/config', token: 'ghp_secret' });
    expect(await forge.findPr('curator/2026-11-25', 'main')).toBeUndefined();
    const created = await forge.createPr({ branch: 'curator/2026-11-25', base: 'main', title: 'T', body: 'B' });
    expect(created).toEqual({ number: 7, url: pr.html_url, state: 'open', branch: 'curator/2026-11-25', title: 'T' });
    await forge.updatePr(created, { title: 'T2', body: 'B2' });
    await forge.addLabels(created, ['curator', 'skills']);
    expect(await forge.getPrState(created)).toBe('merged');
    const auth = {
      authorization: 'Bearer ghp_secret',
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    };
    expect(s.requests.map((r) => summary(r, GH_HEADERS))).toEqual([
      {
        method: 'GET',
        path: '/repos/acme/config/pulls?head=acme%3Acurator%2F2026-11-25&state=all',
        headers: { ...auth, 'content-type': undefined },
        body: undefined,
      },
      {
        method: 'POST',
        path: '/repos/acme/config/pulls',
        headers: { ...auth, 'content-type': 'application/json' },
        body: { title: 'T', head: 'curator/2026-11-25', base: 'main', body: 'B' },
      },
      {
        method: 'PATCH',
        path: '/repos/acme/config/pulls/7',
        headers: { ...auth, 'content-type': 'application/json' },
        body: { title: 'T2', body: 'B2' },
      },
      {
        method: 'POST',
        path: '/repos/acme/config/issues/7/labels',
        headers: { ...auth, 'content-type': 'application/json' },
        body: { labels: ['curator', 'skills'] },
      },
      {
        method: 'GET',
        path: '/repos/acme/config/pulls/7',
        headers: { ...auth, 'content-type': undefined },
        body: undefined,
      },
    ]);
  });

  it('turns an API error into a CaduceusError without the token', async () => {
    const s = await startForgeServer(() => ({ status: 401, body: { message: 'Bad credentials' } }));
    servers.push(s);
    const forge = createGitHubForge({ url: s.url, repo: 'acme/config', token: 'ghp_secret' });
    const err = await forge.findPr('curator/x', 'main').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ForgeRequestFailed', hint: 'check the token and its scopes' });
    expect(String((err as Error).message)).not.toContain('ghp_secret');
  });
});

describe('Gitea forge', () => {
  it('finds a PR by base and head, edits it, and labels it by id (creating a missing label)', async () => {
    const pr = {
      number: 3,
      html_url: 'http://gitea.local/acme/config/pulls/3',
      state: 'open',
      merged: false,
      title: 'T',
      head: { ref: 'curator/d' },
    };
    const s = await startForgeServer((r) => {
      if (r.method === 'GET' && r.path === '/api/v1/repos/acme/config/pulls/main/curator%2Fd')
        return { status: 404, body: { message: 'not found' } };
      if (r.method === 'POST' && r.path === '/api/v1/repos/acme/config/pulls') return { status: 201, body: pr };
      if (r.method === 'PATCH' && r.path === '/api/v1/repos/acme/config/pulls/3') return { status: 201, body: pr };
      if (r.method === 'GET' && r.path === '/api/v1/repos/acme/config/labels')
        return { status: 200, body: [{ id: 11, name: 'curator' }] };
      if (r.method === 'POST' && r.path === '/api/v1/repos/acme/config/labels')
        return { status: 201, body: { id: 12, name: 'skills' } };
      if (r.method === 'POST' && r.path === '/api/v1/repos/acme/config/issues/3/labels')
        return { status: 200, body: [] };
      if (r.method === 'GET' && r.path === '/api/v1/repos/acme/config/pulls/3')
        return { status: 200, body: { ...pr, state: 'closed', merged: false } };
      return { status: 404, body: {} };
    });
    servers.push(s);
    const forge = createGiteaForge({ url: s.url, repo: 'acme/config', token: 'gt_secret' });
    expect(await forge.findPr('curator/d', 'main')).toBeUndefined();
    const created = await forge.createPr({ branch: 'curator/d', base: 'main', title: 'T', body: 'B' });
    await forge.updatePr(created, { title: 'T', body: 'B2' });
    await forge.addLabels(created, ['curator', 'skills']);
    expect(await forge.getPrState(created)).toBe('closed');
    expect(s.requests.map((r) => summary(r, ['authorization']))).toEqual([
      {
        method: 'GET',
        path: '/api/v1/repos/acme/config/pulls/main/curator%2Fd',
        headers: { authorization: 'token gt_secret' },
        body: undefined,
      },
      {
        method: 'POST',
        path: '/api/v1/repos/acme/config/pulls',
        headers: { authorization: 'token gt_secret' },
        body: { title: 'T', head: 'curator/d', base: 'main', body: 'B' },
      },
      {
        method: 'PATCH',
        path: '/api/v1/repos/acme/config/pulls/3',
        headers: { authorization: 'token gt_secret' },
        body: { title: 'T', body: 'B2' },
      },
      {
        method: 'GET',
        path: '/api/v1/repos/acme/config/labels',
        headers: { authorization: 'token gt_secret' },
        body: undefined,
      },
      {
        method: 'POST',
        path: '/api/v1/repos/acme/config/labels',
        headers: { authorization: 'token gt_secret' },
        body: { name: 'skills', color: '#0e8a16' },
      },
      {
        method: 'POST',
        path: '/api/v1/repos/acme/config/issues/3/labels',
        headers: { authorization: 'token gt_secret' },
        body: { labels: [11, 12] },
      },
      {
        method: 'GET',
        path: '/api/v1/repos/acme/config/pulls/3',
        headers: { authorization: 'token gt_secret' },
        body: undefined,
      },
    ]);
  });
});

describe('GitLab forge', () => {
  it('speaks merge requests on the url-encoded project path with PRIVATE-TOKEN', async () => {
    const mr = {
      iid: 5,
      web_url: 'https://gitlab.local/grp/sub/config/-/merge_requests/5',
      state: 'opened',
      title: 'T',
      source_branch: 'curator/d',
    };
    const s = await startForgeServer((r) => {
      const base = '/api/v4/projects/grp%2Fsub%2Fconfig/merge_requests';
      if (r.method === 'GET' && r.path.startsWith(`${base}?`)) return { status: 200, body: [mr] };
      if (r.method === 'POST' && r.path === base) return { status: 201, body: mr };
      if (r.method === 'PUT' && r.path === `${base}/5`) return { status: 200, body: mr };
      if (r.method === 'GET' && r.path === `${base}/5`) return { status: 200, body: { ...mr, state: 'merged' } };
      return { status: 404, body: {} };
    });
    servers.push(s);
    const forge = createGitLabForge({ url: s.url, repo: 'grp/sub/config', token: 'glpat_secret' });
    expect(await forge.findPr('curator/d', 'main')).toEqual({
      number: 5,
      url: mr.web_url,
      state: 'open',
      branch: 'curator/d',
      title: 'T',
    });
    const created = await forge.createPr({ branch: 'curator/d', base: 'main', title: 'T', body: 'B' });
    await forge.updatePr(created, { title: 'T', body: 'B2' });
    await forge.addLabels(created, ['curator', 'skills']);
    expect(await forge.getPrState(created)).toBe('merged');
    const h = { 'private-token': 'glpat_secret' };
    const base = '/api/v4/projects/grp%2Fsub%2Fconfig/merge_requests';
    expect(s.requests.map((r) => summary(r, ['private-token']))).toEqual([
      {
        method: 'GET',
        path: `${base}?source_branch=curator%2Fd&target_branch=main&order_by=created_at&sort=desc`,
        headers: h,
        body: undefined,
      },
      {
        method: 'POST',
        path: base,
        headers: h,
        body: { source_branch: 'curator/d', target_branch: 'main', title: 'T', description: 'B' },
      },
      { method: 'PUT', path: `${base}/5`, headers: h, body: { title: 'T', description: 'B2' } },
      { method: 'PUT', path: `${base}/5`, headers: h, body: { add_labels: 'curator,skills' } },
      { method: 'GET', path: `${base}/5`, headers: h, body: undefined },
    ]);
  });
});
