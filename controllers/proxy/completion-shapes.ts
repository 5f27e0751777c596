// The Chat Completions bodies the proxy's own models answer with (a skill, `caduceus/agent`):
// one place for the shapes OpenAI clients parse, the whole completion and the streamed
// chunks, so both models stay in step with the SDKs that read them.

import type { RequestInfo } from './context.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export interface CompletionShapes {
  /** The whole answer as one `chat.completion`. */
  completion(content: string, usage: Usage): Record<string, unknown>;
  /** One `chat.completion.chunk` of a stream; `extra` adds top-level fields clients ignore. */
  chunk(
    delta: Record<string, unknown>,
    finish: string | null,
    extra?: Record<string, unknown>,
  ): Record<string, unknown>;
  /** The last chunk, no choices, carrying the usage (sent when stream_options.include_usage). */
  usageChunk(usage: Usage): Record<string, unknown>;
}

/** Shapes for one request: every body and chunk of an answer shares its id, time and model. */
export function completionShapes(info: RequestInfo, model: string): CompletionShapes {
  const base = { id: `chatcmpl-${info.id}`, created: Math.floor(Date.now() / 1000), model, system_fingerprint: null };
  return {
    completion: (content, usage) => ({
      ...base,
      object: 'chat.completion',
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' },
      ],
      usage,
    }),
    chunk: (delta, finish, extra = {}) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    }),
    usageChunk: (usage) => ({ ...base, object: 'chat.completion.chunk', choices: [], usage }),
  };
}

/** Whether a streamed request asked for the usage chunk at the end. */
export function wantsUsage(body: Record<string, unknown>): boolean {
  const opts = body.stream_options as { include_usage?: unknown } | undefined;
  return opts?.include_usage === true;
}
