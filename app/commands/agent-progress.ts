// Live progress of an agent run on the terminal (`caduceus ask`): one line when each
// tool call starts and one when it ends (status, exit code, duration), children of
// delegate indented; plain lines, so CI logs and pipes read the same as a terminal.

import type { AgentEvent } from '../../reconciler/agent-contract.js';
import { formatDuration } from '../../reconciler/duration.js';

const MARK = { succeeded: '✓', failed: '✗', timedOut: '⏱', cancelled: '■', refused: '⊘' } as const;

export function agentProgress(out: NodeJS.WritableStream, t0 = Date.now()): (e: AgentEvent) => void {
  return (e) => {
    if (e.type === 'answerDelta' || e.type === 'turn') return;
    const at = `[${formatDuration(Date.now() - t0).padStart(6)}]`;
    const who = e.depth > 0 ? `  ↳ ${e.runId.slice(0, 8)} ` : '';
    if (e.type === 'toolStart') {
      const args = e.arguments.replace(/\s+/g, ' ');
      out.write(`${at} ${who}▶ ${e.tool} ${args.length > 100 ? `${args.slice(0, 99)}…` : args}\n`);
      return;
    }
    const exit = e.exitCode !== undefined ? ` (exit ${e.exitCode})` : '';
    const why = e.error && e.status !== 'succeeded' ? `: ${e.error.replace(/\s+/g, ' ').slice(0, 100)}` : '';
    out.write(`${at} ${who}${MARK[e.status]} ${e.tool} ${e.status}${exit} in ${formatDuration(e.durationMs)}${why}\n`);
  };
}
