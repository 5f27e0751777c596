// A loopback stand-in for an LLM provider that speaks Chat Completions (POST
// /v1/chat/completions, JSON or SSE chunks ending with `data: [DONE]`, tool calls, usage,
// OpenAI-shaped errors), answering each request as the test's script says. Every request
// body is recorded, so tests assert exactly what reached the model. Reusable by the
// proxy and gateway tests of stage 2.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelMessage {
  role: string;
  content: string | null;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface ModelRequest {
  headers: IncomingMessage['headers'];
  /** The raw body, for assertions that nothing (a secret) appears anywhere in it. */
  raw: string;
  body: {
    model: string;
    messages: ModelMessage[];
    tools?: Array<{
      type: string;
      function: { name: string; description?: string; parameters: Record<string, unknown> };
    }>;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
  };
}

export interface ScriptedCall {
  name: string;
  arguments: Record<string, unknown> | string;
  id?: string;
}

export interface ScriptedReply {
  content?: string;
  toolCalls?: ScriptedCall[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** An error status instead of an answer (429, 500, …), with OpenAI's error body. */
  status?: number;
  headers?: Record<string, string>;
  /** Waits this long before answering (a thinking model). */
  delayMs?: number;
}

/** Answers one request; `n` counts requests from 0. */
export type Script = (req: ModelRequest, n: number) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedModel {
  /** Base URL for Runtime.spec.llm (ends in /v1). */
  url: string;
  requests: ModelRequest[];
  close(): Promise<void>;
}

export const MODEL_KEY = 'sk-scripted-model-key-0123';

/** Replies taken in order, then `fallback` (default: a final answer "done"). */
export function inOrder(replies: ScriptedReply[], fallback: ScriptedReply = { content: 'done' }): Script {
  return (_req, n) => replies[n] ?? fallback;
}

/** The text of the last user message of a request. */
export function lastUser(req: ModelRequest): string {
  return req.body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

/** The tool messages of a request (results the loop sent back), in order. */
export function toolResults(req: ModelRequest): ModelMessage[] {
  return req.body.messages.filter((m) => m.role === 'tool');
}

export async function startScriptedModel(script: Script, opts: { key?: string } = {}): Promise<ScriptedModel> {
  const key = opts.key ?? MODEL_KEY;
  const requests: ModelRequest[] = [];
  let n = 0;
  let callSeq = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    const error = (status: number, message: string, code: string, headers: Record<string, string> = {}): void =>
      json(status, { error: { message, type: 'invalid_request_error', param: null, code } }, headers);
    if (req.headers.authorization !== `Bearer ${key}`)
      return error(401, 'Incorrect API key provided.', 'invalid_api_key');
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return error(404, 'not found', 'not_found');
    const body = JSON.parse(raw) as ModelRequest['body'];
    const seen: ModelRequest = { headers: req.headers, raw, body };
    requests.push(seen);
    const reply = await script(seen, n++);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.status && reply.status >= 400)
      return error(reply.status, `scripted error ${reply.status}`, `scripted_${reply.status}`, reply.headers ?? {});
    const calls = (reply.toolCalls ?? []).map((c) => ({
      id: c.id ?? `call_${++callSeq}`,
      type: 'function' as const,
      function: {
        name: c.name,
        arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
      },
    }));
    const usage = reply.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
    const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
    const finish = calls.length ? 'tool_calls' : 'stop';
    const base = { id: `chatcmpl-${n}`, created: 1700000000, model: body.model };
    if (body.stream !== true) {
      return json(
        200,
        {
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: reply.content ?? null,
                refusal: null,
                ...(calls.length ? { tool_calls: calls } : {}),
              },
              logprobs: null,
              finish_reason: finish,
            },
          ],
          usage: fullUsage,
        },
        reply.headers ?? {},
      );
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...(reply.headers ?? {}) });
    const send = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
      res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`);
    };
    const delta = (d: Record<string, unknown>, finishReason: string | null = null): void =>
      send([{ index: 0, delta: d, logprobs: null, finish_reason: finishReason }]);
    delta({ role: 'assistant', content: '' });
    // Content in word-sized pieces and each call's arguments in two pieces, as providers do.
    for (const word of (reply.content ?? '').split(/(?<= )/)) if (word) delta({ content: word });
    calls.forEach((c, index) => {
      const half = Math.floor(c.function.arguments.length / 2);
      delta({
        tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }],
      });
      delta({ tool_calls: [{ index, function: { arguments: c.function.arguments.slice(0, half) } }] });
      delta({ tool_calls: [{ index, function: { arguments: c.function.arguments.slice(half) } }] });
    });
    delta({}, finish);
    if (body.stream_options?.include_usage) send([], { usage: fullUsage });
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
