// POST /hooks/git: push notifications from GitHub, Gitea/Forgejo and GitLab, so a remote
// revision is fetched at once instead of on the next poll. Each provider signs its own
// way (GitHub: X-Hub-Signature-256 = sha256=HMAC; Gitea/Forgejo: X-Gitea-Signature /
// X-Forgejo-Signature = hex HMAC; GitLab: X-Gitlab-Token = the secret), always checked in
// constant time over the raw body. Without a configured secret every request is refused;
// a delivery id seen before is acknowledged without fetching (replay protection).

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpRoute, Logger } from '../reconciler/types.js';
import { BodyTooLarge, readCappedBody } from '../reconciler/http-body.js';
import { sendJson as reply } from '../reconciler/http-json.js';
import { hmacSha256Hex, safeEqual } from '../reconciler/signatures.js';

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
  /** Delivery ids remembered for replay protection (default 4096). */
  rememberDeliveries?: number;
}

const MAX_BODY = 1024 * 1024;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function hmacHex(secret: string, body: Buffer): Buffer {
  return Buffer.from(hmacSha256Hex(secret, body));
}

interface Verified {
  provider: PushInfo['provider'];
  event: string;
  deliveryId: string | undefined;
  isPush(payload: Record<string, unknown>): boolean;
}

/** Which provider sent the request and whether its signature holds; undefined when it does not. */
function verify(req: IncomingMessage, body: Buffer, secret: string): Verified | { provider: string; reason: string } {
  const giteaEvent = header(req, 'x-forgejo-event') ?? header(req, 'x-gitea-event');
  if (giteaEvent !== undefined) {
    // Gitea and Forgejo also send GitHub's headers; their own signature is checked first.
    const sig = header(req, 'x-forgejo-signature') ?? header(req, 'x-gitea-signature');
    const gh = header(req, 'x-hub-signature-256');
    const ok =
      sig !== undefined
        ? safeEqual(Buffer.from(sig.toLowerCase()), hmacHex(secret, body))
        : gh !== undefined &&
          safeEqual(Buffer.from(gh.toLowerCase()), Buffer.from(`sha256=${hmacHex(secret, body).toString()}`));
    if (!ok)
      return {
        provider: 'gitea',
        reason: sig === undefined && gh === undefined ? 'missing X-Gitea-Signature' : 'bad X-Gitea-Signature',
      };
    return {
      provider: 'gitea',
      event: giteaEvent,
      deliveryId: header(req, 'x-forgejo-delivery') ?? header(req, 'x-gitea-delivery'),
      isPush: () => giteaEvent === 'push',
    };
  }
  const gitlabEvent = header(req, 'x-gitlab-event');
  if (gitlabEvent !== undefined) {
    const token = header(req, 'x-gitlab-token');
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
    if (token === undefined || !safeEqual(digest(token), digest(secret))) {
      return { provider: 'gitlab', reason: token === undefined ? 'missing X-Gitlab-Token' : 'bad X-Gitlab-Token' };
    }
    return {
      provider: 'gitlab',
      event: gitlabEvent,
      deliveryId: header(req, 'x-gitlab-event-uuid') ?? header(req, 'idempotency-key'),
      // System hooks carry pushes too, told apart by object_kind.
      isPush: (p) => gitlabEvent === 'Push Hook' || (gitlabEvent === 'System Hook' && p.object_kind === 'push'),
    };
  }
  const githubEvent = header(req, 'x-github-event');
  if (githubEvent !== undefined) {
    const sig = header(req, 'x-hub-signature-256');
    const ok =
      sig !== undefined &&
      safeEqual(Buffer.from(sig.toLowerCase()), Buffer.from(`sha256=${hmacHex(secret, body).toString()}`));
    if (!ok)
      return {
        provider: 'github',
        reason: sig === undefined ? 'missing X-Hub-Signature-256' : 'bad X-Hub-Signature-256',
      };
    return {
      provider: 'github',
      event: githubEvent,
      deliveryId: header(req, 'x-github-delivery'),
      isPush: () => githubEvent === 'push',
    };
  }
  return { provider: 'unknown', reason: 'no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header' };
}

/** JSON body, or GitHub's form encoding (payload=<json>). */
function parsePayload(req: IncomingMessage, body: Buffer): Record<string, unknown> | undefined {
  try {
    let text = body.toString('utf8');
    if ((header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
      text = new URLSearchParams(text).get('payload') ?? '';
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function createGitWebhookRoute(opts: GitWebhookOptions): HttpRoute {
  const max = opts.maxBodyBytes ?? MAX_BODY;
  const remember = opts.rememberDeliveries ?? 4096;
  const seen = new Set<string>(); // insertion-ordered: the oldest id is dropped first
  return {
    method: 'POST',
    path: '/hooks/git',
    handler: async (req, res) => {
      const secret = opts.secret();
      if (!secret) {
        req.resume();
        opts.log.warn('git webhook refused: no secret configured', {
          secret: opts.secretName ?? 'CADUCEUS_WEBHOOK_SECRET',
        });
        const name = opts.secretName ?? 'CADUCEUS_WEBHOOK_SECRET';
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
      const v = verify(req, body, secret);
      if (!('event' in v)) {
        opts.log.warn('git webhook refused: signature does not match', {
          provider: v.provider,
          reason: v.reason,
          remote: req.socket.remoteAddress,
        });
        return reply(res, 401, { error: `signature check failed: ${v.reason}` });
      }
      // Only verified deliveries are remembered, so a forger cannot block a real one.
      if (v.deliveryId !== undefined) {
        const key = `${v.provider}:${v.deliveryId}`;
        if (seen.has(key)) return reply(res, 200, { ignored: 'duplicate delivery' });
        seen.add(key);
        if (seen.size > remember) seen.delete(seen.values().next().value as string);
      }
      const payload = parsePayload(req, body);
      if (!payload) return reply(res, 400, { error: 'body is not a JSON object' });
      if (!v.isPush(payload)) return reply(res, 200, { ignored: `event ${v.event}` });
      const info: PushInfo = { provider: v.provider };
      if (typeof payload.ref === 'string') info.ref = payload.ref;
      if (typeof payload.after === 'string') info.after = payload.after;
      if (v.deliveryId !== undefined) info.deliveryId = v.deliveryId;
      opts.onPush(info);
      return reply(res, 202, { accepted: true, delivery: v.deliveryId });
    },
  };
}
