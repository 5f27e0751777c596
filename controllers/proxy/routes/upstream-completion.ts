// Forwards a chat completion to the upstream. The client's key never leaves: the upstream
// key replaces it. The body goes out unchanged unless skills are injected; the answer
// (status, body, SSE chunks, tool calls) is piped back as it arrives, with backpressure.

import type { ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import type { ChatRequest } from './chat-completions.js';
import type { Upstream } from '../upstream.js';
import { skillsSystemMessage } from '../skills.js';

/** Non-streamed answers up to this size are read whole and written once; larger ones are piped. */
const SMALL_BODY = 256 * 1024;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'x-request-id']);

function responseHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
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

export async function forwardCompletion(env: ProxyEnv, state: ProxyState, upstream: Upstream, chat: ChatRequest, res: ServerResponse, info: RequestInfo): Promise<void> {
  // undici takes an EventEmitter as a signal: cheaper per request than an AbortController.
  const cancel = new EventEmitter();
  let cancelled = false;
  res.once('close', () => {
    if (res.writableFinished) return;
    cancelled = true;
    cancel.emit('abort');
  });
  const sent = performance.now();
  let answer: Awaited<ReturnType<Upstream['request']>>;
  try {
    answer = await upstream.request({
      method: 'POST',
      path: '/chat/completions',
      body: outgoingBody(env, state, chat),
      requestId: info.id,
      accept: chat.stream ? 'text/event-stream' : 'application/json',
      signal: cancel,
    });
  } catch (err) {
    if (cancelled) return;
    throw err;
  }
  env.metrics.upstreamLatency.observe({ proxy: state.name, status: String(answer.statusCode) }, (performance.now() - sent) / 1000);
  const headers = responseHeaders(answer.headers);
  const length = Number(answer.headers['content-length']);
  if (!chat.stream && Number.isFinite(length) && length <= SMALL_BODY) {
    // A small JSON answer goes out in one write: same bytes, fewer syscalls than a pipe.
    let body: Buffer;
    try {
      body = Buffer.from(await answer.body.arrayBuffer());
    } catch (err) {
      if (cancelled) return;
      throw upstream.mapError(err);
    }
    res.writeHead(answer.statusCode, headers);
    res.end(body);
    return;
  }
  res.writeHead(answer.statusCode, headers);
  const firstByte = chat.stream ? (): void => env.metrics.firstByte.observe({ proxy: state.name, target: 'upstream' }, (performance.now() - info.started) / 1000) : undefined;
  try {
    await relay(answer.body, res, firstByte);
  } catch (err) {
    // Headers are out: all we can do is cut the stream so the client sees it incomplete.
    if (!cancelled) env.log.warn('upstream stream broke', { requestId: info.id, error: err instanceof Error ? err.message : String(err) });
    res.destroy();
  }
}

/**
 * Copies the upstream body to the client as it arrives, with backpressure. The response
 * is corked for the rest of the tick a chunk arrives in, so the SSE events of one read of
 * the upstream socket (and the response headers, with the first one) leave in one write
 * instead of one syscall each; nothing waits for a later tick. Resolves when the answer
 * ended or the client went away (the caller's cancel signal stops the upstream then);
 * rejects when the upstream body fails.
 */
/** True once the upstream body is complete and every chunk of it was handed to us. */
function upstreamFinished(body: Readable): boolean {
  // _readableState.ended (push(null) happened) has no public getter before 'end' is emitted.
  const state = (body as Readable & { _readableState?: { ended?: boolean } })._readableState;
  return state?.ended === true && body.readableLength === 0;
}

function relay(body: Readable, res: ServerResponse, onFirst: (() => void) | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let corked = false;
    let wrote = false;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      done();
      res.end();
      resolve();
    };
    const uncork = (): void => {
      corked = false;
      // The upstream's last chunks and its end usually arrive in one read: end now, so the
      // closing chunk of the response joins their write instead of costing a syscall alone.
      if (upstreamFinished(body)) end();
      res.uncork();
    };
    // Headers wait for the first chunk only within this turn of the event loop: an upstream
    // that sends its headers early still gets them to the client at once.
    const flush = setImmediate(() => {
      if (!wrote) res.flushHeaders();
    });
    const onData = (chunk: Buffer): void => {
      if (!wrote) {
        wrote = true;
        onFirst?.();
      }
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = (): void => {
      body.resume();
    };
    const done = (): void => {
      clearImmediate(flush);
      body.off('data', onData);
      res.off('drain', onDrain);
    };
    body.on('data', onData);
    res.on('drain', onDrain);
    body.once('end', end);
    body.once('error', (err) => {
      done();
      reject(err);
    });
    res.once('close', () => {
      if (res.writableFinished) return;
      done();
      body.destroy();
      resolve();
    });
  });
}
