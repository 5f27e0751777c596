// Runs a skill as a chat completion. The reply's content is the skill's output; with
// stream: true the run's progress arrives as chunks (empty delta plus a
// `caduceus_progress` field, which OpenAI clients ignore) and the output as a content
// delta, ending with `data: [DONE]`. A failed run is a 500 `skill_error` (in-stream: an
// error event, as OpenAI sends mid-stream errors).

import type { ServerResponse } from 'node:http';
import type { ProxyEnv, ProxyState, RequestInfo } from '../context.js';
import type { Resource, SkillRunResult } from '../../../reconciler/types.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import type { ErrorCode } from '../../../reconciler/error-codes.js';
import type { ChatRequest } from './chat-completions.js';
import { NO_RETRY, ProxyHttpError, badRequest, modelNotFound } from '../openai-errors.js';
import { skillParams } from '../chat-params.js';
import { SseWriter } from '../sse.js';
import { sendJson } from '../../../reconciler/http-json.js';
import { completionShapes, wantsUsage, ZERO_USAGE } from '../completion-shapes.js';

const HEARTBEAT_MS = 15_000;
const ERROR_TAIL = 2000;

function failure(result: SkillRunResult): ProxyHttpError {
  const tail = result.output.length > ERROR_TAIL ? `…${result.output.slice(-ERROR_TAIL)}` : result.output;
  const why =
    result.error ?? result.steps.find((s) => s.status !== 'succeeded' && s.status !== 'skipped')?.error ?? 'no detail';
  const status = result.status === 'timedOut' ? 504 : 500;
  return new ProxyHttpError(
    status,
    'skill_error',
    `skill_${result.status === 'timedOut' ? 'timed_out' : result.status}`,
    `skill ${result.skill} ${result.status} (run ${result.runId}): ${why}${tail ? `\n${tail}` : ''}`,
    null,
    { ...NO_RETRY },
  );
}

/** Refusals by code: the OpenAI error a client gets when the runner will not start the run. */
const MODEL_NOT_FOUND: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UnknownSkill', 'TaskNotFound']);
const BAD_PARAMS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['MissingParam', 'UnknownParam', 'InvalidParam']);
const TOO_BUSY: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['QueueFull', 'CuratorBusy']);

/** A runner that refuses to start the run (unknown skill, bad params, queue full). */
function refused(err: unknown, model: string): ProxyHttpError {
  if (err instanceof ProxyHttpError) return err;
  if (!(err instanceof CaduceusError)) {
    return new ProxyHttpError(500, 'skill_error', 'skill_failed', err instanceof Error ? err.message : String(err));
  }
  const message = err.describe();
  if (MODEL_NOT_FOUND.has(err.code)) return modelNotFound(model);
  if (BAD_PARAMS.has(err.code)) return badRequest(message, err.field ?? null, 'invalid_params');
  if (TOO_BUSY.has(err.code))
    return new ProxyHttpError(429, 'requests', 'queue_full', message, null, { 'retry-after': '5' });
  if (err.code === 'RunnerUnavailable') return new ProxyHttpError(503, 'server_error', 'runner_unavailable', message);
  return new ProxyHttpError(500, 'skill_error', 'skill_failed', message, null, { ...NO_RETRY });
}

/**
 * A skill gives one answer and calls no tools: asking for more choices or for tool calls
 * is refused rather than silently ignored, so a client does not wait for what never comes.
 */
function refuseUnsupported(body: Record<string, unknown>, skill: Resource<'Skill'>): void {
  const why = `skill/${skill.metadata.name} is a skill, which gives one answer and calls no tools`;
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    throw badRequest(
      `n=${JSON.stringify(body.n)} is not supported: ${why}; send n=1 or leave it out`,
      'n',
      'unsupported_parameter',
    );
  for (const p of ['tools', 'functions'] as const) {
    const v = body[p];
    if (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null)
      throw badRequest(`${p} is not supported: ${why}; leave ${p} out`, p, 'unsupported_parameter');
  }
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null && choice !== 'none' && choice !== 'auto')
    throw badRequest(`tool_choice is not supported: ${why}`, 'tool_choice', 'unsupported_parameter');
}

export async function skillCompletion(
  env: ProxyEnv,
  state: ProxyState,
  skill: Resource<'Skill'>,
  chat: ChatRequest,
  res: ServerResponse,
  info: RequestInfo,
): Promise<void> {
  refuseUnsupported(chat.body, skill);
  const params = skillParams(chat.body, chat.messages, skill);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const shapes = completionShapes(info, chat.model);
  const run = (onProgress?: Parameters<ProxyEnv['runner']['runSkill']>[2]['onProgress']): Promise<SkillRunResult> =>
    env.runner.runSkill(skill.metadata.name, params, {
      trigger: { source: 'proxy', actor: info.keyId },
      signal: abort.signal,
      onProgress,
    });

  if (!chat.stream) {
    let result: SkillRunResult;
    try {
      result = await run();
    } catch (err) {
      throw refused(err, chat.model);
    }
    if (abort.signal.aborted) return;
    if (result.status !== 'succeeded') throw failure(result);
    return sendJson(res, 200, shapes.completion(result.output, ZERO_USAGE));
  }

  const sse = new SseWriter(res, () =>
    env.metrics.firstByte.observe({ proxy: state.name, target: 'skill' }, (performance.now() - info.started) / 1000),
  );
  const { chunk } = shapes;
  sse.open();
  sse.keepAlive(HEARTBEAT_MS);
  sse.event(chunk({ role: 'assistant', content: '' }, null));
  try {
    const result = await run((p) => sse.event(chunk({}, null, { caduceus_progress: p })));
    if (abort.signal.aborted) return;
    if (result.status !== 'succeeded') {
      sse.event(failure(result).body());
    } else {
      if (result.output !== '') sse.event(chunk({ content: result.output }, null));
      sse.event(chunk({}, 'stop'));
      if (wantsUsage(chat.body)) sse.event(shapes.usageChunk(ZERO_USAGE));
    }
  } catch (err) {
    sse.event(refused(err, chat.model).body());
  } finally {
    sse.done();
  }
}
