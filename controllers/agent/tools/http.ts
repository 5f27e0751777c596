// http_get: one GET with undici under the http step's limits: its default timeout (30 s,
// or the per-tool timeout when shorter) and the Runtime's output limit on the body.

import { request } from 'undici';
import { errorMessage } from '../../../reconciler/errors.js';
import { failed, type AgentTool } from './types.js';

/** The http step's default timeout (controllers/execution/skill-engine.ts). */
export const HTTP_TIMEOUT_MS = 30_000;

export const httpGetTool: AgentTool = {
  name: 'http_get',
  description: 'GET an http(s) URL and read the status and body (cut when long).',
  parameters: {
    type: 'object',
    properties: {
      url: { type: 'string', pattern: '^https?://', description: 'The URL.' },
      headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers.' },
    },
    required: ['url'],
    additionalProperties: false,
  },
  execute: async (args, run) => {
    const url = String(args.url);
    const headers = (args.headers ?? {}) as Record<string, string>;
    if (Object.values(headers).some((v) => /[\r\n\0]/.test(v))) return failed('a header value contains a line break');
    const timeout = AbortSignal.timeout(Math.min(HTTP_TIMEOUT_MS, run.timeoutMs));
    try {
      const res = await request(url, { method: 'GET', headers, signal: AbortSignal.any([timeout, run.signal]) });
      const chunks: Buffer[] = [];
      let kept = 0;
      let dropped = 0;
      for await (const c of res.body) {
        const chunk = c as Buffer;
        const room = run.outputLimitBytes - kept;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        kept += Math.min(room, chunk.length);
        dropped += Math.max(0, chunk.length - Math.max(room, 0));
      }
      const body = Buffer.concat(chunks).toString('utf8') + (dropped ? `\n[… ${dropped} more bytes not read]` : '');
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const text = `HTTP ${res.statusCode}\n${body}`;
      return ok ? { status: 'succeeded', text } : { status: 'failed', text, error: `HTTP ${res.statusCode}` };
    } catch (err) {
      if (run.signal.aborted) return { status: 'cancelled', text: 'cancelled', error: 'cancelled' };
      if (timeout.aborted) return { status: 'timedOut', text: 'error: the request timed out', error: 'timed out' };
      return failed(errorMessage(err));
    }
  },
};
