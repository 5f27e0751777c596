// Errors in OpenAI's wire shape, `{"error": {"message", "type", "param", "code"}}`, so the
// official SDKs and the tools built on them map our failures to their own error classes.

import type { ServerResponse } from 'node:http';
import { sendJson } from '../../reconciler/http-json.js';
import { redact } from '../../reconciler/secrets.js';

export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A failure meant for the client: HTTP status plus the OpenAI error object. */
export class ProxyHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ProxyHttpError';
  }

  body(): { error: OpenAIErrorBody } {
    return { error: { message: redact(this.message), type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): ProxyHttpError =>
  new ProxyHttpError(400, 'invalid_request_error', code, message, param);

export const invalidKey = (message: string): ProxyHttpError =>
  new ProxyHttpError(401, 'invalid_request_error', 'invalid_api_key', message);

export const modelNotFound = (model: string): ProxyHttpError =>
  new ProxyHttpError(
    404,
    'invalid_request_error',
    'model_not_found',
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'model',
  );

export const routeNotFound = (method: string, path: string): ProxyHttpError =>
  new ProxyHttpError(
    404,
    'invalid_request_error',
    'unknown_url',
    `Unknown request URL: ${method} ${path}. This proxy serves GET /v1/models, GET /v1/models/{id}, ` +
      'POST /v1/chat/completions and /mcp, and with an upstream POST /v1/responses, /v1/embeddings and ' +
      '/v1/completions.',
  );

/** Headers that tell the OpenAI SDKs not to retry: running the same skill again would fail the same way. */
export const NO_RETRY = { 'x-should-retry': 'false' } as const;

export const tooLarge = (limit: number): ProxyHttpError =>
  new ProxyHttpError(
    413,
    'invalid_request_error',
    'request_too_large',
    `Request body exceeds the limit of ${limit} bytes (limits.maxBodyBytes).`,
  );

export const rateLimited = (limit: number, retryAfterS: number): ProxyHttpError =>
  new ProxyHttpError(
    429,
    'requests',
    'rate_limit_exceeded',
    `Rate limit reached for this key: ${limit} requests per minute. Retry after ${retryAfterS} s.`,
    null,
    {
      'retry-after': String(retryAfterS),
    },
  );

export const upstreamTimeout = (ms: number): ProxyHttpError =>
  new ProxyHttpError(
    504,
    'upstream_error',
    'upstream_timeout',
    `The upstream did not answer within ${ms} ms (upstream.timeout).`,
  );

export const upstreamUnavailable = (detail: string): ProxyHttpError =>
  new ProxyHttpError(502, 'upstream_error', 'upstream_unavailable', `The upstream could not be reached: ${detail}`);

/** Writes an error response unless headers already went out (then the socket is cut). */
export function sendError(res: ServerResponse, err: ProxyHttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, err.body(), { headers: err.headers });
}
