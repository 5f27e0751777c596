// POST /hooks/git on a real HTTP server on 127.0.0.1, signed the way each forge signs:
// GitHub (X-Hub-Signature-256), Gitea/Forgejo (X-Gitea-Signature), GitLab (X-Gitlab-Token).

import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { startServer } from '../../app/server.js';
import { createGitWebhookRoute, type PushInfo } from '../../app/webhook.js';
import { createLogger } from '../../reconciler/log.js';
import { Registry } from 'prom-client';

const SECRET = 'shared-webhook-secret';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(
  secret: string | undefined,
  opts: { maxBodyBytes?: number } = {},
): Promise<{ url: string; pushes: PushInfo[]; logs: string[] }> {
  const pushes: PushInfo[] = [];
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const route = createGitWebhookRoute({ secret: () => secret, onPush: (p) => pushes.push(p), log, ...opts });
  const s = await startServer({
    listen: '127.0.0.1:0',
    routes: [route],
    metrics: new Registry(),
    ready: () => true,
    status: () => ({}),
    log,
  });
  closers.push(s.close);
  return { url: `${s.url}/hooks/git`, pushes, logs };
}

const push = JSON.stringify({
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: 'a'.repeat(40),
  object_kind: 'push',
});
const hmac = (body: string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('hex');

function github(body: string, delivery: string, sig = `sha256=${hmac(body)}`, event = 'push'): RequestInit {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': sig,
    },
    body,
  };
}

describe('git webhook receiver', () => {
  it('accepts a GitHub push with a valid X-Hub-Signature-256 and reports ref and commit', async () => {
    const { url, pushes } = await serve(SECRET);
    const r = await fetch(url, github(push, 'gh-1'));
    expect(r.status).toBe(202);
    expect(pushes).toEqual([{ provider: 'github', ref: 'refs/heads/main', after: 'a'.repeat(40), deliveryId: 'gh-1' }]);
  });

  it('accepts GitHub form-encoded payloads, signed over the raw body', async () => {
    const { url, pushes } = await serve(SECRET);
    const body = new URLSearchParams({ payload: push }).toString();
    const r = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-github-delivery': 'gh-form',
        'x-hub-signature-256': `sha256=${hmac(body)}`,
      },
      body,
    });
    expect(r.status).toBe(202);
    expect(pushes[0]?.ref).toBe('refs/heads/main');
  });

  it('accepts a Gitea push with X-Gitea-Signature and a Forgejo push with X-Forgejo-Signature', async () => {
    const { url, pushes } = await serve(SECRET);
    // Gitea also sends GitHub-style event headers; its own signature is the one checked.
    const gitea = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitea-event': 'push',
        'x-gitea-delivery': 'gt-1',
        'x-github-event': 'push',
        'x-gitea-signature': hmac(push),
      },
      body: push,
    });
    expect(gitea.status).toBe(202);
    const forgejo = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forgejo-event': 'push',
        'x-forgejo-delivery': 'fj-1',
        'x-forgejo-signature': hmac(push),
        'x-gitea-signature': hmac(push),
      },
      body: push,
    });
    expect(forgejo.status).toBe(202);
    expect(pushes.map((p) => [p.provider, p.deliveryId])).toEqual([
      ['gitea', 'gt-1'],
      ['gitea', 'fj-1'],
    ]);
  });

  it('accepts a GitLab Push Hook whose X-Gitlab-Token equals the secret', async () => {
    const { url, pushes } = await serve(SECRET);
    const r = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-event-uuid': 'gl-1',
        'x-gitlab-token': SECRET,
      },
      body: push,
    });
    expect(r.status).toBe(202);
    expect(pushes).toEqual([{ provider: 'gitlab', ref: 'refs/heads/main', after: 'a'.repeat(40), deliveryId: 'gl-1' }]);
  });

  it('refuses a bad or missing signature with 401, logs it and does not fetch', async () => {
    const { url, pushes, logs } = await serve(SECRET);
    const cases: RequestInit[] = [
      github(push, 'bad-1', `sha256=${hmac(push, 'wrong-secret')}`),
      github(push, 'bad-2', `sha256=${'0'.repeat(64)}`),
      { method: 'POST', headers: { 'x-github-event': 'push', 'x-github-delivery': 'bad-3' }, body: push },
      github(push.replace('main', 'evil'), 'bad-4', `sha256=${hmac(push)}`), // signature of another body
      { method: 'POST', headers: { 'x-gitea-event': 'push', 'x-gitea-signature': hmac(push, 'nope') }, body: push },
      { method: 'POST', headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': `${SECRET}x` }, body: push },
      { method: 'POST', headers: { 'x-gitlab-event': 'Push Hook' }, body: push },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: push },
    ];
    for (const c of cases) expect((await fetch(url, c)).status).toBe(401);
    expect(pushes).toEqual([]);
    expect(logs.filter((l) => l.includes('signature does not match'))).toHaveLength(cases.length);
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  it('ignores a replayed delivery id without fetching again', async () => {
    const { url, pushes } = await serve(SECRET);
    expect((await fetch(url, github(push, 'same-id'))).status).toBe(202);
    const replay = await fetch(url, github(push, 'same-id'));
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ignored: 'duplicate delivery' });
    expect(pushes).toHaveLength(1);
    // A forged request with a known id does not count as that delivery, nor poison a new one.
    expect((await fetch(url, github(push, 'fresh-id', `sha256=${'1'.repeat(64)}`))).status).toBe(401);
    expect((await fetch(url, github(push, 'fresh-id'))).status).toBe(202);
    expect(pushes).toHaveLength(2);
  });

  it('acknowledges a ping and other events without fetching', async () => {
    const { url, pushes } = await serve(SECRET);
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const r = await fetch(url, github(ping, 'ping-1', `sha256=${hmac(ping)}`, 'ping'));
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ignored: 'event ping' });
    const tag = await fetch(url, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': SECRET },
      body: push,
    });
    expect(tag.status).toBe(200);
    expect(pushes).toEqual([]);
  });

  it('refuses every request while no secret is configured', async () => {
    const { url, pushes } = await serve(undefined);
    const r = await fetch(url, github(push, 'x-1'));
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toContain('CADUCEUS_WEBHOOK_SECRET');
    const empty = await serve('');
    expect((await fetch(empty.url, github(push, 'x-2', `sha256=${hmac(push, '')}`))).status).toBe(503);
    expect(pushes).toEqual([]);
  });

  it('refuses an oversized body with 413', async () => {
    const { url, pushes } = await serve(SECRET, { maxBodyBytes: 64 * 1024 });
    const big = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(100 * 1024) });
    const r = await fetch(url, github(big, 'big-1', `sha256=${hmac(big)}`));
    expect(r.status).toBe(413);
    expect(pushes).toEqual([]);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    const { url, pushes } = await serve(SECRET);
    expect((await fetch(url, github('not json', 'nj-1', `sha256=${hmac('not json')}`))).status).toBe(400);
    expect(pushes).toEqual([]);
  });
});
