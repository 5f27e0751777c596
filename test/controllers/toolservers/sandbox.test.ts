// A ToolServer's stdio command in the Docker sandbox when the Runtime isolates: the server
// (facts-server.sh, an MCP server in POSIX sh, since the sandbox image is busybox without
// node) lives in the configuration repository and runs in caduceus-sandbox:latest as
// uid 65534, read-only, without network, with the configuration at /config; the agent
// calls its tools through the SDK's client; stopping Caduceus leaves no container behind.

import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { register as executionRegister } from '../../../controllers/execution/index.js';
import { register as agentRegister } from '../../../controllers/agent/index.js';
import { register as toolServersRegister } from '../../../controllers/toolservers/index.js';
import { appStarter } from '../../helpers/app.js';
import { doc } from '../../helpers/config.js';
import { makeRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { dockerReady, runDockerTests, SANDBOX } from '../execution/docker-env.js';
import { inOrder, startScriptedModel, toolResults, MODEL_KEY, type ModelRequest } from '../agent/scripted-model.js';
import { runtimeWithLlm, KEY_ENV } from '../agent/harness.js';

const SERVER = readFileSync(join(import.meta.dirname, 'facts-server.sh'), 'utf8');
const ready = await dockerReady();
const start = appStarter({ registrations: [executionRegister, toolServersRegister, agentRegister] });
const docker = new Docker();
const containers = async (): Promise<string[]> =>
  (await docker.listContainers({ all: true, filters: { label: ['caduceus.toolserver=facts'] } })).map((c) => c.Id);

describe.runIf(runDockerTests(ready))('ToolServer: a stdio command in the Docker sandbox', () => {
  it('runs the MCP server in the sandbox image, its tools called by the agent, and removes it on stop', async () => {
    const model = await startScriptedModel(
      inOrder([
        {
          toolCalls: [
            { name: 'facts__facts', arguments: {} },
            { name: 'facts__count_words', arguments: { text: 'the disk on vpn-gw is full' } },
          ],
        },
        { content: 'it runs sandboxed' },
      ]),
    );
    process.env[KEY_ENV] = MODEL_KEY;
    try {
      const repo = makeRepo({
        'runtime.yaml': runtimeWithLlm(model.url, {
          runtime: {
            execution: { mode: 'docker' },
            isolation: { image: SANDBOX, network: 'none', memory: '64Mi', pids: 32 },
          },
        }),
        'facts.yaml': doc('ToolServer', 'facts', { command: ['sh', 'tools/facts-server.sh'], timeout: '30s' }),
        'tools/facts-server.sh': SERVER,
      });
      chmodSync(repo, 0o755); // like a git checkout; mkdtemp makes it private, and the server runs as 65534
      const app = await start({ repo, stateDir: tempDir() });
      await app.waitForRevision(app.reconciler.snapshot().revision, 60_000);

      expect(app.core.status('ToolServer/facts')?.conditions.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ToolServerConnected',
        message: '2 tool(s): facts, count_words',
      });
      // One container while connected, labelled with the server's name, from the sandbox image.
      const running = await containers();
      expect(running).toHaveLength(1);
      const info = await docker.getContainer(running[0] as string).inspect();
      expect(info.Config.Image).toBe(SANDBOX);
      expect(info.Config.User).toBe('65534:65534');
      expect(info.HostConfig).toMatchObject({
        CapDrop: ['ALL'],
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Memory: 64 * 1024 * 1024,
        PidsLimit: 32,
        SecurityOpt: ['no-new-privileges'],
      });

      const runAgent = app.deps.runner.runAgent;
      if (!runAgent) throw new Error('no runAgent');
      const r = await runAgent({ prompt: 'where do you run?', tools: ['facts__*'], trigger: { source: 'test' } });
      expect(r.status).toBe('succeeded');
      expect(r.answer).toBe('it runs sandboxed');
      // Inside the container: the sandbox's user, a read-only root and /config, only the loopback interface.
      expect(toolResults(model.requests[1] as ModelRequest).map((m) => m.content)).toEqual([
        'uid=65534 root=ro config=ro cwd=/config net=lo',
        '6 words',
      ]);

      await app.stop();
      await waitFor(async () => ((await containers()).length === 0 ? true : undefined), 30_000, 'no container left');
    } finally {
      delete process.env[KEY_ENV];
      await model.close();
      for (const id of await containers()) await docker.getContainer(id).remove({ force: true });
    }
  });

  it('reports the docker CLI reason when the sandbox cannot start the server', async () => {
    const repo = makeRepo({
      'runtime.yaml': doc('Runtime', 'default', {
        execution: { mode: 'docker' },
        isolation: { image: 'caduceus-no-such-image:latest', network: 'none' },
      }),
      'facts.yaml': doc('ToolServer', 'facts', { command: ['sh', 'tools/facts-server.sh'], timeout: '30s' }),
      'tools/facts-server.sh': SERVER,
    });
    const app = await start({ repo, stateDir: tempDir() });
    await app.waitForRevision(app.reconciler.snapshot().revision, 60_000);
    const cond = app.core.status('ToolServer/facts')?.conditions.find((c) => c.type === 'Ready');
    expect(cond).toMatchObject({ status: 'False', reason: 'ToolServerFailed' });
    expect(cond?.message).toMatch(
      /^sh tools\/facts-server\.sh: .*Connection closed \(stderr: .*caduceus-no-such-image.*\); the agent runs without/,
    );
    expect(app.deps.runner.serverTools?.()).toEqual([]);
  });
});
