// shell: one command through runner.exec in the run's workspace and backend (local, or the
// Docker sandbox when the Runtime, the task or the request's isolation says docker), with
// the per-tool timeout. Off unless an allow-list names it.

import { errorMessage } from '../../../reconciler/errors.js';
import { failed, type AgentTool } from './types.js';

export const shellTool: AgentTool = {
  name: 'shell',
  description:
    'Run a shell command (sh -c) in the workspace and get its exit code and combined output (the tail when long).',
  parameters: {
    type: 'object',
    properties: { command: { type: 'string', minLength: 1, description: 'The command line.' } },
    required: ['command'],
    additionalProperties: false,
  },
  execute: async (args, run) => {
    try {
      const r = await run.runner.exec(
        {
          command: String(args.command),
          timeoutMs: run.timeoutMs,
          isolation: run.isolation,
        },
        { trigger: run.trigger, signal: run.signal, workspace: run.workspace, parentRunId: run.runId },
      );
      const exitCode = r.exitCode ?? undefined;
      const head =
        r.status === 'timedOut'
          ? `timed out after ${Math.round(run.timeoutMs)}ms`
          : r.status === 'cancelled'
            ? 'cancelled'
            : `exit code ${r.exitCode}`;
      const dropped = r.droppedBytes > 0 ? `[first ${r.droppedBytes} bytes of output dropped]\n` : '';
      return {
        status: r.status,
        text: `${head}\n${dropped}${r.output}`,
        exitCode,
        ...(r.status === 'succeeded' ? {} : { error: head }),
      };
    } catch (err) {
      return failed(errorMessage(err));
    }
  },
};
