// One model call of the loop through the official `openai` SDK, which owns retries with
// backoff (408/409/429/5xx, Retry-After honoured), per-request timeouts and SSE parsing.
// Clients are kept per upstream; their transport (upstream-fetch.ts) keeps connections
// alive across turns and runs.

import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions/completions';
import type { AgentMessage, AgentUsage } from '../../reconciler/agent-contract.js';
import type { Upstream } from './settings.js';
import { upstreamFetch } from './upstream-fetch.js';

export interface ModelReply {
  message: AgentMessage;
  finishReason: string;
  usage?: AgentUsage;
  latencyMs: number;
}

export interface ModelCall {
  messages: readonly AgentMessage[];
  tools: readonly ChatCompletionTool[];
  stream: boolean;
  signal: AbortSignal;
  onDelta?: (text: string) => void;
}

const clients = new Map<string, OpenAI>();

function clientFor(u: Upstream): OpenAI {
  const key = JSON.stringify([u.baseURL, u.apiKey ?? '', u.timeoutMs, u.maxRetries]);
  let c = clients.get(key);
  if (!c) {
    if (clients.size > 16) clients.clear(); // keys rotate; old clients are not worth keeping
    c = new OpenAI({
      baseURL: u.baseURL,
      // The SDK insists on a key; servers without auth (Ollama, a local vLLM) ignore this one.
      apiKey: u.apiKey ?? 'no-key',
      timeout: u.timeoutMs,
      maxRetries: u.maxRetries,
      fetch: upstreamFetch,
    });
    clients.set(key, c);
  }
  return c;
}

export async function callModel(u: Upstream, call: ModelCall): Promise<ModelReply> {
  const client = clientFor(u);
  // Our message shape is the Chat Completions one, minus the SDK's wide unions.
  const messages = call.messages as ChatCompletionMessageParam[];
  const tools = call.tools.length > 0 ? { tools: [...call.tools] } : {};
  const t0 = performance.now();
  let completion: ChatCompletion;
  if (call.stream) {
    const stream = client.chat.completions.stream(
      { model: u.model, messages, ...tools, stream_options: { include_usage: true } },
      { signal: call.signal },
    );
    const onDelta = call.onDelta;
    if (onDelta) stream.on('content.delta', (e) => onDelta(e.delta));
    completion = await stream.finalChatCompletion();
  } else {
    completion = await client.chat.completions.create({ model: u.model, messages, ...tools }, { signal: call.signal });
  }
  const latencyMs = performance.now() - t0;
  const choice = completion.choices[0];
  const msg = choice?.message;
  const message: AgentMessage = { role: 'assistant', content: msg?.content ?? null };
  const calls = (msg?.tool_calls ?? []).flatMap((tc) =>
    tc.type === 'function'
      ? [
          {
            id: tc.id,
            type: 'function' as const,
            function: { name: tc.function.name, arguments: tc.function.arguments },
          },
        ]
      : [],
  );
  if (calls.length > 0) message.tool_calls = calls;
  const usage = completion.usage
    ? {
        promptTokens: completion.usage.prompt_tokens,
        completionTokens: completion.usage.completion_tokens,
        totalTokens: completion.usage.total_tokens,
      }
    : undefined;
  return { message, finishReason: choice?.finish_reason ?? 'unknown', latencyMs, usage };
}

/** A message for people (and the trace) from an SDK error: status and the upstream's own words. */
export function upstreamErrorMessage(err: unknown): string {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return 'the LLM upstream did not answer in time';
  if (err instanceof OpenAI.APIConnectionError) return `cannot reach the LLM upstream: ${err.message}`;
  if (err instanceof OpenAI.APIError) return `the LLM upstream answered ${err.status ?? 'an error'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
