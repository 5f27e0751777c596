// A loopback stand-in for an LLM provider, speaking the documented OpenAI protocols:
// GET /v1/models and /v1/models/{id}, POST /v1/chat/completions (JSON or SSE chunks ending
// with `data: [DONE]`, tool calls when tools are offered), POST /v1/responses (JSON, or
// typed SSE events ending with response.completed), /v1/embeddings, /v1/completions, and
// OpenAI-shaped errors. It records every request so tests can assert what the proxy sent.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
}

export interface FakeUpstream {
  url: string;
  seen: SeenRequest[];
  /** Requests whose client (the proxy) went away before the answer was complete. */
  abandoned(): number;
  /** Requests held so far by model `hold` or `headers-first` (waiting for release), in all. */
  held(): number;
  /** Lets requests for model `hold` finish. */
  release(): void;
  /** Lets the pending streams of model `headers-first` (headers sent, no chunk yet) go on. */
  releaseStreams(): void;
  close(): Promise<void>;
}

const KEY = 'upstream-secret-key';
export const UPSTREAM_KEY = KEY;

function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text ? (JSON.parse(text) as Record<string, unknown>) : undefined);
    });
  });
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  let releases: Array<() => void> = [];
  let released = false;
  let abandoned = 0;
  let held = 0;
  let streamGates: Array<() => void> = [];
  const server: Server = createServer(async (req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    const body = await readJson(req);
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'upstream-req-1', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      return json(401, {
        error: {
          message: 'Incorrect API key provided.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      return json(200, {
        object: 'list',
        data: [{ id: 'gpt-test', object: 'model', created: 1700000000, owned_by: 'upstream' }],
      });
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/models/')) {
      const id = decodeURIComponent(req.url.slice('/v1/models/'.length));
      if (id === 'gpt-test') return json(200, { id, object: 'model', created: 1700000000, owned_by: 'upstream' });
      return json(404, {
        error: {
          message: `The model '${id}' does not exist`,
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      });
    }
    if (req.method === 'POST' && req.url === '/v1/embeddings' && body) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return json(200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3] })),
        model: body.model,
        usage: { prompt_tokens: 2, total_tokens: 2 },
      });
    }
    if (req.method === 'POST' && req.url === '/v1/completions' && body) {
      return json(200, {
        id: 'cmpl-up1',
        object: 'text_completion',
        created: 1700000000,
        model: body.model,
        choices: [{ index: 0, text: `completed: ${String(body.prompt)}`, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
      });
    }
    if (req.method === 'POST' && req.url === '/v1/responses' && body) {
      const text = `responded: ${typeof body.input === 'string' ? body.input : JSON.stringify(body.input)}`;
      const response = (status: string, output: unknown[]): Record<string, unknown> => ({
        id: 'resp_up1',
        object: 'response',
        created_at: 1700000000,
        status,
        model: body.model,
        output,
        usage: { input_tokens: 2, output_tokens: 2, total_tokens: 4 },
      });
      const message = {
        id: 'msg_up1',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text, annotations: [] }],
      };
      if (body.stream !== true) return json(200, response('completed', [message]));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let seq = 0;
      const event = (type: string, data: Record<string, unknown>): void => {
        res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
      };
      event('response.created', { response: response('in_progress', []) });
      for (const delta of text.split(/(?<= )/))
        event('response.output_text.delta', { item_id: 'msg_up1', output_index: 0, content_index: 0, delta });
      event('response.completed', { response: response('completed', [message]) });
      res.end();
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || !body)
      return json(404, { error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } });
    const model = String(body.model);
    const messages = body.messages as Array<{ role: string; content: string }>;
    const last = messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    if (model === 'broken') {
      return json(
        500,
        {
          error: {
            message: 'The server had an error while processing your request.',
            type: 'server_error',
            param: null,
            code: 'upstream_exploded',
          },
        },
        { 'x-upstream-marker': 'kept' },
      );
    }
    if (model === 'slow') await new Promise((r) => setTimeout(r, 3000));
    if (model === 'hold' && !released) {
      held++;
      await new Promise<void>((r) => releases.push(r));
    }
    const tools = Array.isArray(body.tools) && body.tools.length > 0;
    const base = { id: 'chatcmpl-up1', created: 1700000000, model, system_fingerprint: 'fp_test' };
    const toolCall = {
      id: 'call_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    };
    if (body.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (model === 'big') {
        // 4 MiB of SSE events written as fast as the socket takes them: exercises backpressure.
        const choice = { index: 0, delta: { content: 'x'.repeat(8000) }, logprobs: null, finish_reason: null };
        const event = `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [choice] })}\n\n`;
        for (let i = 0; i < 512; i++) if (!res.write(event)) await new Promise((r) => res.once('drain', r));
        res.end('data: [DONE]\n\n');
        return;
      }
      if (model === 'headers-first') {
        // Headers now, chunks only when the test says so (a model still thinking).
        res.flushHeaders();
        held++;
        await new Promise<void>((r) => streamGates.push(r));
      }
      const send = (delta: Record<string, unknown>, finish: string | null): boolean =>
        res.write(
          `data: ${JSON.stringify({
            ...base,
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
          })}\n\n`,
        );
      send({ role: 'assistant', content: '' }, null);
      if (tools) {
        send(
          {
            tool_calls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
            ],
          },
          null,
        );
        send({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null);
        send({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null);
        send({}, 'tool_calls');
      } else {
        for (const word of `echo: ${last}`.split(/(?<= )/)) {
          send({ content: word }, null);
          await new Promise((r) => setTimeout(r, 5));
        }
        send({}, 'stop');
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    const message = tools
      ? { role: 'assistant', content: null, tool_calls: [toolCall], refusal: null }
      : { role: 'assistant', content: `echo: ${last}`, refusal: null };
    json(200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: tools ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    abandoned: () => abandoned,
    held: () => held,
    release: () => {
      released = true;
      for (const r of releases) r();
      releases = [];
    },
    releaseStreams: () => {
      for (const r of streamGates) r();
      streamGates = [];
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
