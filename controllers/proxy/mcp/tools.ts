// The applied snapshot as MCP tools: every skill by its name, its typed params as the
// input schema; every Task as `task_<name>` (no arguments) when a field allows it. A call
// runs through the late-bound runner like any other run (trigger `mcp`), inside the
// Runtime's limits, and its output is the result; a run that does not succeed, or params
// the skill refuses, come back with isError so the client's model can read why.

import { createHash } from 'node:crypto';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ParamValue, RunProgress, RunTrigger, Runner, Snapshot } from '../../../reconciler/types.js';
import { getResource, resourcesOfKind } from '../../../reconciler/types.js';
import { findSkill } from '../../../reconciler/skill-names.js';
import { paramsJsonSchema } from '../../../reconciler/skill-params.js';
import { skillInstructions } from '../../../reconciler/skill-md.js';
import { effectiveRuntime } from '../../../reconciler/runtime-defaults.js';
import { CaduceusError, errorMessage } from '../../../reconciler/errors.js';
import { formatDuration } from '../../../reconciler/duration.js';
import type { RunGate } from './run-gate.js';

/** Task tools are named `task_<name>`: `_` is no character of a skill name, so the two never collide. */
export const TASK_TOOL_PREFIX = 'task_';

/** The last characters of a failed run's output the client sees. */
const ERROR_TAIL = 4000;

export interface McpToolEnv {
  snapshot(): Snapshot;
  runner: Runner;
  gate: RunGate;
  /** Whether tasks are tools too (Proxy `spec.mcp.tasks`, `caduceus mcp --tasks`). */
  tasks(): boolean;
}

export interface McpCall {
  trigger: RunTrigger;
  signal: AbortSignal;
  onProgress?: (p: RunProgress) => void;
}

export function listTools(snap: Snapshot, withTasks: boolean): Tool[] {
  const byName = (a: { metadata: { name: string } }, b: { metadata: { name: string } }): number =>
    a.metadata.name.localeCompare(b.metadata.name);
  const tools: Tool[] = resourcesOfKind(snap, 'Skill')
    .sort(byName)
    .map((s) => ({
      name: s.metadata.name,
      description: `${s.spec.description} (skill ${s.metadata.name}@${s.spec.version})`,
      inputSchema: paramsJsonSchema(s.spec.params) as Tool['inputSchema'],
    }));
  if (withTasks) {
    for (const t of resourcesOfKind(snap, 'Task').sort(byName)) {
      tools.push({
        name: TASK_TOOL_PREFIX + t.metadata.name,
        description:
          `${t.spec.description ?? `Runs the task ${t.metadata.name}`} ` +
          `(task ${t.metadata.name}: ${t.spec.subtasks.length} subtask(s); the result is its report)`,
        inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      });
    }
  }
  return tools;
}

/** A digest of the tool list: equal lists, equal keys; a changed skill changes it. */
export function toolListKey(snap: Snapshot, withTasks: boolean): string {
  return createHash('sha256')
    .update(JSON.stringify(listTools(snap, withTasks)))
    .digest('hex');
}

/** Runs one tool call. Throws McpError only for a tool that does not exist (a protocol error). */
export async function callTool(
  env: McpToolEnv,
  name: string,
  args: Record<string, unknown> | undefined,
  call: McpCall,
): Promise<CallToolResult> {
  const snap = env.snapshot();
  const limits = effectiveRuntime(snap).concurrency;
  try {
    if (name.startsWith(TASK_TOOL_PREFIX) && env.tasks()) {
      const task = getResource(snap, 'Task', name.slice(TASK_TOOL_PREFIX.length));
      if (!task) throw unknownTool(name);
      return await env.gate.run(limits, () => runTask(env, task.metadata.name, call));
    }
    const skill = findSkill(snap, name);
    if (!skill) throw unknownTool(name);
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(args ?? {})) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        return toolError(`param "${k}" must be a string, number or boolean, got ${JSON.stringify(v)}`);
      params[k] = v;
    }
    return await env.gate.run(limits, async () => {
      const r = await env.runner.runSkill(skill.metadata.name, params, call);
      // A skill with instructions hands them to the client's model (its run is recorded all the same).
      const guide = skill.spec.instructions ? skillInstructions(skill) : undefined;
      if (r.status === 'succeeded') {
        const text = guide === undefined ? r.output : skill.spec.steps.length ? `${guide}\n\n${r.output}` : guide;
        return { content: [{ type: 'text', text }] };
      }
      const why = r.error ?? r.steps.find((s) => s.status !== 'succeeded' && s.status !== 'skipped')?.error;
      return toolError(`skill ${r.skill} ${r.status} (run ${r.runId})${why ? `: ${why}` : ''}${tail(r.output)}`);
    });
  } catch (err) {
    if (err instanceof McpError) throw err;
    // Refused before running (bad params, queue full): the message names the param or the limit.
    return toolError(err instanceof CaduceusError ? err.describe() : errorMessage(err));
  }
}

async function runTask(env: McpToolEnv, name: string, call: McpCall): Promise<CallToolResult> {
  const r = await env.runner.runTask(name, call);
  const lines = [`task ${r.task} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId})`];
  for (const s of r.subtasks) {
    lines.push(`\n## ${s.name}: ${s.status} (${s.attempts} attempt(s))${s.error ? `: ${s.error}` : ''}`);
    if (s.output) lines.push(s.output.trimEnd());
  }
  const text = lines.join('\n');
  return r.status === 'succeeded' ? { content: [{ type: 'text', text }] } : toolError(text);
}

function tail(output: string): string {
  if (output === '') return '';
  return `\n${output.length > ERROR_TAIL ? `…${output.slice(-ERROR_TAIL)}` : output}`;
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function unknownTool(name: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `unknown tool "${name}": tools/list names the tools of this server`);
}
