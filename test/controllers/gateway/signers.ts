// Requests signed exactly the way each platform signs them, written independently of the
// code under test: Slack v0 HMAC, Discord Ed25519 over timestamp+body, Telegram's secret
// token header, and the generic webhook's HMAC over `timestamp.body`.

import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface SignedRequest {
  body: string | Buffer;
  headers: Record<string, string>;
}

const secs = (now: number): string => String(Math.floor(now / 1000));

export function slackCommand(
  secret: string,
  fields: { user: string; channel: string; text: string; responseUrl: string; triggerId?: string },
  now = Date.now(),
): SignedRequest {
  const body = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0001',
    team_domain: 'example',
    channel_id: fields.channel,
    channel_name: 'ops',
    user_id: fields.user,
    user_name: 'someone',
    command: '/caduceus',
    text: fields.text,
    api_app_id: 'A0001',
    response_url: fields.responseUrl,
    trigger_id: fields.triggerId ?? `trig-${Math.random().toString(36).slice(2)}`,
  }).toString();
  return slackSigned(secret, body, now);
}

export function slackSigned(secret: string, body: string | Buffer, now = Date.now()): SignedRequest {
  const ts = secs(now);
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sig,
    },
  };
}

export interface DiscordKeys {
  publicKeyHex: string;
  privateKey: KeyObject;
}

export function discordKeys(): DiscordKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { publicKeyHex: Buffer.from(jwk.x as string, 'base64url').toString('hex'), privateKey };
}

export function discordSigned(keys: DiscordKeys, body: string, now = Date.now()): SignedRequest {
  const ts = secs(now);
  const sig = sign(null, Buffer.from(ts + body, 'utf8'), keys.privateKey).toString('hex');
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-signature-ed25519': sig, 'x-signature-timestamp': ts },
  };
}

let interactionSeq = 0;
export function discordCommand(
  keys: DiscordKeys,
  fields: { applicationId: string; user: string; channel: string; command: string; id?: string },
  now = Date.now(),
): SignedRequest & { token: string; id: string } {
  const id = fields.id ?? `${Date.now()}${++interactionSeq}`;
  const token = `itok-${id}`;
  const body = JSON.stringify({
    id,
    application_id: fields.applicationId,
    type: 2,
    token,
    version: 1,
    guild_id: '5000',
    channel_id: fields.channel,
    member: { user: { id: fields.user, username: 'someone' }, roles: [] },
    data: { id: '7000', name: 'caduceus', type: 1, options: [{ name: 'command', type: 3, value: fields.command }] },
  });
  return { ...discordSigned(keys, body, now), token, id };
}

let updateSeq = 1000;
export function telegramUpdate(
  secretToken: string,
  fields: { user: number; chat: number; text: string; chatType?: string; updateId?: number },
): SignedRequest & { updateId: number } {
  const updateId = fields.updateId ?? ++updateSeq;
  const body = JSON.stringify({
    update_id: updateId,
    message: {
      message_id: updateId + 5,
      from: { id: fields.user, is_bot: false, first_name: 'Someone' },
      chat: { id: fields.chat, type: fields.chatType ?? 'group', title: 'ops' },
      date: Math.floor(Date.now() / 1000),
      text: fields.text,
    },
  });
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secretToken },
    updateId,
  };
}

export function webhookSigned(secret: string, body: string | Buffer, now = Date.now()): SignedRequest {
  const ts = secs(now);
  const sig = `sha256=${createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-caduceus-timestamp': ts, 'x-caduceus-signature': sig },
  };
}

export async function post(
  url: string,
  req: SignedRequest,
): Promise<{ status: number; text: string; json: () => unknown }> {
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as unknown };
}
