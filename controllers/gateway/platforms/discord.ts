// Discord interactions over HTTP. Discord signs `timestamp + body` with Ed25519; the
// application's public key (hex) verifies `X-Signature-Ed25519` against
// `X-Signature-Timestamp`, and a failure must be a 401. PING (type 1) is answered with
// PONG; commands get a deferred response (type 5) and the result is a follow-up message
// POSTed to `{api}/webhooks/{application_id}/{interaction_token}`.

import type { GatewayPolicySpec } from '../../../reconciler/specs.js';
import { ed25519PublicKeyFromHex, ed25519Verify, freshTimestamp } from './signing.js';
import { header, jsonObject, type Parsed, type PlatformAdapter, type PlatformRuntime } from './types.js';
import { sendJson } from '../../../reconciler/http-json.js';

export type DiscordSpec = NonNullable<GatewayPolicySpec['platforms']['discord']>;

export const DISCORD_WINDOW_MS = 5 * 60_000;
const DEFAULT_BASE = 'https://discord.com/api/v10';
const EPHEMERAL = 64;

interface CommandOption {
  name?: unknown;
  type?: unknown;
  value?: unknown;
  options?: CommandOption[];
}

/** `/caduceus command:"run task build"` → `caduceus run task build`; sub-commands contribute their names. */
function commandText(data: { name?: unknown; options?: CommandOption[] }): string {
  const words: string[] = [typeof data.name === 'string' ? data.name : ''];
  const walk = (opts: CommandOption[] | undefined): void => {
    for (const o of opts ?? []) {
      if (o.type === 1 || o.type === 2) {
        words.push(String(o.name ?? ''));
        walk(o.options);
      } else if (o.value !== undefined) {
        words.push(String(o.value));
      }
    }
  };
  walk(data.options);
  return words.filter((w) => w !== '').join(' ');
}

function parseDiscord(body: Buffer, applicationId: string): Parsed {
  const i = jsonObject(body, 'interaction');
  if (typeof i === 'string') return { kind: 'malformed', reason: i };
  if (i.type === 1) return { kind: 'ping' };
  if (i.type !== 2 && i.type !== 3)
    return { kind: 'ignore', reason: `interaction type ${String(i.type)} is not handled` };
  if (String(i.application_id) !== applicationId)
    return {
      kind: 'malformed',
      reason: `interaction for application ${String(i.application_id)}, not ${applicationId}`,
    };
  const member = i.member as { user?: { id?: unknown } } | undefined;
  const user = (member?.user?.id ?? (i.user as { id?: unknown } | undefined)?.id) as unknown;
  const channel = (i.channel_id ?? (i.channel as { id?: unknown } | undefined)?.id) as unknown;
  const token = i.token;
  const data = (i.data ?? {}) as { name?: unknown; options?: CommandOption[]; custom_id?: unknown };
  const text = i.type === 2 ? commandText(data) : typeof data.custom_id === 'string' ? data.custom_id : '';
  if (
    typeof user !== 'string' ||
    typeof channel !== 'string' ||
    typeof token !== 'string' ||
    typeof i.id !== 'string'
  ) {
    return { kind: 'malformed', reason: 'interaction lacks id, token, user id or channel id' };
  }
  return { kind: 'message', message: { user, channel, text, requestId: i.id, replyTo: { token } } };
}

export const discord: PlatformAdapter<DiscordSpec> = {
  requiredSecrets: (spec) => [{ field: 'publicKey', ref: spec.publicKey }],
  start(spec, secret): PlatformRuntime {
    const key = ed25519PublicKeyFromHex(secret(spec.publicKey));
    const base = (spec.apiBaseURL ?? DEFAULT_BASE).replace(/\/+$/, '');
    const applicationId = String(spec.applicationId);
    // Read when posting, so an unset optional token stops posts only, never the interactions.
    const botToken = (): string | undefined => (spec.botToken ? secret(spec.botToken) : undefined);
    return {
      maxReplyChars: 2000,
      verify(headers, body, now) {
        const sig = header(headers, 'x-signature-ed25519');
        const ts = header(headers, 'x-signature-timestamp');
        const fresh = freshTimestamp(ts, now, DISCORD_WINDOW_MS);
        if (fresh === 'missing' || !sig)
          return { ok: false, status: 401, reason: 'missing X-Signature-Ed25519 or X-Signature-Timestamp' };
        if (!ed25519Verify(key, Buffer.concat([Buffer.from(ts as string, 'utf8'), body]), sig)) {
          return { ok: false, status: 401, reason: 'invalid request signature' };
        }
        // Checked after the signature: the timestamp is signed, so only then is it Discord's.
        if (fresh === 'stale')
          return { ok: false, status: 401, reason: 'X-Signature-Timestamp is more than 5 minutes away' };
        let id: unknown;
        try {
          id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id;
        } catch {
          id = undefined;
        }
        return { ok: true, replayKey: typeof id === 'string' ? `discord:${id}` : `discord-sig:${sig.toLowerCase()}` };
      },
      parse: (_headers, body) => parseDiscord(body, applicationId),
      respond(res, outcome) {
        switch (outcome.kind) {
          case 'pong':
            sendJson(res, 200, { type: 1 });
            break;
          case 'accepted':
            sendJson(res, 200, { type: 5, data: { flags: EPHEMERAL } });
            break;
          case 'ignored':
            sendJson(res, 200, { type: 4, data: { content: 'This interaction is not supported.', flags: EPHEMERAL } });
            break;
          default:
            sendJson(res, 200, {
              type: 4,
              data: { content: outcome.text.slice(0, 2000), flags: EPHEMERAL, allowed_mentions: { parse: [] } },
            });
        }
        return undefined;
      },
      post(channel, text) {
        const token = botToken();
        if (!token) return undefined;
        return {
          url: `${base}/channels/${encodeURIComponent(channel)}/messages`,
          headers: { authorization: `Bot ${token}` },
          body: JSON.stringify({ content: text, allowed_mentions: { parse: [] } }),
        };
      },
      reply(message, text) {
        const token = message.replyTo.token;
        if (!token) return undefined;
        return {
          url: `${base}/webhooks/${encodeURIComponent(applicationId)}/${encodeURIComponent(token)}`,
          body: JSON.stringify({ content: text, flags: EPHEMERAL, allowed_mentions: { parse: [] } }),
        };
      },
    };
  },
};
