// How a finished skill or task run reads on a terminal: a table of its steps or subtasks
// and the tail of the output. `caduceus run` prints it at the end, `caduceus runs show`
// for a recorded run.

import type { SkillRunResult, TaskReport } from '../../reconciler/types.js';
import { table } from '../../reconciler/cli/state-access.js';
import { formatDuration } from '../../reconciler/duration.js';

export function tail(text: string, lines = 20): string {
  const all = text.trimEnd().split('\n');
  return all
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n');
}

export function describeTask(r: TaskReport): string {
  const rows = r.subtasks.map((s) => [
    s.name,
    s.status,
    String(s.attempts),
    formatDuration(s.durationMs),
    (s.error ?? '').slice(0, 100),
  ]);
  let out = `task ${r.task} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId})\n\n`;
  out += table(['SUBTASK', 'STATUS', 'ATTEMPTS', 'DURATION', 'ERROR'], rows);
  for (const s of r.subtasks) if (s.output.trim()) out += `\n${s.name}:\n${tail(s.output)}\n`;
  return out;
}

export function describeSkill(r: SkillRunResult): string {
  const rows = r.steps.map((s) => [
    String(s.index + 1),
    s.id ?? '',
    s.kind,
    s.status,
    s.exitCode === undefined ? '' : String(s.exitCode),
    formatDuration(s.durationMs),
    (s.error ?? '').slice(0, 100),
  ]);
  const error = r.error ? `: ${r.error}` : '';
  let out = `skill ${r.skill}@${r.version} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId})${error}\n\n`;
  out += table(['STEP', 'ID', 'KIND', 'STATUS', 'EXIT', 'DURATION', 'ERROR'], rows);
  if (r.output.trim()) out += `\noutput:\n${tail(r.output)}\n`;
  return out;
}
