// The text people read in chat: results of runs, help and status, cut to what each
// platform accepts. Plain text with light markdown that Slack, Discord and Telegram all
// render acceptably.

import type { SkillRunResult, TaskReport } from '../../reconciler/types.js';
import type { AgentResult } from '../../reconciler/agent-contract.js';
import type { RunRecord } from '../../reconciler/state/runs.js';
import { formatDuration } from '../../reconciler/duration.js';
import { redact } from '../../reconciler/secrets.js';
import { USAGE } from './commands.js';

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

function tail(output: string, lines = 5): string {
  const l = output.trimEnd().split('\n');
  return l.slice(-lines).join('\n');
}

export function formatTaskReport(r: TaskReport): string {
  const head = `task ${r.task} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId.slice(0, 8)})`;
  const lines = r.subtasks.map((s) => {
    const out = s.error ?? tail(s.output, 2);
    const attempts = s.attempts > 1 ? ` after ${s.attempts} attempts` : '';
    return `- ${s.name}: ${s.status}${attempts}${out ? ` — ${out.replace(/\n/g, ' ⏎ ')}` : ''}`;
  });
  return redact([head, ...lines].join('\n'));
}

export function formatSkillResult(r: SkillRunResult): string {
  const took = formatDuration(r.durationMs);
  const head = `skill ${r.skill}@${r.version} ${r.status} in ${took} (run ${r.runId.slice(0, 8)})`;
  const body = r.error ? `error: ${r.error}` : tail(r.output, 20);
  return redact(body ? `${head}\n${body}` : head);
}

export function helpText(allowed: { tasks: string[]; skills: string[]; status: boolean; agent: boolean }): string {
  const parts = [USAGE];
  parts.push(allowed.tasks.length ? `tasks you may run: ${allowed.tasks.join(', ')}` : 'you may run no tasks');
  parts.push(allowed.skills.length ? `skills you may run: ${allowed.skills.join(', ')}` : 'you may run no skills');
  parts.push(allowed.agent ? 'you may ask the agent: `ask QUESTION`' : 'your role may not ask the agent');
  if (!allowed.status) parts.push('your role may not read status');
  return parts.join('\n');
}

/** The agent's answer as the reply; a run without one says why, with the run to look at. */
export function formatAgentResult(r: AgentResult): string {
  if (r.status === 'succeeded')
    return redact(r.answer.trim() || `(the agent answered nothing; run ${r.runId.slice(0, 8)})`);
  return redact(
    `the agent ${r.status} (${r.stopReason}) after ${r.toolCalls.length} tool call(s): ${r.error ?? 'no answer'} ` +
      `(run ${r.runId.slice(0, 8)}; \`caduceus runs show ${r.runId}\`)`,
  );
}

export function statusText(
  info: {
    revision: string;
    platforms: Array<{ platform: string; ready: boolean }>;
    queue: { running: number; waiting: number };
    runs: RunRecord[];
  },
  now = Date.now(),
): string {
  const rev = /^[0-9a-f]{40}$/.test(info.revision) ? info.revision.slice(0, 8) : info.revision || 'none';
  const platforms = info.platforms.map((p) => `${p.platform} ${p.ready ? 'ready' : 'stopped'}`).join(', ');
  const lines = [
    `revision ${rev}; gateway: ${platforms || 'no platforms'}; ` +
      `${info.queue.running} running, ${info.queue.waiting} waiting`,
  ];
  if (info.runs.length === 0) lines.push('no runs yet');
  for (const r of info.runs) {
    const ago = formatDuration(Math.max(0, now - r.startedAt));
    lines.push(`- ${r.kind} ${r.name}: ${r.status}, ${ago} ago (${r.trigger}${r.actor ? ` by ${r.actor}` : ''})`);
  }
  return lines.join('\n');
}
