// The one interface every chat platform implements. An adapter turns a platform's spec
// and resolved secrets into a runtime that verifies a raw request exactly the way the
// platform signs it, reads the message out of a verified body, answers the HTTP request
// in the platform's protocol, and builds the API call that carries a later reply.

import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { SecretRef } from '../../../reconciler/specs.js';
import type { HttpCall } from '../delivery.js';

export type Verdict = { ok: true; replayKey: string } | { ok: false; status: number; reason: string };

/** One message a person sent, as read from a verified body. */
export interface Inbound {
  /** The platform's user id (no platform prefix). */
  user: string;
  /** Channel, chat or conversation id. */
  channel: string;
  text: string;
  /** Stable id of this request for the audit log (interaction id, update id, …). */
  requestId: string;
  /** Whatever the adapter needs to reply later (response_url, interaction token, chat id). */
  replyTo: Record<string, string>;
}

export type Parsed =
  | { kind: 'ping' }
  | { kind: 'ignore'; reason: string }
  | { kind: 'malformed'; reason: string }
  | { kind: 'message'; message: Inbound };

/**
 * How the gateway answers: `accepted` work was queued (the result follows later), `answer`
 * is an immediate reply (help, status), `refused` is a policy refusal with a short reason.
 * `code` lets protocols with meaningful HTTP statuses (the generic webhook) use them.
 */
export type Outcome =
  | { kind: 'pong' }
  | { kind: 'ignored' }
  | { kind: 'accepted'; text: string; requestId: string }
  | { kind: 'answer'; text: string }
  | { kind: 'refused'; text: string; code: 'forbidden' | 'bad-command' | 'rate-limited' };

export interface PlatformRuntime {
  verify(headers: IncomingHttpHeaders, body: Buffer, now: number): Verdict;
  parse(headers: IncomingHttpHeaders, body: Buffer): Parsed;
  /**
   * Writes the HTTP answer. Returns text that must instead travel through the reply API
   * (platforms whose webhook answer cannot carry a message), or undefined.
   */
  respond(res: ServerResponse, outcome: Outcome, message?: Inbound): string | undefined;
  /** The API call that posts `text` as the reply to `message`; undefined when there is nowhere to send it. */
  reply(message: Inbound, text: string, status: 'succeeded' | 'failed' | 'refused'): HttpCall | undefined;
  /**
   * The API call that posts `text` to `channel` without a message to answer (a scheduled
   * task's result), as a bot does; undefined when the platform has nothing to post with.
   */
  post(channel: string, text: string): HttpCall | undefined;
  /** Longest reply the platform accepts, in characters. */
  readonly maxReplyChars: number;
}

export interface PlatformAdapter<S> {
  /** Secret references the platform cannot start without (reported when unset). */
  requiredSecrets(spec: S): Array<{ field: string; ref: SecretRef }>;
  /** Builds the runtime; `secret` resolves a reference and throws SecretUnset when it is unset. */
  start(spec: S, secret: (ref: SecretRef) => string): PlatformRuntime;
}

/** The body as a JSON object, or why it is not one (`what` names the body in that reason: "update", "interaction"). */
export function jsonObject(body: Buffer, what: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return `${what} is not JSON`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${what} is not a JSON object`;
  return v as Record<string, unknown>;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
