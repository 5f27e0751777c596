// The transport the agent's openai client is given (upstream-fetch.ts): what a fetch
// caller relies on, against a real HTTP server on 127.0.0.1: the request as sent, every
// response header, null bodies, a streamed body read as it arrives, aborts named as
// fetch names them (the SDK tells a timeout by that name), and bodies it leaves to fetch.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamFetch } from '../../../controllers/agent/upstream-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(answer: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<{
  origin: string;
  seen: Seen[];
}> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      answer(req, res, s);
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('upstreamFetch', () => {
  it('sends method, path, query, headers and body, and answers with status, every header and the body', async () => {
    const { origin, seen } = await serve((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end('{"ok":true}');
    });
    const res = await upstreamFetch(`${origin}/v1/chat/completions?api-version=2`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }),
      body: '{"model":"m"}',
    });
    expect(seen).toEqual([
      expect.objectContaining({ method: 'POST', url: '/v1/chat/completions?api-version=2', body: '{"model":"m"}' }),
    ]);
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/json' });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-request-id')).toBe('req_1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('takes headers as a plain object and a body as bytes', async () => {
    const { origin, seen } = await serve((_req, res) => res.end('done'));
    const res = await upstreamFetch(new URL(`${origin}/p`), {
      method: 'PUT',
      headers: { 'x-one': '1' },
      body: new TextEncoder().encode('bytes'),
    });
    expect(await res.text()).toBe('done');
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/p', body: 'bytes', headers: { 'x-one': '1' } });
  });

  it('answers a 204 with a null body, as fetch does', async () => {
    const { origin } = await serve((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const res = await upstreamFetch(`${origin}/x`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });

  it('hands over a streamed body as it arrives, before the server has ended it', async () => {
    let finish: (() => void) | undefined;
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      finish = () => res.end('data: [DONE]\n\n');
    });
    const res = await upstreamFetch(`${origin}/sse`, { method: 'POST', body: '{}' });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n');
    finish?.();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('data: [DONE]\n\n');
  });

  it('rejects with an AbortError when the signal aborts before the answer or while the body streams', async () => {
    const { origin } = await serve((req, res) => {
      if (req.url === '/never') return; // no answer: only the abort ends the request
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
    });
    const before = new AbortController();
    const pending = upstreamFetch(`${origin}/never`, { method: 'POST', body: '{}', signal: before.signal });
    before.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const during = new AbortController();
    const res = await upstreamFetch(`${origin}/stream`, { method: 'POST', body: '{}', signal: during.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    during.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('leaves a body that is neither text nor bytes to Node fetch', async () => {
    const { origin, seen } = await serve((_req, res) => res.end('ok'));
    const form = new FormData();
    form.set('purpose', 'batch');
    const res = await upstreamFetch(`${origin}/v1/files`, { method: 'POST', body: form });
    expect(await res.text()).toBe('ok');
    expect(seen[0]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[0]?.body).toContain('name="purpose"\r\n\r\nbatch');
  });
});
