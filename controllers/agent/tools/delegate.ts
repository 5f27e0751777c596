// delegate: starts child agents in parallel, each with its own workspace, context and
// timeout (Runtime agent.limits.delegateTimeout), at most the Runtime's concurrency
// maximum at once. Depth 1: children cannot delegate again.

import type { AgentResult } from '../../../reconciler/agent-contract.js';
import { errorMessage } from '../../../reconciler/errors.js';
import { failed, type AgentTool, type ChildRequest } from './types.js';

/** Children one delegate call may start (they run at most `concurrency` at once). */
export const MAX_CHILDREN = 16;

export const delegateTool: AgentTool = {
  name: 'delegate',
  description:
    'Hand independent pieces of work to child agents that run in parallel, each in its own fresh workspace. ' +
    'Give each a complete, self-contained prompt; you get back each answer.',
  parameters: {
    type: 'object',
    properties: {
      agents: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_CHILDREN,
        items: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'A short label for the child.' },
            prompt: { type: 'string', minLength: 1, description: 'The complete instruction for the child.' },
            tools: {
              type: 'array',
              items: { type: 'string' },
              description: 'Tools the child may use (a subset of yours; default: yours).',
            },
          },
          required: ['prompt'],
          additionalProperties: false,
        },
      },
    },
    required: ['agents'],
    additionalProperties: false,
  },
  execute: async (args, run) => {
    const asked = args.agents as Array<{ name?: string; prompt: string; tools?: string[] }>;
    const children: ChildRequest[] = asked.map((a, i) => ({
      name: a.name ?? `child-${i + 1}`,
      prompt: a.prompt,
      tools: a.tools,
    }));
    let results: AgentResult[];
    try {
      results = await run.delegate(children, run.signal);
    } catch (err) {
      return failed(errorMessage(err));
    }
    const summary = results.map((r, i) => ({
      name: children[i]?.name,
      status: r.status,
      answer: r.answer,
      error: r.error || undefined,
      toolCalls: r.toolCalls.length,
    }));
    const ok = results.every((r) => r.status === 'succeeded');
    return {
      status: ok ? 'succeeded' : 'failed',
      text: JSON.stringify(summary, null, 2),
      childRunIds: results.map((r) => r.runId),
      ...(ok
        ? {}
        : { error: `${results.filter((r) => r.status !== 'succeeded').length} child agent(s) did not succeed` }),
    };
  },
};
