// `caduceus runs show ID`: one recorded run, readably. An agent run prints its trace turn
// by turn (each tool call with its arguments, outcome and result), then the answer; a
// skill or task run prints its steps or subtasks. Runs it started are listed after.

import type { RunRecord } from '../../reconciler/state/runs.js';
import type { SkillRunResult, StepResult, TaskReport } from '../../reconciler/types.js';
import type { AgentTrace } from '../../controllers/agent/trace-store.js';
import { table } from '../../reconciler/cli/state-access.js';
import { formatDuration } from '../../reconciler/duration.js';
import { describeSkill, describeTask, tail } from './run-report.js';

/** Lines of one tool result printed under its call. */
const RESULT_LINES = 8;

export function describeRun(run: RunRecord, trace: AgentTrace | undefined, children: RunRecord[]): string {
  let out: string;
  if (run.kind === 'agent') out = describeAgent(run, trace);
  else if (run.status === 'running') out = `${run.kind} ${run.name} is running (run ${run.id})\n`;
  else if (run.status === 'abandoned')
    out = `${run.kind} ${run.name} was abandoned (run ${run.id}): ${run.error ?? ''}\n`;
  else if (run.kind === 'task' && isTaskReport(run.report)) out = describeTask(run.report);
  else out = describeSkill(skillResult(run));
  if (children.length) {
    const rows = children.map((c) => [
      c.id.slice(0, 8),
      c.kind,
      c.version ? `${c.name}@${c.version}` : c.name,
      c.status,
      c.durationMs === null ? '-' : formatDuration(c.durationMs),
    ]);
    out += `\nstarted by this run:\n${table(['ID', 'KIND', 'NAME', 'STATUS', 'DURATION'], rows)}`;
  }
  return out;
}

function describeAgent(run: RunRecord, trace: AgentTrace | undefined): string {
  const took = run.durationMs === null ? '' : ` in ${formatDuration(run.durationMs)}`;
  let out = `agent run ${run.id} (${run.name}) ${run.status}${took}\n`;
  const actor = run.actor ? ` (${run.actor})` : '';
  out += `  trigger ${run.trigger}${actor}, started ${new Date(run.startedAt).toISOString()}`;
  out += run.parentId ? `, parent ${run.parentId}\n` : '\n';
  if (run.error) out += `  error: ${run.error}\n`;
  if (!trace) return `${out}  (no trace stored${run.status === 'running' ? ': the run is in progress' : ''})\n`;
  const u = trace.usage;
  const counts = `${trace.turns.length} turn(s), ${trace.toolCalls.length} tool call(s)`;
  const tokens = `${u.totalTokens} tokens (${u.promptTokens} prompt, ${u.completionTokens} completion)`;
  out += `  model ${trace.model}, stopped: ${trace.stopReason}; ${counts}, ${tokens}\n`;
  const prompt = trace.messages.filter((m) => m.role === 'user').at(-1)?.content;
  if (prompt) out += `\nprompt:\n${tail(prompt)}\n`;
  for (const t of trace.turns) {
    const tokens = t.usage ? `, ${t.usage.totalTokens} tokens` : '';
    out += `\nturn ${t.turn} (${formatDuration(t.latencyMs)}${tokens}, ${t.finishReason})\n`;
    for (const c of trace.toolCalls.filter((x) => x.turn === t.turn)) {
      const exit = c.exitCode !== undefined ? ` exit ${c.exitCode}` : '';
      out += `  #${c.seq} ${c.tool} ${oneLine(c.arguments, 100)}  ${c.status}${exit} ${formatDuration(c.durationMs)}\n`;
      const lines = c.result.trimEnd().split('\n');
      const shown = lines.slice(0, RESULT_LINES).map((l) => `      ${oneLine(l, 160)}`);
      if (lines.length > RESULT_LINES) shown.push(`      … ${lines.length - RESULT_LINES} more line(s)`);
      if (c.result.trim()) out += `${shown.join('\n')}\n`;
    }
  }
  if (trace.notes.length) out += `\nnotes (remember):\n${trace.notes.map((n) => `  - ${n}`).join('\n')}\n`;
  if (trace.answer) out += `\nanswer:\n${tail(trace.answer, 200)}\n`;
  return out;
}

function oneLine(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function isTaskReport(r: unknown): r is TaskReport {
  return typeof r === 'object' && r !== null && Array.isArray((r as TaskReport).subtasks);
}

function skillResult(run: RunRecord): SkillRunResult {
  const report = (run.report ?? {}) as { steps?: StepResult[]; output?: string };
  return {
    runId: run.id,
    skill: run.name,
    version: run.version ?? '?',
    status:
      run.status === 'succeeded' || run.status === 'timedOut' || run.status === 'cancelled' ? run.status : 'failed',
    durationMs: run.durationMs ?? 0,
    steps: report.steps ?? [],
    output: report.output ?? '',
    error: run.error || undefined,
  };
}
