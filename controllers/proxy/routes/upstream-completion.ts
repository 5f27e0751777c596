// Forwards a request to the upstream: chat completions, and the other endpoints OpenAI
// clients call (/v1/responses, /v1/embeddings, /v1/completions, /v1/models/{id}). The
// client's key never leaves: the upstream key replaces it. The body goes out unchanged
// unless skills are injected into a chat; the answer
// (status, body, SSE chunks, tool calls) is written back as undici parses it, with
// backpressure, through undici's dispatch API (no body stream or promise per request: on a
// 2-core VM that is about a fifth less CPU per request than pool.request).

import type { ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import type { ChatRequest } from './chat-completions.js';
import type { Upstream } from '../upstream.js';
import { skillsSystemMessage } from '../skills.js';

/** Non-streamed answers up to this size are collected and written once; larger ones go out as they arrive. */
const SMALL_BODY = 256 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'x-request-id',
]);

function responseHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = v;
  }
  const upstreamId = headers['x-request-id'];
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId;
  return out;
}

function outgoingBody(env: ProxyEnv, state: ProxyState, chat: ChatRequest): Buffer | string {
  if (!state.spec.injectSkills) return chat.raw;
  const system = skillsSystemMessage(env.snapshot(), state.spec);
  if (!system) return chat.raw;
  return JSON.stringify({ ...chat.body, messages: [{ role: 'system', content: system }, ...chat.messages] });
}

export function forwardCompletion(
  env: ProxyEnv,
  state: ProxyState,
  upstream: Upstream,
  chat: ChatRequest,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  const body = outgoingBody(env, state, chat);
  return forwardRequest(
    env,
    state,
    upstream,
    { method: 'POST', path: '/chat/completions', body, stream: chat.stream },
    res,
    info,
  );
}

/** One request to the upstream, answered to the client as it arrives. `path` is below the upstream's base URL. */
export interface ForwardRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | string;
  stream: boolean;
}

export function forwardRequest(
  env: ProxyEnv,
  state: ProxyState,
  upstream: Upstream,
  fwd: ForwardRequest,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    let controller: Dispatcher.DispatchController | undefined;
    let clientGone = false;
    let settled = false;
    /** Response headers went to the client (then a failure can only cut the stream). */
    let started = false;
    /** A small non-streamed answer is collected and written once: fewer syscalls than chunk by chunk. */
    let small: { status: number; headers: Record<string, string | string[]>; chunks: Buffer[] } | undefined;
    let wrote = false;
    let corked = false;
    let flush: NodeJS.Immediate | undefined;
    const uncork = (): void => {
      corked = false;
      res.uncork();
    };
    const onDrain = (): void => controller?.resume();
    const finish = (): void => {
      settled = true;
      if (flush) clearImmediate(flush);
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    const onClose = (): void => {
      if (res.writableFinished || settled) return;
      // The client went away: stop the upstream request (its socket is closed).
      clientGone = true;
      finish();
      controller?.abort(new Error('the client closed the connection'));
      resolve();
    };
    res.once('close', onClose);
    upstream.dispatch(
      {
        method: fwd.method,
        path: fwd.path,
        body: fwd.body,
        requestId: info.id,
        accept: fwd.stream ? 'text/event-stream' : 'application/json',
      },
      {
        onRequestStart(c) {
          controller = c;
          if (clientGone) c.abort(new Error('the client closed the connection'));
        },
        onResponseStart(_controller, statusCode, headers) {
          if (statusCode < 200 || settled) return; // 1xx informational answers are not forwarded
          env.metrics.upstreamLatency.observe(
            { proxy: state.name, status: String(statusCode) },
            (performance.now() - sent) / 1000,
          );
          const out = responseHeaders(headers);
          const length = Number(headers['content-length']);
          if (!fwd.stream && Number.isFinite(length) && length <= SMALL_BODY) {
            small = { status: statusCode, headers: out, chunks: [] };
            return;
          }
          res.writeHead(statusCode, out);
          started = true;
          // Headers wait for the first chunk only within this turn of the event loop: an
          // upstream that sends its headers early still gets them to the client at once.
          flush = setImmediate(() => {
            if (!wrote) res.flushHeaders();
          });
          res.on('drain', onDrain);
        },
        onResponseData(c, chunk) {
          if (settled) return;
          if (small) {
            small.chunks.push(chunk);
            return;
          }
          if (!wrote) {
            wrote = true;
            if (fwd.stream)
              env.metrics.firstByte.observe(
                { proxy: state.name, target: 'upstream' },
                (performance.now() - info.started) / 1000,
              );
          }
          // Corked for the rest of this tick: the SSE events of one upstream read (and the
          // end of the response, when it came in the same read) leave in one write.
          if (!corked) {
            corked = true;
            res.cork();
            process.nextTick(uncork);
          }
          if (!res.write(chunk)) c.pause();
        },
        onResponseEnd() {
          if (settled) return;
          finish();
          if (small) {
            const body = small.chunks.length === 1 ? (small.chunks[0] as Buffer) : Buffer.concat(small.chunks);
            res.writeHead(small.status, small.headers);
            res.end(body);
          } else res.end();
          resolve();
        },
        onResponseError(_controller, err) {
          if (settled) return;
          finish();
          if (!started) return reject(upstream.mapError(err));
          // Headers are out: all we can do is cut the stream so the client sees it incomplete.
          env.log.warn('upstream stream broke', { requestId: info.id, error: err.message });
          res.destroy();
          resolve();
        },
      },
    );
  });
}
