// What `caduceus validate` says about the other ways in to the agent: a Proxy serving
// caduceus/agent, a GatewayPolicy role that may ask it, each without an llm upstream, and
// unknown tools in their allow-lists; a Task delivery to a platform or channel no policy
// serves or that cannot post; a memory file no run would read. Each at its line.

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
  return findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule}: ${f.message}`);
}

const llm = { baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3.1' };
const NO_LLM =
  'but Runtime/rt has no spec.llm upstream; add spec.llm (baseURL, model, apiKey) to Runtime/rt (runtime.yaml)';

const PROXY = `apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: edge
spec:
  keys:
    - valueFrom: {env: EDGE_KEY}
  agent:
    enabled: true
    tools: [greet, files, kubectl]
`;

const POLICY = (slack: string, roleAgent: string): string => `apiVersion: caduceus.dev/v1
kind: GatewayPolicy
metadata:
  name: team
spec:
  platforms:
    slack:
      channels: [C1]
      signingSecret: {valueFrom: {env: SLACK_SIGNING}}
${slack}    telegram:
      channels: ["-200"]
      secretToken: {valueFrom: {env: TG_SECRET}}
      botToken: {valueFrom: {env: TG_BOT}}
  roles:
    - name: ops
      users: ["slack:U1"]
      permissions:
        status: true
${roleAgent}`;

const TASK = (platform: string, channel: string): string => `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: nightly
spec:
  subtasks:
    - name: count
      run: echo 3
  delivery:
    platform: ${platform}
    channel: "${channel}"
`;

describe('agent validation: entry points and delivery', () => {
  it('rejects a Proxy serving caduceus/agent without an llm upstream, and unknown tools, at their lines', async () => {
    expect(
      await findings({
        'runtime.yaml': doc('Runtime', 'rt', {}),
        'proxy.yaml': PROXY,
        'greet.yaml': skillYaml('greet'),
      }),
    ).toEqual([
      `proxy.yaml:9:14 error llm-required: the Proxy serves the caduceus/agent model, ${NO_LLM}`,
      'proxy.yaml:10:27 error unknown-agent-tool: agent.tools: "kubectl" is not an agent tool: use a skill name, ' +
        'one of shell, read_file, write_file, list_files, http_get, delegate, remember, ' +
        'or a group (skills, files, http)',
    ]);
    // Disabled, it needs no upstream; its allow-list is still checked.
    expect(
      await findings({
        'runtime.yaml': doc('Runtime', 'rt', {}),
        'proxy.yaml': PROXY.replace('enabled: true', 'enabled: false').replace(', kubectl', ''),
        'greet.yaml': skillYaml('greet'),
      }),
    ).toEqual([]);
  });

  it('rejects a role that may ask the agent without an llm upstream, and unknown tools in its list', async () => {
    const role = '        agent:\n          enabled: true\n          tools: [skills, shell, kubectl]\n';
    expect(await findings({ 'runtime.yaml': doc('Runtime', 'rt', {}), 'gateway.yaml': POLICY('', role) })).toEqual([
      `gateway.yaml:20:20 error llm-required: role "ops" may ask the agent, ${NO_LLM}`,
      'gateway.yaml:21:34 error unknown-agent-tool: role "ops" permissions.agent.tools: "kubectl" is not an agent ' +
        'tool: use a skill name, one of shell, read_file, write_file, list_files, http_get, delegate, remember, ' +
        'or a group (skills, files, http)',
    ]);
    expect(
      await findings({
        'runtime.yaml': doc('Runtime', 'rt', { llm }),
        'gateway.yaml': POLICY('', role.replace(', kubectl', '')),
      }),
    ).toEqual([]);
  });

  it('rejects a delivery to an unconfigured platform, an unlisted channel or a platform that cannot post', async () => {
    const base = { 'runtime.yaml': doc('Runtime', 'rt', {}), 'gateway.yaml': POLICY('', '') };
    expect(await findings({ ...base, 'task.yaml': TASK('discord', '100') })).toEqual([
      'task.yaml:10:15 error delivery-target: delivery names platform discord, which no GatewayPolicy configures; ' +
        'add platforms.discord to one',
    ]);
    expect(await findings({ ...base, 'task.yaml': TASK('telegram', '-999') })).toEqual([
      'task.yaml:11:14 error delivery-target: delivery channel "-999" is not on the telegram channel list of ' +
        'GatewayPolicy/team (gateway.yaml); add it there',
    ]);
    expect(await findings({ ...base, 'task.yaml': TASK('slack', 'C1') })).toEqual([
      'task.yaml:10:15 error delivery-target: delivery to slack: platforms.slack has no botToken to post with in ' +
        'GatewayPolicy/team (gateway.yaml)',
    ]);
    const withBot = POLICY('      botToken: {valueFrom: {env: SLACK_BOT}}\n', '');
    expect(await findings({ ...base, 'gateway.yaml': withBot, 'task.yaml': TASK('slack', 'C1') })).toEqual([]);
    expect(await findings({ ...base, 'task.yaml': TASK('telegram', '-200') })).toEqual([]);
  });

  it('warns when the memory file is not among the context files runs read', async () => {
    const agent = { memoryFile: 'context/memory.md', context: ['docs/*.md'] };
    expect(await findings({ 'runtime.yaml': doc('Runtime', 'rt', { llm, agent }) })).toEqual([
      'runtime.yaml:10:17 warning memory-not-in-context: memoryFile context/memory.md is not matched by ' +
        'agent.context, so merged memory never reaches a run; add it there',
    ]);
    expect(
      await findings({ 'runtime.yaml': doc('Runtime', 'rt', { llm, agent: { ...agent, context: ['context/*.md'] } }) }),
    ).toEqual([]);
  });
});
