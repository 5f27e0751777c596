// The `fetch` the openai SDK is given: undici's request() on a keep-alive Agent, answered as
// a WHATWG Response. Through Node's bundled fetch each model call took 0.8–1.9 ms more
// (agent section of bench/RESULTS.md), which a run pays on its critical path every turn.

import { Agent } from 'undici';

/** Statuses whose Response must have a null body (the Response constructor throws otherwise). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * One pool of connections for every upstream of the process, kept alive between turns.
 * The SDK's own timer (the Runtime's llm.timeout) bounds the wait for the answer, so
 * undici's 300 s header timeout, shorter than a timeout one may configure, is off; the
 * body keeps undici's idle timeout between chunks, as Node's fetch has it.
 */
const dispatcher = new Agent({ headersTimeout: 0 });

/**
 * fetch(url, init) for the SDK. A Request object or a body that is not text or bytes
 * (uploads, form data, which the loop never sends) goes to Node's fetch unchanged.
 */
export async function upstreamFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = init.body;
  if (input instanceof Request || !(body == null || typeof body === 'string' || body instanceof Uint8Array))
    return fetch(input, init);
  const url = typeof input === 'string' ? new URL(input) : input;
  const r = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: init.method ?? 'GET',
    headers: headerRecord(init.headers),
    body: body ?? null,
    signal: init.signal ?? undefined,
  });
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(r.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.push([name, v]);
    else if (value !== undefined) headers.push([name, value]);
  }
  if (NULL_BODY_STATUS.has(r.statusCode)) {
    r.body.resume();
    return new Response(null, { status: r.statusCode, headers });
  }
  // An event stream stays a stream: SSE answers are read as they arrive, and an abort of
  // the SDK's signal ends it, as with fetch. Any other answer is read whole here, which the
  // SDK would do next anyway: wrapping undici's body in a web ReadableStream cost more per
  // turn than the whole read (bench/agent.ts, "SDK alone" rows).
  const type = r.headers['content-type'];
  if (typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream'))
    return new Response(r.body, { status: r.statusCode, headers });
  return new Response(await r.body.arrayBuffer(), { status: r.statusCode, headers });
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  if (h === undefined) return {};
  return Object.fromEntries(h instanceof Headers ? h : new Headers(h));
}
