// `caduceus ask "…" [DIR]`: one agent run from the terminal against the configuration in
// DIR (its Runtime's llm upstream, skills and context), with each tool call shown as it
// starts and ends, the answer on stdout, and the run kept in the state directory.

import { resolve } from 'node:path';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { getResource } from '../../reconciler/types.js';
import type { AgentRequest, AgentResult } from '../../reconciler/agent-contract.js';
import { errorMessage } from '../../reconciler/errors.js';
import { skillInstructions } from '../../reconciler/skill-md.js';
import { formatDuration } from '../../reconciler/duration.js';
import { loadSnapshot, localRun, localUser } from './local-run.js';
import { agentProgress } from './agent-progress.js';

const HELP = `usage: caduceus ask "PROMPT" [DIR] [options]

Runs the agent once on PROMPT with the configuration in DIR (default .): the model of
its Runtime's spec.llm, its skills as tools, its project context (agent.context).

  --tools LIST       allow-list, comma-separated: skill names, shell, read_file,
                     write_file, list_files, http_get, delegate, remember, or the
                     groups skills, files, http (default: the Runtime's agent.tools)
  --skill NAME       follow skill NAME as a playbook, with its agent.tools
  --stream           print the answer as the model writes it
  --state-dir DIR    state directory for the run history and trace (default .caduceus)
  --json             print the whole run (answer, tool calls, turns, messages) as JSON

Progress goes to stderr: a line when each tool call starts and ends. The trace stays
in the state directory: caduceus runs show ID. Ctrl-C cancels the run. Exit 0 answered,
1 failed (a limit, the upstream, no key) or invalid configuration, 2 usage, 130 interrupted.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        tools: { type: 'string' },
        skill: { type: 'string' },
        stream: { type: 'boolean' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const [prompt, dir = '.', ...extra] = args.positionals;
    if (!prompt?.trim()) throw new UsageError(`say what to ask: caduceus ask "…"\n\n${HELP}`);
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')} (quote the prompt)\n\n${HELP}`);
    const v = args.values;
    const configDir = resolve(dir);
    const snapshot = await loadSnapshot(configDir);
    if (!snapshot) return 1;

    const req: Omit<AgentRequest, 'trigger' | 'signal'> = { prompt, name: 'ask' };
    if (v.tools !== undefined)
      req.tools = v.tools
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    if (v.skill !== undefined) {
      const skill = getResource(snapshot, 'Skill', v.skill);
      if (!skill) throw new UsageError(`no skill named "${v.skill}" in ${configDir}`);
      req.instructions =
        `Follow the team's skill "${v.skill}" (v${skill.spec.version}): ${skill.spec.description}. ` +
        'You may call it as a tool, or do its work step by step with the other tools.' +
        (skill.spec.instructions ? `\n\n${skillInstructions(skill)}` : '');
      if (skill.spec.agent?.tools && v.tools === undefined) req.tools = skill.spec.agent.tools;
      req.name = `ask:${v.skill}`;
    }
    const json = v.json === true;
    const streamed = v.stream === true && !json;

    const local = await localRun(snapshot, configDir, resolve(v['state-dir'] ?? '.caduceus'));
    const progress = agentProgress(process.stderr);
    let result: AgentResult;
    try {
      const runAgent = local.runner.runAgent;
      if (!runAgent) throw new Error('the agent is not registered');
      result = await runAgent({
        ...req,
        // Unset rather than false: the agent then follows the model's own stream setting.
        stream: streamed || undefined,
        trigger: { source: 'cli', actor: `user:${localUser()}` },
        signal: local.signal,
        onProgress: (e) => {
          if (e.type === 'answerDelta') {
            if (streamed && e.depth === 0) process.stdout.write(e.text);
          } else progress(e);
        },
      });
    } catch (err) {
      process.stderr.write(`caduceus: ${errorMessage(err)}\n`);
      return local.interrupted() ? 130 : 1;
    } finally {
      await local.close();
    }
    if (json) writeStructured(result);
    else if (streamed) process.stdout.write('\n');
    else if (result.answer) process.stdout.write(result.answer.endsWith('\n') ? result.answer : `${result.answer}\n`);
    process.stderr.write(summary(result));
    if (local.interrupted()) return 130;
    return result.status === 'succeeded' ? 0 : 1;
  });
}

function summary(r: AgentResult): string {
  const what = `${r.toolCalls.length} tool call(s), ${r.turns.length} turn(s), ${r.usage.totalTokens} tokens`;
  const end = r.status === 'succeeded' ? '' : `: ${r.error ?? r.stopReason}`;
  const took = formatDuration(r.durationMs);
  return `agent run ${r.runId} ${r.status} in ${took} (${what})${end}; caduceus runs show ${r.runId.slice(0, 8)}\n`;
}
