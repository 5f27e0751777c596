// What one agent run works with, read from the applied Runtime at the moment the run
// starts: the upstream (base URL, model, key resolved now so a rotated key applies at
// once), the limits with the request's laid over them, and the allow-list. A missing
// upstream, model or key fails closed here, naming what to set, before anything runs.

import type { Snapshot } from '../../reconciler/types.js';
import { resourcesOfKind } from '../../reconciler/types.js';
import type { AgentLimitsSpec, LlmSpec } from '../../reconciler/specs.js';
import type { AgentLimits, AgentRequest } from '../../reconciler/agent-contract.js';
import { defaultRuntime, runtimeWithDefaults } from '../../reconciler/runtime-defaults.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { parseDuration } from '../../reconciler/duration.js';
import { describeRef, resolveSecret } from '../../reconciler/secrets.js';
import type { ExecutionMode } from '../../reconciler/specs.js';

export interface Upstream {
  baseURL: string;
  model: string;
  /** The resolved key; undefined for servers without auth (Ollama, a local vLLM). */
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries: number;
  stream: boolean;
}

export interface RunSettings {
  upstream: Upstream;
  limits: AgentLimits;
  /** Allow-list of the Runtime, for runs that declare none. */
  defaultTools: readonly string[];
  context: readonly string[];
  /** Parallel tool calls of one turn, and delegated children, run at most this many at once. */
  concurrency: number;
  /** Bytes an http_get body may have (the http step's limit: the Runtime's output limit). */
  outputLimitBytes: number;
  /** Where shell tools run unless the request's isolation says otherwise. */
  mode: ExecutionMode;
}

/** The Runtime's settings for a run; throws LlmNotConfigured or SecretUnset (fail closed). */
export function runSettings(snap: Snapshot, req: AgentRequest, configDir: string | undefined): RunSettings {
  const runtime = resourcesOfKind(snap, 'Runtime')[0];
  // The schema's defaults fill whatever the Runtime (or its absence) leaves out.
  const rt = runtimeWithDefaults(runtime?.spec);
  const where = runtime ? `Runtime/${runtime.metadata.name}` : 'the Runtime';
  return {
    upstream: upstreamOf(rt.llm, where, configDir),
    limits: limitsOf(rt.agent.limits, req.limits),
    defaultTools: rt.agent.tools,
    context: rt.agent.context,
    concurrency: rt.concurrency.maximum,
    outputLimitBytes: rt.execution.outputLimitBytes,
    mode: req.isolation?.mode ?? rt.execution.mode,
  };
}

function upstreamOf(llm: LlmSpec | undefined, where: string, configDir: string | undefined): Upstream {
  if (!llm) {
    throw new CaduceusError('LlmNotConfigured', `agent runs need an LLM upstream, and ${where} has no spec.llm`, {
      hint: 'add spec.llm with baseURL, model and apiKey (valueFrom env or file) to the Runtime',
    });
  }
  if (!llm.model) {
    throw new CaduceusError('LlmNotConfigured', `agent runs need a model, and spec.llm of ${where} names none`, {
      hint: 'add spec.llm.model to the Runtime, e.g. gpt-4o-mini, or llama3.1 for Ollama',
    });
  }
  let apiKey: string | undefined;
  if (llm.apiKey) {
    try {
      apiKey = resolveSecret(llm.apiKey, configDir ? { baseDir: configDir } : {});
    } catch (err) {
      const hint = err instanceof CaduceusError ? err.hint : undefined;
      throw new CaduceusError(
        'SecretUnset',
        `the LLM key of ${where} (spec.llm.apiKey, ${describeRef(llm.apiKey)}) is unset or empty; ` +
          'agent runs stay off until it is set',
        { ...(hint ? { hint } : {}), cause: err },
      );
    }
  }
  return {
    baseURL: llm.baseURL,
    model: llm.model,
    apiKey,
    timeoutMs: parseDuration(llm.timeout ?? '2m'),
    maxRetries: llm.maxRetries ?? 2,
    stream: llm.stream ?? false,
  };
}

/** The schema's defaults < the Runtime's limits < the request's, field by field. */
export function limitsOf(
  runtime: Partial<AgentLimitsSpec> | undefined,
  req: Partial<AgentLimits> | undefined,
): AgentLimits {
  const spec = { ...defaultRuntime().agent.limits, ...definedOnly(runtime ?? {}) };
  const base: AgentLimits = {
    maxTurns: spec.maxTurns,
    maxToolCalls: spec.maxToolCalls,
    timeoutMs: parseDuration(spec.timeout),
    toolTimeoutMs: parseDuration(spec.toolTimeout),
    toolOutputBytes: spec.toolOutputBytes,
    delegateTimeoutMs: parseDuration(spec.delegateTimeout),
  };
  if (spec.tokenBudget !== undefined) base.tokenBudget = spec.tokenBudget;
  return { ...base, ...definedOnly(req ?? {}) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
