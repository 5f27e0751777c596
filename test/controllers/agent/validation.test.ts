// What `caduceus validate` says about agent settings: places that need the agent without
// an llm upstream (or its model), unknown tool names in allow-lists, each at its line.

import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { loadDirectory } from '../../../reconciler/loader.js';
import { configDir, doc } from '../../helpers/config.js';
import { skillYaml } from '../../helpers/git.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function findings(files: Record<string, string>): Promise<string[]> {
  const dir = configDir(files, 'caduceus-agent-validate-');
  dirs.push(dir);
  const { findings } = await loadDirectory(dir);
  return findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`);
}

const llm = { baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3.1' };
const NOT_A_TOOL =
  'is not an agent tool: use a skill name, one of shell, read_file, write_file, list_files, http_get, ' +
  'delegate, remember, or a group (skills, files, http)';
const ADD_LLM = 'add spec.llm (baseURL, model, apiKey) to';

const TASK = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: review
spec:
  subtasks:
    - name: audit
      skill: greet
    - name: think
      prompt: Summarise what the audit found
      agent:
        tools: [greet, files, shell, kubectl]
`;

describe('agent validation', () => {
  it('rejects a prompt subtask when the Runtime has no llm upstream, at the prompt', async () => {
    expect(
      await findings({ 'runtime.yaml': doc('Runtime', 'rt', {}), 'task.yaml': TASK, 'greet.yaml': skillYaml('greet') }),
    ).toEqual([
      'task.yaml:10:15 llm-required: subtask "think" is a prompt for the agent, ' +
        `but Runtime/rt has no spec.llm upstream; ${ADD_LLM} Runtime/rt (runtime.yaml)`,
      `task.yaml:12:38 unknown-agent-tool: subtask "think" agent.tools: "kubectl" ${NOT_A_TOOL}`,
    ]);
  });

  it('rejects a prompt subtask when there is no Runtime at all, or its llm names no model', async () => {
    const noRuntime = await findings({ 'task.yaml': TASK.replace(', kubectl', ''), 'greet.yaml': skillYaml('greet') });
    expect(noRuntime).toEqual([
      'task.yaml:10:15 llm-required: subtask "think" is a prompt for the agent, ' +
        `but the configuration has no Runtime with an llm upstream; ${ADD_LLM} a Runtime`,
    ]);
    const noModel = await findings({
      'runtime.yaml': doc('Runtime', 'rt', { llm: { baseURL: llm.baseURL } }),
      'task.yaml': TASK.replace(', kubectl', ''),
      'greet.yaml': skillYaml('greet'),
    });
    expect(noModel).toEqual([
      'task.yaml:10:15 llm-required: subtask "think" is a prompt for the agent, ' +
        'but the spec.llm of Runtime/rt names no model; add spec.llm.model',
    ]);
  });

  it('accepts prompt subtasks with an upstream, and allow-lists of skills (aliases too), tools, groups', async () => {
    expect(
      await findings({
        'runtime.yaml': doc('Runtime', 'rt', { llm, agent: { tools: ['skills', 'http'], context: ['context/*.md'] } }),
        'task.yaml': TASK.replace('greet, files, shell, kubectl', 'hello, files, shell, remember, delegate'),
        'greet.yaml': skillYaml('greet', 'echo hi', {
          extra: '  aliases: [hello]\n  agent:\n    tools: [files, http_get]\n',
        }),
      }),
    ).toEqual([]);
  });

  it('names unknown tools in the Runtime and Skill allow-lists at their lines', async () => {
    expect(
      await findings({
        'runtime.yaml': doc('Runtime', 'rt', { llm, agent: { tools: ['skills', 'browser'] } }),
        'greet.yaml': skillYaml('greet', 'echo hi', { extra: '  agent:\n    tools: [files, greet-old]\n' }),
      }),
    ).toEqual([
      `greet.yaml:9:20 unknown-agent-tool: agent.tools: "greet-old" ${NOT_A_TOOL}`,
      `runtime.yaml:12:9 unknown-agent-tool: agent.tools: "browser" ${NOT_A_TOOL}`,
    ]);
  });

  it('refuses agent settings on a subtask that is not a prompt, and limits of the wrong type', async () => {
    const out = await findings({
      'runtime.yaml': doc('Runtime', 'rt', { llm, agent: { limits: { maxTurns: 0, toolTimeout: 'soon' } } }),
      'task.yaml': doc('Task', 't', { subtasks: [{ name: 'a', run: 'true', agent: { tools: ['files'] } }] }),
    });
    expect(out.map((f) => f.split(' ')[0])).toEqual(['runtime.yaml:11:17', 'runtime.yaml:12:20', 'task.yaml:7:7']);
    expect(out.join('\n')).toMatch(/maxTurns/);
    expect(out.join('\n')).toMatch(/agent.*prompt|prompt.*agent/);
  });
});
