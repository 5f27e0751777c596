// JSON over HTTP for the forge adapters (undici), with errors that name the request and
// never include the token. undici (~110 modules) loads with the first request, not when
// `up` registers the curator.

import type { Dispatcher } from 'undici';
import { CaduceusError } from '../../../reconciler/errors.js';
import { redact } from '../../../reconciler/secrets.js';

export interface JsonResponse<T> {
  status: number;
  body: T;
}

export async function jsonRequest<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
  okStatuses: number[] = [],
): Promise<JsonResponse<T>> {
  const { request } = await import('undici');
  let res: Dispatcher.ResponseData;
  try {
    // undici request options: a body and its content-type only when there is a body.
    res = await request(url, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  } catch (err) {
    throw new CaduceusError('ForgeUnreachable', `${method} ${url}: ${redact((err as Error).message)}`, {
      hint: 'check forge.url and the network',
      cause: err,
    });
  }
  const text = await res.body.text();
  if ((res.statusCode < 200 || res.statusCode >= 300) && !okStatuses.includes(res.statusCode)) {
    const hint = res.statusCode === 401 || res.statusCode === 403 ? 'check the token and its scopes' : undefined;
    throw new CaduceusError(
      'ForgeRequestFailed',
      `${method} ${url} answered ${res.statusCode}: ${redact(text.slice(0, 300))}`,
      hint ? { hint } : {},
    );
  }
  let parsed: unknown;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.statusCode, body: parsed as T };
}

/** `owner/repo` → [owner, repo]. */
export function splitRepo(repo: string | undefined, what: string): [string, string] {
  const m = repo ? /^([^/]+)\/([^/]+)$/.exec(repo) : null;
  if (!m)
    throw new CaduceusError('ForgeMisconfigured', `${what} needs forge.repo as owner/name`, {
      field: 'spec.forge.repo',
    });
  return [m[1] as string, m[2] as string];
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
