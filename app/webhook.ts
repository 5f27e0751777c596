// POST /hooks/git: push notifications from GitHub, Gitea/Forgejo and GitLab, so a remote
// revision is fetched at once instead of on the next poll. Each provider signs its own
// way (GitHub: X-Hub-Signature-256 = sha256=HMAC; Gitea/Forgejo: X-Gitea-Signature /
// X-Forgejo-Signature = hex HMAC; GitLab: X-Gitlab-Token = the secret), always checked in
// constant time over the raw body. Without a configured secret every request is refused.
// Every forge names each delivery (X-GitHub-Delivery, X-Gitea-Delivery, GitLab's
// Idempotency-Key or X-Gitlab-Event-UUID): a request without one is refused, and so is a
// delivery id seen before, whatever its body, also after a restart (webhook-deliveries.ts).

import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpRoute, Logger } from '../reconciler/types.js';
import { BodyTooLarge, readCappedBody } from '../reconciler/http-body.js';
import { sendJson as reply } from '../reconciler/http-json.js';
import { hmacSha256Hex, safeEqual } from '../reconciler/signatures.js';
import type { DeliveryLog } from './webhook-deliveries.js';

export interface PushInfo {
  provider: 'github' | 'gitea' | 'gitlab';
  ref?: string;
  after?: string;
  deliveryId?: string;
}

export interface GitWebhookOptions {
  /** The shared secret, read at each request (so a rotated env/file value is picked up). */
  secret: () => string | undefined;
  onPush: (info: PushInfo) => void;
  log: Logger;
  /** Named in the refusal when no secret is configured (default CADUCEUS_WEBHOOK_SECRET). */
  secretName?: string;
  /** Largest accepted body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Delivery ids already received (replay protection). */
  deliveries: DeliveryLog;
}

const MAX_BODY = 1024 * 1024;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface VerifiedDelivery {
  provider: PushInfo['provider'];
  event: string;
  deliveryId: string | undefined;
  /** The header(s) the forge names its deliveries with, for the refusal of a request without. */
  deliveryHeader: string;
  isPush(payload: Record<string, unknown>): boolean;
}

export interface RefusedDelivery {
  provider: string;
  reason: string;
}

/** Which provider sent the request and whether its signature holds (pure: headers and raw body). */
export function verifyDelivery(
  headers: IncomingHttpHeaders,
  body: Buffer,
  secret: string,
): VerifiedDelivery | RefusedDelivery {
  const giteaEvent = header(headers, 'x-forgejo-event') ?? header(headers, 'x-gitea-event');
  if (giteaEvent !== undefined) {
    // Gitea and Forgejo also send GitHub's headers; their own signature is checked first.
    const sig = header(headers, 'x-forgejo-signature') ?? header(headers, 'x-gitea-signature');
    const gh = header(headers, 'x-hub-signature-256');
    const ok =
      sig !== undefined
        ? safeEqual(sig.toLowerCase(), hmacSha256Hex(secret, body))
        : gh !== undefined && safeEqual(gh.toLowerCase(), `sha256=${hmacSha256Hex(secret, body)}`);
    if (!ok)
      return {
        provider: 'gitea',
        reason: sig === undefined && gh === undefined ? 'missing X-Gitea-Signature' : 'bad X-Gitea-Signature',
      };
    return {
      provider: 'gitea',
      event: giteaEvent,
      deliveryId: header(headers, 'x-forgejo-delivery') ?? header(headers, 'x-gitea-delivery'),
      deliveryHeader: 'X-Gitea-Delivery',
      isPush: () => giteaEvent === 'push',
    };
  }
  const gitlabEvent = header(headers, 'x-gitlab-event');
  if (gitlabEvent !== undefined) {
    const token = header(headers, 'x-gitlab-token');
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
    if (token === undefined || !safeEqual(digest(token), digest(secret))) {
      return { provider: 'gitlab', reason: token === undefined ? 'missing X-Gitlab-Token' : 'bad X-Gitlab-Token' };
    }
    return {
      provider: 'gitlab',
      event: gitlabEvent,
      // Idempotency-Key stays the same across GitLab's retries of one delivery (17.4+);
      // X-Gitlab-Event-UUID is sent by every version since 14.
      deliveryId: header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-event-uuid'),
      deliveryHeader: 'Idempotency-Key or X-Gitlab-Event-UUID',
      // System hooks carry pushes too, told apart by object_kind.
      isPush: (p) => gitlabEvent === 'Push Hook' || (gitlabEvent === 'System Hook' && p.object_kind === 'push'),
    };
  }
  const githubEvent = header(headers, 'x-github-event');
  if (githubEvent !== undefined) {
    const sig = header(headers, 'x-hub-signature-256');
    const ok = sig !== undefined && safeEqual(sig.toLowerCase(), `sha256=${hmacSha256Hex(secret, body)}`);
    if (!ok)
      return {
        provider: 'github',
        reason: sig === undefined ? 'missing X-Hub-Signature-256' : 'bad X-Hub-Signature-256',
      };
    return {
      provider: 'github',
      event: githubEvent,
      deliveryId: header(headers, 'x-github-delivery'),
      deliveryHeader: 'X-GitHub-Delivery',
      isPush: () => githubEvent === 'push',
    };
  }
  return { provider: 'unknown', reason: 'no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header' };
}

/** JSON body, or GitHub's form encoding (payload=<json>); undefined unless a JSON object. */
export function parsePayload(headers: IncomingHttpHeaders, body: Buffer): Record<string, unknown> | undefined {
  try {
    let text = body.toString('utf8');
    if (header(headers, 'content-type')?.startsWith('application/x-www-form-urlencoded'))
      text = new URLSearchParams(text).get('payload') ?? '';
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function createGitWebhookRoute(opts: GitWebhookOptions): HttpRoute {
  const max = opts.maxBodyBytes ?? MAX_BODY;
  return {
    method: 'POST',
    path: '/hooks/git',
    handler: async (req, res) => {
      const secret = opts.secret();
      if (!secret) {
        req.resume();
        const name = opts.secretName ?? 'CADUCEUS_WEBHOOK_SECRET';
        opts.log.warn('git webhook refused: no secret configured', { secret: name });
        return reply(res, 503, {
          error: `git webhooks are disabled: set ${name} to the secret configured in the forge's webhook`,
        });
      }
      let body: Buffer;
      try {
        body = await readCappedBody(req, max);
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        opts.log.warn('git webhook refused: body too large', { limitBytes: max });
        return reply(res, 413, { error: `body larger than ${max} bytes` });
      }
      const v = verifyDelivery(req.headers, body, secret);
      if (!('event' in v)) {
        opts.log.warn('git webhook refused: signature does not match', {
          provider: v.provider,
          reason: v.reason,
          remote: req.socket.remoteAddress,
        });
        return reply(res, 401, { error: `signature check failed: ${v.reason}` });
      }
      // Only verified deliveries are remembered, so a forger cannot block a real one.
      if (!v.deliveryId) {
        opts.log.warn('git webhook refused: no delivery id', { provider: v.provider });
        return reply(res, 400, { error: `missing ${v.deliveryHeader}: every ${v.provider} delivery carries one` });
      }
      if (!opts.deliveries.firstTime(`${v.provider}:${v.deliveryId}`)) {
        opts.log.warn('git webhook refused: delivery received before (a replay)', {
          provider: v.provider,
          delivery: v.deliveryId,
          remote: req.socket.remoteAddress,
        });
        return reply(res, 409, { error: `delivery ${v.deliveryId} was received before` });
      }
      const payload = parsePayload(req.headers, body);
      if (!payload) return reply(res, 400, { error: 'body is not a JSON object' });
      if (!v.isPush(payload)) return reply(res, 200, { ignored: `event ${v.event}` });
      const info: PushInfo = { provider: v.provider };
      if (typeof payload.ref === 'string') info.ref = payload.ref;
      if (typeof payload.after === 'string') info.after = payload.after;
      info.deliveryId = v.deliveryId;
      opts.onPush(info);
      return reply(res, 202, { accepted: true, delivery: v.deliveryId });
    },
  };
}
