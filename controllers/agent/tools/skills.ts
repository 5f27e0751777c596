// Every active skill as a function tool: the skill's typed params become the JSON Schema
// the model fills in, and a call goes through runner.runSkill, whose param validation is
// the CLI's (unknown, missing, mistyped params come back to the model as the error).

import type { Resource, ParamValue } from '../../../reconciler/types.js';
import { paramsJsonSchema as paramsSchema } from '../../../reconciler/skill-params.js';
import { errorMessage } from '../../../reconciler/errors.js';
import { skillInstructions } from '../../../reconciler/skill-md.js';
import { failed, type AgentTool } from './types.js';

export function skillTool(skill: Resource<'Skill'>): AgentTool {
  const name = skill.metadata.name;
  return {
    name,
    description: `${skill.spec.description} (skill ${name}@${skill.spec.version})`,
    parameters: paramsSchema(skill.spec.params),
    execute: async (args, run) => {
      const params: Record<string, ParamValue> = {};
      for (const [k, v] of Object.entries(args)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
          return failed(`param "${k}" must be a string, number or boolean, got ${JSON.stringify(v)}`);
        params[k] = v;
      }
      try {
        const r = await run.runner.runSkill(name, params, {
          trigger: run.trigger,
          signal: run.signal,
          parentRunId: run.runId,
          workspace: run.workspace,
          isolation: run.isolation,
        });
        const out =
          r.status === 'succeeded' ? r.output : `skill ${r.status}${r.error ? `: ${r.error}` : ''}\n${r.output}`;
        // A skill of instructions (a SKILL.md folder) is followed by the model: it gets them; its
        // run (of no steps) is still recorded, so the curator counts its use like any other.
        const text = !skill.spec.instructions
          ? out
          : skill.spec.steps.length === 0 && r.status === 'succeeded'
            ? skillInstructions(skill)
            : `${skillInstructions(skill)}\n\nOutput of its steps:\n${out}`;
        return {
          status: r.status,
          text,
          childRunIds: [r.runId],
          error: r.error,
        };
      } catch (err) {
        // Bad params and unknown skills are thrown before anything runs: the model gets the reason.
        return failed(errorMessage(err));
      }
    },
  };
}
