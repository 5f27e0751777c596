// POST /hooks/git on a real HTTP server on 127.0.0.1, signed the way each forge signs:
// GitHub (X-Hub-Signature-256), Gitea/Forgejo (X-Gitea-Signature), GitLab (X-Gitlab-Token).

import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { startServer } from '../../app/server.js';
import { createGitWebhookRoute, type PushInfo } from '../../app/webhook.js';
import { createLogger } from '../../reconciler/log.js';
import { Registry } from 'prom-client';
import { StateStore } from '../../reconciler/state/store.js';
import { DeliveryLog } from '../../app/webhook-deliveries.js';
import { tempDir } from '../helpers/temp.js';

const SECRET = 'shared-webhook-secret';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(
  secret: string | undefined,
  opts: { maxBodyBytes?: number; store?: StateStore; secretName?: string } = {},
): Promise<{ url: string; pushes: PushInfo[]; logs: string[] }> {
  const pushes: PushInfo[] = [];
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const store = opts.store ?? new StateStore({ stateDir: ':memory:' });
  if (!opts.store) closers.push(async () => store.close());
  const route = createGitWebhookRoute({
    secret: () => secret,
    onPush: (p) => pushes.push(p),
    log,
    deliveries: new DeliveryLog(store),
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    ...(opts.secretName !== undefined ? { secretName: opts.secretName } : {}),
  });
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

  it('refuses a replayed delivery id whatever its body, without fetching again', async () => {
    const { url, pushes } = await serve(SECRET);
    expect((await fetch(url, github(push, 'same-id'))).status).toBe(202);
    const replay = await fetch(url, github(push, 'same-id'));
    expect(replay.status).toBe(409);
    expect(await replay.json()).toEqual({ error: 'delivery same-id was received before' });
    // Signed anew, a different body under the same id is the same delivery.
    const other = JSON.stringify({ ref: 'refs/heads/main', after: 'b'.repeat(40) });
    expect((await fetch(url, github(other, 'same-id'))).status).toBe(409);
    expect(pushes).toHaveLength(1);
    // A forged request with a known id does not count as that delivery, nor poison a new one.
    expect((await fetch(url, github(push, 'fresh-id', `sha256=${'1'.repeat(64)}`))).status).toBe(401);
    expect((await fetch(url, github(push, 'fresh-id'))).status).toBe(202);
    expect(pushes).toHaveLength(2);
  });

  it('refuses a replay after a restart, and after thousands of other deliveries', async () => {
    const stateDir = tempDir();
    const first = new StateStore({ stateDir });
    const a = await serve(SECRET, { store: first });
    expect((await fetch(a.url, github(push, 'before-restart'))).status).toBe(202);
    const log = new DeliveryLog(first);
    for (let i = 0; i < 5000; i++) log.firstTime(`github:filler-${i}`);
    first.close();
    const second = new StateStore({ stateDir });
    closers.push(async () => second.close());
    const b = await serve(SECRET, { store: second });
    expect((await fetch(b.url, github(push, 'before-restart'))).status).toBe(409);
    expect(b.pushes).toEqual([]);
  });

  it.each([
    ['GitHub', { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(push)}` }, 'X-GitHub-Delivery'],
    ['Gitea', { 'x-gitea-event': 'push', 'x-gitea-signature': hmac(push) }, 'X-Gitea-Delivery'],
    ['Forgejo', { 'x-forgejo-event': 'push', 'x-forgejo-signature': hmac(push) }, 'X-Gitea-Delivery'],
    ['GitLab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET }, 'X-Gitlab-Event-UUID'],
  ])('refuses a signed %s push without a delivery id', async (_forge, headers, named) => {
    const { url, pushes } = await serve(SECRET);
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: push,
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain(named);
    expect(pushes).toEqual([]);
  });

  it('acknowledges a ping and other events without fetching', async () => {
    const { url, pushes } = await serve(SECRET);
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const r = await fetch(url, github(ping, 'ping-1', `sha256=${hmac(ping)}`, 'ping'));
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ignored: 'event ping' });
    const tag = await fetch(url, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'tag-1' },
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
    const r = await fetch(url, github('not json', 'nj-1', `sha256=${hmac('not json')}`));
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'body is not a JSON object' });
    expect(pushes).toEqual([]);
  });

  it('answers each refusal with its reason and logs provider, reason and remote address', async () => {
    const { url, logs } = await serve(SECRET);
    const bad = await fetch(url, github(push, 'why-1', `sha256=${'0'.repeat(64)}`));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'signature check failed: bad X-Hub-Signature-256' });
    expect(logs.filter((l) => l.includes('refused'))).toEqual([
      expect.stringContaining(
        'git webhook refused: signature does not match  ' +
          'provider=github reason="bad X-Hub-Signature-256" remote=127.0.0.1',
      ),
    ]);
    const noId = await fetch(url, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(push)}` },
      body: push,
    });
    expect(await noId.json()).toEqual({ error: 'missing X-GitHub-Delivery: every github delivery carries one' });
    expect(logs.at(-1)).toContain('git webhook refused: no delivery id  provider=github');
    expect((await fetch(url, github(push, 'twice'))).status).toBe(202);
    expect((await fetch(url, github(push, 'twice'))).status).toBe(409);
    expect(logs.at(-1)).toContain(
      'git webhook refused: delivery received before (a replay)  provider=github delivery=twice remote=127.0.0.1',
    );
  });

  it('answers an accepted push with its delivery id, and reports only a ref and commit given as text', async () => {
    const { url, pushes } = await serve(SECRET);
    const r = await fetch(url, github(push, 'ok-1'));
    expect(await r.json()).toEqual({ accepted: true, delivery: 'ok-1' });
    const odd = JSON.stringify({ ref: 7, after: ['a'] });
    expect((await fetch(url, github(odd, 'ok-2', `sha256=${hmac(odd)}`))).status).toBe(202);
    expect(pushes[1]).toEqual({ provider: 'github', deliveryId: 'ok-2' });
  });

  it('keeps delivery ids apart per forge: the same id from GitHub and GitLab is two deliveries', async () => {
    const { url, pushes } = await serve(SECRET);
    expect((await fetch(url, github(push, 'shared-id'))).status).toBe(202);
    const gitlab = await fetch(url, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'idempotency-key': 'shared-id' },
      body: push,
    });
    expect(gitlab.status).toBe(202);
    expect(pushes.map((p) => p.provider)).toEqual(['github', 'gitlab']);
  });

  it('names the configured secret in the refusal while none is set, and logs it', async () => {
    const { url, logs } = await serve(undefined, { secretName: 'spec.webhook.secret' });
    const r = await fetch(url, github(push, 'n-1'));
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({
      error: "git webhooks are disabled: set spec.webhook.secret to the secret configured in the forge's webhook",
    });
    expect(logs.at(-1)).toContain('git webhook refused: no secret configured  secret=spec.webhook.secret');
    const plain = await serve(undefined);
    await fetch(plain.url, github(push, 'n-2'));
    expect(plain.logs.at(-1)).toContain('git webhook refused: no secret configured  secret=CADUCEUS_WEBHOOK_SECRET');
  });

  it('names the limit when refusing an oversized body, 1 MiB unless configured', async () => {
    const small = await serve(SECRET, { maxBodyBytes: 1000 });
    const body = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(1000) });
    const r = await fetch(small.url, github(body, 'big-2', `sha256=${hmac(body)}`));
    expect(await r.json()).toEqual({ error: 'body larger than 1000 bytes' });
    expect(small.logs.at(-1)).toContain('git webhook refused: body too large  limitBytes=1000');
    const { url } = await serve(SECRET);
    const justUnder = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(1024 * 1024 - 100) });
    expect((await fetch(url, github(justUnder, 'mib-1', `sha256=${hmac(justUnder)}`))).status).toBe(202);
    const over = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(1024 * 1024) });
    expect((await fetch(url, github(over, 'mib-2', `sha256=${hmac(over)}`))).status).toBe(413);
  });
});
