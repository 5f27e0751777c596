// remember: collects notes into the run's result. Stage 2 turns them into a proposed edit
// of a memory file through the curator (branch and pull request, never written live).

import type { AgentTool } from './types.js';

export const rememberTool: AgentTool = {
  name: 'remember',
  description:
    'Keep a short note worth remembering for later runs (a fact about the project, a fix that worked). ' +
    'Notes are reviewed before they become memory.',
  parameters: {
    type: 'object',
    properties: {
      note: { type: 'string', minLength: 1, maxLength: 4000, description: 'The note, one or two sentences.' },
    },
    required: ['note'],
    additionalProperties: false,
  },
  execute: async (args, run) => {
    run.notes.push(String(args.note));
    return { status: 'succeeded', text: 'noted' };
  },
};
