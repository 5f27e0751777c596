// The agent's contract with the rest of Caduceus: what `runner.runAgent` takes and gives
// back, the names an allow-list may use, and the default limits. Callers (tasks, the CLI,
// and in stage 2 the proxy and the gateway) import these types, never controllers/agent.

import type { RunTrigger } from './types.js';
import type { AgentLimitsSpec, IsolationSpec } from './specs.js';
import { parseDuration } from './duration.js';

/** The model id under which a Proxy with `agent.enabled` serves the agent loop. */
export const AGENT_MODEL = 'caduceus/agent';

/** Tools every run may be given besides the skills; `shell` only when an allow-list names it. */
export const AGENT_BUILTIN_TOOLS = [
  'shell',
  'read_file',
  'write_file',
  'list_files',
  'http_get',
  'delegate',
  'remember',
] as const;
export type AgentBuiltinTool = (typeof AGENT_BUILTIN_TOOLS)[number];

/**
 * Names that stand for several tools in an allow-list: `skills` is every active skill,
 * `files` the three file tools, `http` is http_get.
 */
export const AGENT_TOOL_GROUPS: Readonly<Record<string, readonly AgentBuiltinTool[]>> = {
  skills: [],
  files: ['read_file', 'write_file', 'list_files'],
  http: ['http_get'],
};

/** The tools a group name stands for; only the groups' own keys (`toString` is no group). */
export function toolGroup(entry: string): readonly AgentBuiltinTool[] | undefined {
  return Object.hasOwn(AGENT_TOOL_GROUPS, entry) ? AGENT_TOOL_GROUPS[entry] : undefined;
}

/** Between a ToolServer's name and its tool's: `tickets__create`; `tickets__*` is every tool of it. */
export const SERVER_TOOL_SEPARATOR = '__';

/**
 * Why an allow-list entry is not a tool, or undefined when it names one (hasSkill: by name
 * or alias; hasServer: a ToolServer, whose tools are known only once it runs).
 */
export function unknownToolProblem(
  entry: string,
  hasSkill: (name: string) => boolean,
  hasServer: (name: string) => boolean = () => false,
): string | undefined {
  if ((AGENT_BUILTIN_TOOLS as readonly string[]).includes(entry) || toolGroup(entry)) return undefined;
  if (hasSkill(entry)) return undefined;
  const sep = entry.indexOf(SERVER_TOOL_SEPARATOR);
  if (sep > 0) {
    const server = entry.slice(0, sep);
    return hasServer(server) ? undefined : `"${entry}" names no ToolServer "${server}"`;
  }
  return notAToolProblem(entry);
}

/** The problem of an allow-list entry that is neither a builtin tool, a group, a skill nor a server tool. */
export function notAToolProblem(entry: string): string {
  const builtins = AGENT_BUILTIN_TOOLS.join(', ');
  return `"${entry}" is not an agent tool: use a skill name, one of ${builtins}, or a group (skills, files, http)`;
}

/** Limits of one run as the loop applies them (durations in ms). */
export interface AgentLimits {
  /** Model calls in one run. */
  maxTurns: number;
  /** Tool calls in one run, all turns together. */
  maxToolCalls: number;
  /** Wall-clock bound of the whole run. */
  timeoutMs: number;
  /** Bound of one tool call (a shell command, a skill run, an HTTP request). */
  toolTimeoutMs: number;
  /** Bytes of one tool result the model sees (and the trace keeps); the middle is cut. */
  toolOutputBytes: number;
  /** Prompt + completion tokens the run may spend; unset means no budget. */
  tokenBudget?: number;
  /** Wall-clock bound of one child started by `delegate`. */
  delegateTimeoutMs: number;
}

/** A subtask's `agent.limits` (durations as text) in the request's form (ms). */
export function limitsFromSpec(spec: Partial<AgentLimitsSpec> | undefined): Partial<AgentLimits> {
  if (!spec) return {};
  const out: Partial<AgentLimits> = {};
  if (spec.maxTurns !== undefined) out.maxTurns = spec.maxTurns;
  if (spec.maxToolCalls !== undefined) out.maxToolCalls = spec.maxToolCalls;
  if (spec.timeout !== undefined) out.timeoutMs = parseDuration(spec.timeout);
  if (spec.toolTimeout !== undefined) out.toolTimeoutMs = parseDuration(spec.toolTimeout);
  if (spec.toolOutputBytes !== undefined) out.toolOutputBytes = spec.toolOutputBytes;
  if (spec.tokenBudget !== undefined) out.tokenBudget = spec.tokenBudget;
  if (spec.delegateTimeout !== undefined) out.delegateTimeoutMs = parseDuration(spec.delegateTimeout);
  return out;
}

/** A Chat Completions message, as the loop keeps the conversation and stores it in the trace. */
export interface AgentMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface AgentRequest {
  /** The instruction; appended as the last user message. */
  prompt?: string;
  /** A conversation to continue (stage 2: the proxy client's messages). At least one of prompt, messages. */
  messages?: readonly AgentMessage[];
  /** Allow-list: skill names, builtin tool names, groups; default: the Runtime's `agent.tools`. */
  tools?: readonly string[];
  /** Laid over the Runtime's `agent.limits`, field by field. */
  limits?: Partial<AgentLimits>;
  /** System text placed after the project context (a skill's playbook, a channel's rules). */
  instructions?: string;
  /** Isolation of the run's shell and skill tools (a Task's `spec.isolation`). */
  isolation?: IsolationSpec;
  /** An existing workspace to work in (the caller removes it); default: a fresh one per run. */
  workspace?: string;
  /** Ask the upstream for a streamed answer; deltas reach onProgress. Default: Runtime `llm.stream`. */
  stream?: boolean;
  trigger: RunTrigger;
  signal?: AbortSignal;
  /** Tool calls as they start and end, answer deltas when streaming; a child's events carry its runId. */
  onProgress?: (e: AgentEvent) => void;
  /** Run-history id of the caller (a task run), recorded as this run's parent. */
  parentRunId?: string;
  /** Name of the run in the history (`ask`, a subtask's name); default `agent`. */
  name?: string;
}

export type ToolCallStatus = 'succeeded' | 'failed' | 'timedOut' | 'cancelled' | 'refused';

export type AgentEvent =
  | { type: 'turn'; runId: string; depth: number; turn: number }
  | {
      type: 'toolStart';
      runId: string;
      depth: number;
      turn: number;
      callId: string;
      tool: string;
      arguments: string;
    }
  | {
      type: 'toolEnd';
      runId: string;
      depth: number;
      turn: number;
      callId: string;
      tool: string;
      status: ToolCallStatus;
      durationMs: number;
      exitCode?: number;
      error?: string;
    }
  | { type: 'answerDelta'; runId: string; depth: number; text: string };

/** One tool call as made and answered; `result` is exactly what the model was sent. */
export interface AgentToolCall {
  /** Order in the run, from 1. */
  seq: number;
  turn: number;
  /** The upstream's tool_call id. */
  id: string;
  tool: string;
  /** As the model sent them (JSON text), redacted. */
  arguments: string;
  status: ToolCallStatus;
  exitCode?: number;
  durationMs: number;
  /** Redacted and cut to toolOutputBytes. */
  result: string;
  error?: string;
  /** Run ids of what the call started: a skill run, delegated children. */
  childRunIds?: string[];
}

export interface AgentUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface AgentTurn {
  turn: number;
  /** Time from request to complete answer of this model call, retries included. */
  latencyMs: number;
  usage?: AgentUsage;
  finishReason: string;
  toolCalls: number;
}

export type AgentStopReason =
  | 'answer'
  | 'maxTurns'
  | 'maxToolCalls'
  | 'tokenBudget'
  | 'timeout'
  | 'cancelled'
  | 'upstreamError';

export interface AgentResult {
  /** The run's id in the history and its trace id: `caduceus runs show <runId>`. */
  runId: string;
  status: 'succeeded' | 'failed' | 'timedOut' | 'cancelled';
  stopReason: AgentStopReason;
  /** The final answer (empty when the run stopped before one). */
  answer: string;
  error?: string;
  model: string;
  durationMs: number;
  toolCalls: AgentToolCall[];
  turns: AgentTurn[];
  usage: AgentUsage;
  /** What `remember` collected (stage 2 proposes them as a memory edit). */
  notes: string[];
  /** The whole conversation, redacted, system messages included. */
  messages: AgentMessage[];
}
