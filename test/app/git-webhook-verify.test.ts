// The git webhook's checks called directly on headers and raw bytes: which forge sent a
// delivery, whether its signature or token holds (and why not), its delivery id, whether
// it is a push, and the payload as JSON or GitHub's form encoding.

import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createGitWebhookRoute, parsePayload, verifyDelivery, type VerifiedDelivery } from '../../app/webhook.js';
import { DeliveryLog } from '../../app/webhook-deliveries.js';
import { createLogger } from '../../reconciler/log.js';
import { StateStore } from '../../reconciler/state/store.js';

const SECRET = 'shared-webhook-secret';
const BODY = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) }));
const hex = (secret = SECRET, body: Buffer = BODY): string => createHmac('sha256', secret).update(body).digest('hex');

function verified(headers: IncomingHttpHeaders): VerifiedDelivery {
  const v = verifyDelivery(headers, BODY, SECRET);
  if (!('event' in v)) throw new Error(`refused: ${v.reason}`);
  return v;
}

/** The verified delivery without its isPush function, for exact comparison. */
function facts(headers: IncomingHttpHeaders): Omit<VerifiedDelivery, 'isPush'> {
  const { isPush: _, ...rest } = verified(headers);
  return rest;
}

const refused = (headers: IncomingHttpHeaders, body = BODY) => verifyDelivery(headers, body, SECRET);

describe('GitHub deliveries', () => {
  const gh = (sig: string | string[] | undefined, extra: IncomingHttpHeaders = {}): IncomingHttpHeaders => ({
    'x-github-event': 'push',
    'x-github-delivery': 'gh-1',
    ...(sig === undefined ? {} : { 'x-hub-signature-256': sig }),
    ...extra,
  });

  it('accepts sha256=<hex HMAC of the raw body>, in either case, and names the delivery', () => {
    expect(facts(gh(`sha256=${hex()}`))).toEqual({
      provider: 'github',
      event: 'push',
      deliveryId: 'gh-1',
      deliveryHeader: 'X-GitHub-Delivery',
    });
    expect(facts(gh(`SHA256=${hex().toUpperCase()}`)).provider).toBe('github');
    expect(facts(gh([`sha256=${hex()}`, 'sha256=other'])).event).toBe('push');
    expect(facts(gh(`sha256=${hex()}`, { 'x-github-delivery': undefined })).deliveryId).toBeUndefined();
  });

  it('refuses a missing signature, one without its prefix, of another secret or of other bytes', () => {
    expect(refused(gh(undefined))).toEqual({ provider: 'github', reason: 'missing X-Hub-Signature-256' });
    const bad = { provider: 'github', reason: 'bad X-Hub-Signature-256' };
    expect(refused(gh(hex()))).toEqual(bad);
    expect(refused(gh(`sha256=${hex('other-secret')}`))).toEqual(bad);
    expect(refused(gh(`sha256=${hex()}`), Buffer.from(`${BODY.toString()} `))).toEqual(bad);
    expect(refused(gh(`sha256=${hex()}0`))).toEqual(bad);
  });

  it('is a push only for the push event', () => {
    const sig = `sha256=${hex()}`;
    expect(verified(gh(sig)).isPush({})).toBe(true);
    expect(verified(gh(sig, { 'x-github-event': 'ping' })).isPush({ object_kind: 'push' })).toBe(false);
  });
});

describe('Gitea and Forgejo deliveries', () => {
  it('accepts the hex HMAC in X-Gitea-Signature or X-Forgejo-Signature, in either case', () => {
    for (const [forge, id] of [
      ['gitea', 'gt-1'],
      ['forgejo', 'fj-1'],
    ] as const) {
      const headers = { [`x-${forge}-event`]: 'push', [`x-${forge}-delivery`]: id, [`x-${forge}-signature`]: hex() };
      expect(facts(headers)).toEqual({
        provider: 'gitea',
        event: 'push',
        deliveryId: id,
        deliveryHeader: 'X-Gitea-Delivery',
      });
      expect(facts({ ...headers, [`x-${forge}-signature`]: hex().toUpperCase() }).deliveryId).toBe(id);
    }
  });

  it("prefers Forgejo's own headers over Gitea's, and Gitea's over GitHub's", () => {
    const both = {
      'x-forgejo-event': 'push',
      'x-gitea-event': 'ping',
      'x-github-event': 'ping',
      'x-forgejo-delivery': 'fj-2',
      'x-gitea-delivery': 'gt-2',
      'x-forgejo-signature': hex(),
      'x-gitea-signature': hex('wrong'),
    };
    expect(facts(both)).toEqual({
      provider: 'gitea',
      event: 'push',
      deliveryId: 'fj-2',
      deliveryHeader: 'X-Gitea-Delivery',
    });
    expect(refused({ ...both, 'x-forgejo-signature': hex('wrong'), 'x-gitea-signature': hex() })).toEqual({
      provider: 'gitea',
      reason: 'bad X-Gitea-Signature',
    });
    // Its own signature wins over a valid GitHub one.
    expect(
      refused({ 'x-gitea-event': 'push', 'x-gitea-signature': 'f00', 'x-hub-signature-256': `sha256=${hex()}` }),
    ).toEqual({ provider: 'gitea', reason: 'bad X-Gitea-Signature' });
  });

  it('falls back to the GitHub-style signature when the forge sends only that one', () => {
    const v = facts({ 'x-gitea-event': 'push', 'x-gitea-delivery': 'gt-3', 'x-hub-signature-256': `SHA256=${hex()}` });
    expect(v.deliveryId).toBe('gt-3');
    expect(refused({ 'x-gitea-event': 'push', 'x-hub-signature-256': hex() })).toEqual({
      provider: 'gitea',
      reason: 'bad X-Gitea-Signature',
    });
    expect(refused({ 'x-gitea-event': 'push' })).toEqual({ provider: 'gitea', reason: 'missing X-Gitea-Signature' });
  });

  it('is a push only for the push event', () => {
    expect(verified({ 'x-gitea-event': 'push', 'x-gitea-signature': hex() }).isPush({})).toBe(true);
    expect(verified({ 'x-gitea-event': 'create', 'x-gitea-signature': hex() }).isPush({})).toBe(false);
  });
});

describe('GitLab deliveries', () => {
  const gl = (token: string | undefined, extra: IncomingHttpHeaders = {}): IncomingHttpHeaders => ({
    'x-gitlab-event': 'Push Hook',
    ...(token === undefined ? {} : { 'x-gitlab-token': token }),
    ...extra,
  });

  it('accepts the secret itself as X-Gitlab-Token; Idempotency-Key names the delivery before the UUID', () => {
    expect(facts(gl(SECRET, { 'x-gitlab-event-uuid': 'uuid-1' }))).toEqual({
      provider: 'gitlab',
      event: 'Push Hook',
      deliveryId: 'uuid-1',
      deliveryHeader: 'Idempotency-Key or X-Gitlab-Event-UUID',
    });
    expect(facts(gl(SECRET, { 'x-gitlab-event-uuid': 'uuid-1', 'idempotency-key': 'key-1' })).deliveryId).toBe('key-1');
  });

  it('refuses a missing token and any other token, longer, shorter or of another case', () => {
    expect(refused(gl(undefined))).toEqual({ provider: 'gitlab', reason: 'missing X-Gitlab-Token' });
    for (const t of [`${SECRET}x`, SECRET.slice(1), SECRET.toUpperCase(), '']) {
      expect(refused(gl(t))).toEqual({ provider: 'gitlab', reason: 'bad X-Gitlab-Token' });
    }
  });

  it('takes Push Hooks and system hooks of pushes as pushes, nothing else', () => {
    expect(verified(gl(SECRET)).isPush({})).toBe(true);
    const system = verified(gl(SECRET, { 'x-gitlab-event': 'System Hook' }));
    expect(system.isPush({ object_kind: 'push' })).toBe(true);
    expect(system.isPush({ object_kind: 'tag_push' })).toBe(false);
    expect(verified(gl(SECRET, { 'x-gitlab-event': 'Tag Push Hook' })).isPush({ object_kind: 'push' })).toBe(false);
  });

  it('is checked before GitHub headers the same request may carry', () => {
    expect(facts(gl(SECRET, { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' })).provider).toBe('gitlab');
  });
});

describe('requests from no known forge', () => {
  it('are refused, naming the event headers looked for', () => {
    expect(refused({ 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hex()}` })).toEqual({
      provider: 'unknown',
      reason: 'no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header',
    });
  });
});

describe('parsePayload', () => {
  const json = (text: string, type = 'application/json') => parsePayload({ 'content-type': type }, Buffer.from(text));

  it('reads a JSON object, in UTF-8', () => {
    expect(json('{"ref":"refs/heads/é","n":1}')).toEqual({ ref: 'refs/heads/é', n: 1 });
    expect(parsePayload({}, Buffer.from('{"a":true}'))).toEqual({ a: true });
  });

  it('reads the payload field of a form-encoded body, with or without a charset', () => {
    const form = new URLSearchParams({ payload: '{"ref":"refs/heads/main"}' }).toString();
    expect(json(form, 'application/x-www-form-urlencoded')).toEqual({ ref: 'refs/heads/main' });
    expect(json(form, 'application/x-www-form-urlencoded; charset=utf-8')).toEqual({ ref: 'refs/heads/main' });
    expect(json('other=1', 'application/x-www-form-urlencoded')).toBeUndefined();
    // Form bytes sent as JSON are no JSON.
    expect(json(form)).toBeUndefined();
  });

  it('answers undefined for anything but a JSON object', () => {
    for (const text of ['[1]', 'null', '3', '"push"', 'not json', ''])
      expect([text, json(text)]).toEqual([text, undefined]);
  });
});

describe('the route on a request that fails while its body is read', () => {
  it('lets the read error through instead of answering 413 for it', async () => {
    const store = new StateStore({ stateDir: ':memory:' });
    const logs: string[] = [];
    try {
      const route = createGitWebhookRoute({
        secret: () => SECRET,
        onPush: () => {},
        log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
        deliveries: new DeliveryLog(store),
      });
      // A body stream that breaks off, as a reset connection does; the route reads only these members.
      const req = Object.assign(new PassThrough(), {
        headers: { 'x-github-event': 'push' },
        socket: { remoteAddress: '127.0.0.1' },
      }) as unknown as IncomingMessage;
      const written: unknown[] = [];
      const res = { writeHead: (...a: unknown[]) => written.push(a), end: (t: unknown) => written.push(t) };
      const handled = route.handler(req, res as unknown as ServerResponse);
      (req as unknown as PassThrough).destroy(new Error('connection reset by peer'));
      await expect(handled).rejects.toThrow('connection reset by peer');
      expect(written).toEqual([]);
      expect(logs).toEqual([]);
    } finally {
      store.close();
    }
  });
});
