// What a tool is to the loop: a name, a description and a JSON Schema for the model, and
// an execute function that gets the parsed arguments and the run it belongs to. Tools
// never throw for bad input: they answer with a failed outcome the model can read.

import type { Runner, RunTrigger, Snapshot } from '../../../reconciler/types.js';
import type { IsolationSpec } from '../../../reconciler/specs.js';
import type { AgentEvent, AgentResult, ToolCallStatus } from '../../../reconciler/agent-contract.js';
import type { ExecutionMode } from '../../../reconciler/specs.js';

export interface ToolOutcome {
  status: ToolCallStatus;
  /** What the model is told (before redaction and the output cut). */
  text: string;
  exitCode?: number;
  error?: string;
  childRunIds?: string[];
}

/** A child agent as `delegate` asks for it. */
export interface ChildRequest {
  name: string;
  prompt: string;
  tools?: string[];
}

/** The run a tool call belongs to. */
export interface ToolRun {
  runId: string;
  depth: number;
  workspace: string;
  isolation?: IsolationSpec;
  /** Where shell commands run: decides whether written files must be opened up to the sandbox user. */
  mode: ExecutionMode;
  trigger: RunTrigger;
  runner: Runner;
  snapshot: Snapshot;
  /** Bound of this call; aborted on timeout or when the run stops. */
  signal: AbortSignal;
  timeoutMs: number;
  /** The http step's body limit (the Runtime's output limit). */
  outputLimitBytes: number;
  notes: string[];
  /** Tools this run may use, as resolved names; children get a subset. */
  allowed: readonly string[];
  /** Starts child agents (delegate), at most the Runtime's concurrency maximum at once. */
  delegate(children: readonly ChildRequest[], signal: AbortSignal): Promise<AgentResult[]>;
  emit(e: AgentEvent): void;
}

export interface AgentTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  execute(args: Record<string, unknown>, run: ToolRun): Promise<ToolOutcome>;
}

export function failed(text: string, extra: Partial<ToolOutcome> = {}): ToolOutcome {
  return { status: 'failed', text: `error: ${text}`, error: text, ...extra };
}
