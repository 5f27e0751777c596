// The message a Task's delivery posts to chat: one line on the run, then what each
// subtask produced (a prompt subtask's answer, another's output tail, or its error), as
// a person reading the channel wants it. Redacted, like every text that leaves the process.

import type { SubtaskReport, TaskReport } from '../../reconciler/types.js';
import { formatDuration } from '../../reconciler/duration.js';
import { redact } from '../../reconciler/secrets.js';

/** Lines of a non-agent subtask's output kept in the message (chat is not a log viewer). */
const OUTPUT_LINES = 30;

export function deliveryText(r: TaskReport): string {
  const head = `Task ${r.task} ${r.status} in ${formatDuration(r.durationMs)} (run ${r.runId.slice(0, 8)})`;
  const one = r.subtasks.length === 1;
  const parts = r.subtasks.map((s) => {
    const body = subtaskText(s);
    return one ? body : `${s.name} (${s.status}):\n${body}`;
  });
  return redact([head, ...parts.filter((p) => p !== '')].join('\n\n'));
}

function subtaskText(s: SubtaskReport): string {
  if (s.status !== 'succeeded') return `error: ${s.error ?? s.status}`;
  const text = (s.agent?.answer ?? s.output).trimEnd();
  if (s.agent) return text;
  const lines = text.split('\n');
  return lines.length > OUTPUT_LINES ? `…\n${lines.slice(-OUTPUT_LINES).join('\n')}` : text;
}
