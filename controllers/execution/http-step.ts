// The `http` step: one request with undici, a timeout, the expected statuses, and the
// response body (capped) as the step's output. Params enter the URL URL-encoded, header
// values only without line breaks, and JSON bodies JSON-escaped.

import { request } from 'undici';
import type { HttpStep } from '../../reconciler/specs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { interpolate, jsonEscape, type Scope } from './interpolate.js';
import { OutputBuffer } from './output-buffer.js';

export interface HttpOutcome {
  ok: boolean;
  status: number;
  body: string;
  error?: string;
}

export async function runHttpStep(
  step: HttpStep,
  scope: Scope,
  signal: AbortSignal,
  outputLimitBytes: number,
): Promise<HttpOutcome> {
  const url = interpolate(step.url, scope, encodeURIComponent, 'http.url');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.headers ?? {})) {
    const value = interpolate(v, scope, (s) => s, `http.headers.${k}`);
    if (/[\r\n\0]/.test(value)) {
      throw new CaduceusError('InvalidHeader', `header ${k} would contain a line break`, {
        field: `http.headers.${k}`,
      });
    }
    headers[k] = value;
  }
  const isJson = Object.entries(headers).some(([k, v]) => k.toLowerCase() === 'content-type' && /json/i.test(v));
  const body =
    step.body === undefined ? undefined : interpolate(step.body, scope, isJson ? jsonEscape : (s) => s, 'http.body');

  // Spread: undici's options are checked by key, so a step without a body sends no body key.
  const res = await request(url, { method: step.method, headers, ...(body !== undefined ? { body } : {}), signal });
  const buf = new OutputBuffer(outputLimitBytes);
  for await (const chunk of res.body) buf.push(chunk as Buffer);
  const ok =
    step.expectStatus && step.expectStatus.length > 0
      ? step.expectStatus.includes(res.statusCode)
      : res.statusCode >= 200 && res.statusCode < 300;
  const expected = step.expectStatus && step.expectStatus.length > 0 ? step.expectStatus.join(', ') : '2xx';
  return {
    ok,
    status: res.statusCode,
    body: buf.toString(),
    ...(ok ? {} : { error: `${step.method} ${url} answered ${res.statusCode} (expected ${expected})` }),
  };
}
