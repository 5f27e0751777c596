// The `caduceus/agent` model: the client's messages run through the agent loop here, with
// the Proxy's allow-list, the Runtime's limits and the project context, and the final
// answer comes back as a chat completion carrying the run's token usage. With stream:
// true, tool calls show as SSE comments (clients skip them) while they run and the answer
// as content deltas, then `data: [DONE]`. Failures are OpenAI-shaped errors with
// x-should-retry: false, since an SDK retry would run the whole agent again.

import type { ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import type { AgentEvent, AgentMessage, AgentRequest, AgentResult } from '../../../reconciler/agent-contract.js';
import { AGENT_MODEL } from '../../../reconciler/agent-contract.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import type { ErrorCode } from '../../../reconciler/error-codes.js';
import type { ChatRequest } from './chat-completions.js';
import { ProxyHttpError, badRequest } from '../openai-errors.js';
import { SseWriter } from '../sse.js';
import { sendJson } from '../../../reconciler/http-json.js';
import { completionShapes, wantsUsage, type Usage } from '../completion-shapes.js';

const HEARTBEAT_MS = 15_000;
const NO_RETRY = { 'x-should-retry': 'false' };

export async function agentCompletion(
  env: ProxyEnv,
  state: ProxyState,
  chat: ChatRequest,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  const runAgent = env.runner.runAgent?.bind(env.runner);
  if (!runAgent) throw new ProxyHttpError(503, 'server_error', 'agent_unavailable', 'the agent is not registered');
  if (typeof chat.body.n === 'number' && chat.body.n !== 1)
    throw badRequest(`${AGENT_MODEL} answers with one choice; n must be 1`, 'n', 'invalid_value');
  const messages = agentMessages(chat.messages);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const shapes = completionShapes(info, AGENT_MODEL);
  const request = (onProgress?: (e: AgentEvent) => void): AgentRequest => ({
    messages,
    tools: state.spec.agent?.tools,
    stream: chat.stream,
    trigger: { source: 'proxy', actor: info.keyId },
    signal: abort.signal,
    name: `proxy/${state.name}`,
    onProgress,
  });

  if (!chat.stream) {
    let result: AgentResult;
    try {
      result = await runAgent(request());
    } catch (err) {
      throw refused(err);
    }
    if (abort.signal.aborted) return;
    res.setHeader('x-caduceus-run-id', result.runId);
    if (result.status !== 'succeeded') throw failure(result);
    return sendJson(res, 200, shapes.completion(result.answer, usageOf(result)));
  }

  const sse = new SseWriter(res, () =>
    env.metrics.firstByte.observe({ proxy: state.name, target: 'agent' }, (performance.now() - info.started) / 1000),
  );
  const { chunk } = shapes;
  sse.open();
  sse.keepAlive(HEARTBEAT_MS);
  sse.event(chunk({ role: 'assistant', content: '' }, null));
  // Text a turn streamed before it called tools stays in the answer; the next turn's text
  // starts on a new paragraph.
  let streamed = false;
  let paragraph = false;
  const onProgress = (e: AgentEvent): void => {
    if (e.type === 'answerDelta') {
      if (e.depth > 0 || e.text === '') return;
      sse.event(chunk({ content: paragraph ? `\n\n${e.text}` : e.text }, null));
      streamed = true;
      paragraph = false;
      return;
    }
    if (e.type === 'turn' && e.depth === 0 && e.turn > 1 && streamed) paragraph = true;
    const line = progressLine(e);
    if (line) sse.comment(line);
  };
  try {
    const result = await runAgent(request(onProgress));
    if (abort.signal.aborted) return;
    sse.comment(`caduceus run ${result.runId}`);
    if (result.status !== 'succeeded') {
      sse.event(failure(result).body());
    } else {
      if (!streamed && result.answer !== '') sse.event(chunk({ content: result.answer }, null));
      sse.event(chunk({}, 'stop'));
      if (wantsUsage(chat.body)) sse.event(shapes.usageChunk(usageOf(result)));
    }
  } catch (err) {
    sse.event(refused(err).body());
  } finally {
    sse.done();
  }
}

/**
 * The client's conversation in the loop's terms: `developer` is a system message, text
 * parts are joined; anything but text (images, audio) is refused, since the loop only
 * carries text to the upstream.
 */
export function agentMessages(messages: ReadonlyArray<Record<string, unknown>>): AgentMessage[] {
  const out: AgentMessage[] = [];
  messages.forEach((m, i) => {
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool')
      throw badRequest(
        `messages[${i}].role "${String(m.role)}" is not one ${AGENT_MODEL} takes ` +
          '(system, developer, user, assistant, tool)',
        `messages[${i}].role`,
        'invalid_value',
      );
    const msg: AgentMessage = { role, content: textOf(m.content, i) };
    if (role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0)
      msg.tool_calls = m.tool_calls as NonNullable<AgentMessage['tool_calls']>;
    if (role === 'tool') {
      if (typeof m.tool_call_id !== 'string')
        throw badRequest(
          `messages[${i}] is a tool message without tool_call_id`,
          `messages[${i}].tool_call_id`,
          'missing_required_parameter',
        );
      msg.tool_call_id = m.tool_call_id;
    }
    out.push(msg);
  });
  if (!out.some((m) => m.role === 'user'))
    throw badRequest(`${AGENT_MODEL} needs at least one user message`, 'messages', 'invalid_value');
  return out;
}

function textOf(content: unknown, i: number): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw badRequest(`messages[${i}].content must be a string or an array of parts`, `messages[${i}].content`);
  return content
    .map((part: unknown, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== 'text' || typeof p.text !== 'string')
        throw badRequest(
          `${AGENT_MODEL} takes text only; messages[${i}].content[${j}] is ${String(p?.type ?? typeof part)}`,
          `messages[${i}].content[${j}]`,
          'invalid_value',
        );
      return p.text;
    })
    .join('');
}

function usageOf(r: AgentResult): Usage {
  return {
    prompt_tokens: r.usage.promptTokens,
    completion_tokens: r.usage.completionTokens,
    total_tokens: r.usage.totalTokens,
  };
}

/** One comment line per tool call start and end (children of delegate marked with their depth). */
function progressLine(e: AgentEvent): string | undefined {
  const who = e.depth > 0 ? `child ${e.runId.slice(0, 8)} ` : '';
  if (e.type === 'toolStart') return `${who}tool ${e.tool} started (turn ${e.turn})`;
  if (e.type === 'toolEnd') {
    const exit = e.exitCode !== undefined ? ` (exit code ${e.exitCode})` : '';
    return `${who}tool ${e.tool} ${e.status} in ${Math.round(e.durationMs)} ms${exit}`;
  }
  return undefined;
}

/** A run that ended without an answer, as the error a client gets. */
function failure(r: AgentResult): ProxyHttpError {
  const why = `${AGENT_MODEL} run ${r.runId} ${r.status} (${r.stopReason}): ${r.error ?? 'no answer'}`;
  if (r.stopReason === 'upstreamError')
    return new ProxyHttpError(502, 'upstream_error', 'upstream_error', why, null, NO_RETRY);
  if (r.status === 'timedOut') return new ProxyHttpError(504, 'agent_error', 'agent_timed_out', why, null, NO_RETRY);
  const code = `agent_${r.stopReason.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
  return new ProxyHttpError(500, 'agent_error', code, why, null, NO_RETRY);
}

const UNAVAILABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LlmNotConfigured',
  'SecretUnset',
  'RunnerUnavailable',
]);
const BUSY: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['QueueFull']);

/** Why the runner would not start the run, as the error a client gets. */
function refused(err: unknown): ProxyHttpError {
  if (err instanceof ProxyHttpError) return err;
  if (!(err instanceof CaduceusError))
    return new ProxyHttpError(500, 'server_error', 'agent_failed', err instanceof Error ? err.message : String(err));
  const message = err.describe();
  if (UNAVAILABLE.has(err.code))
    return new ProxyHttpError(503, 'server_error', 'agent_unavailable', message, null, NO_RETRY);
  if (BUSY.has(err.code))
    return new ProxyHttpError(429, 'requests', 'queue_full', message, null, { 'retry-after': '5' });
  if (err.code === 'InvalidAgentRequest') return badRequest(message, err.field ?? 'messages', 'invalid_request');
  if (err.code === 'UnknownAgentTool')
    return new ProxyHttpError(500, 'server_error', 'agent_misconfigured', message, null, NO_RETRY);
  return new ProxyHttpError(500, 'server_error', 'agent_failed', message, null, NO_RETRY);
}
