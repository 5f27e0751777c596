// What never leaves the Docker sandbox, and what it never gets more of than the Runtime
// allows: limits apply by default (only `unlimited` written out lifts one), http steps of
// a skill without network cannot reach the network, and /config holds the configuration
// files only — no .git, no ignored files, no state directory, no other run's workspace.

import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import Docker from 'dockerode';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';
import { configDir as writeConfig, doc, loadSnapshot } from '../../helpers/config.js';
import { commitAll, makeRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';

const ready = await dockerReady();
const docker = new Docker();
const owner = `${hostname()}:${process.pid}`;

let h: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** The HostConfig of the container running the command that carries `marker`. */
async function hostConfigOf(run: Promise<unknown>, marker: string): Promise<Docker.ContainerInspectInfo['HostConfig']> {
  // Under load the engine lists a container a moment before it answers its inspect.
  const c = await waitFor(async () => {
    const list = await docker.listContainers({ all: true, filters: { label: [`caduceus.owner=${owner}`] } });
    const info = list.find((x) => x.Command.includes(marker));
    return (
      info &&
      (await docker
        .getContainer(info.Id)
        .inspect()
        .catch(() => undefined))
    );
  });
  await run;
  return c.HostConfig;
}

describe.runIf(runDockerTests(ready))('sandbox bounds', () => {
  it('limits memory, CPUs and processes by default when the Runtime names no limits', async () => {
    // The Runtime as a user writes it, through the loader and its schema defaults.
    const dir = writeConfig({
      'runtime.yaml': doc('Runtime', 'rt', { execution: { mode: 'docker' }, isolation: { image: SANDBOX } }),
    });
    h = harness([...(await loadSnapshot(dir)).resources.values()]);
    const marker = 'default-limits-1';
    const hc = await hostConfigOf(h.runner.exec({ command: `sleep 2 # ${marker}` }, cli), marker);
    expect(hc).toMatchObject({ Memory: 512 * 1024 * 1024, NanoCpus: 1_000_000_000, PidsLimit: 256 });
  });

  it('lifts a limit only where `unlimited` is written out', async () => {
    h = harness([
      runtime({ execution: { mode: 'docker' }, isolation: { image: SANDBOX, memory: 'unlimited', pids: 64 } }),
    ]);
    const marker = 'unlimited-memory-1';
    const hc = await hostConfigOf(h.runner.exec({ command: `sleep 2 # ${marker}` }, cli), marker);
    expect(hc.Memory).toBe(0);
    expect(hc.PidsLimit).toBe(64);
    expect(hc.NanoCpus).toBe(1_000_000_000);
  });

  it('refuses the http steps of a skill sandboxed without network, sending nothing', async () => {
    const requests: string[] = [];
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('reached');
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exfiltrate`;
    h = harness([
      runtime(),
      skill('boxed-http', { isolation: { mode: 'docker' }, steps: [{ http: { method: 'GET', url } }] }),
      skill('open-http', {
        isolation: { mode: 'docker', network: 'bridge' },
        steps: [{ http: { method: 'GET', url } }],
      }),
    ]);
    const boxed = await h.runner.runSkill('boxed-http', {}, cli);
    expect(boxed.status).toBe('failed');
    expect(boxed.steps[0]?.error).toMatch(/^http: http steps cannot run in a sandbox without network/);
    // A task cannot take the network away from under the check either.
    const viaTask = await h.runner.runSkill('open-http', {}, { ...cli, isolation: { network: 'none' } });
    expect(viaTask.status).toBe('succeeded');
    expect(requests).toEqual(['/exfiltrate']);
  });

  const layout = (stateInside: string): Record<string, string> => ({
    'skills/ls.yaml': doc('Skill', 'ls', { version: '1', description: 'd', steps: [{ run: 'true' }] }),
    'data/notes.txt': 'committed\n',
    '.gitignore': `.env\n${stateInside}/\n`,
  });

  it('mounts the files of the applied commit at /config, and nothing of .git, ignored files or state', async () => {
    const repo = makeRepo(layout('.caduceus'));
    const sha = commitAll(repo, 'config');
    writeFileSync(join(repo, '.env'), 'TOKEN=secret\n');
    writeFileSync(join(repo, 'uncommitted.txt'), 'draft\n');
    const stateDir = join(repo, '.caduceus');
    mkdirSync(join(stateDir, 'workspaces', 'another-run'), { recursive: true });
    writeFileSync(join(stateDir, 'workspaces', 'another-run', 'result.txt'), 'private\n');
    h = harness([runtime({ execution: { mode: 'docker' } })], { configDir: repo, stateDir, revision: sha });
    const res = await h.runner.exec({ command: 'cd /config && find . | sort' }, cli);
    expect(res.status).toBe('succeeded');
    expect(res.output.trim().split('\n')).toEqual([
      '.',
      './.gitignore',
      './data',
      './data/notes.txt',
      './skills',
      './skills/ls.yaml',
    ]);
  });

  it('mounts the files git tracks or would track when the revision is a directory, not a commit', async () => {
    const repo = makeRepo(layout('state'));
    writeFileSync(join(repo, '.env'), 'TOKEN=secret\n');
    writeFileSync(join(repo, 'new.txt'), 'not yet committed\n');
    const stateDir = join(repo, 'state');
    mkdirSync(join(stateDir, 'workspaces', 'another-run'), { recursive: true });
    h = harness([runtime({ execution: { mode: 'docker' } })], {
      configDir: repo,
      stateDir,
      revision: `dir:${repo}`,
    });
    const res = await h.runner.exec({ command: 'cd /config && find . -type f | sort' }, cli);
    expect(res.output.trim().split('\n')).toEqual([
      './.gitignore',
      './data/notes.txt',
      './new.txt',
      './skills/ls.yaml',
    ]);
  });

  it('mounts every file but .git and the state directory from a directory outside git', async () => {
    const dir = tempDir('caduceus-plain-config-');
    writeFileSync(join(dir, 'a.yaml'), 'x: 1\n');
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'config'), '[core]\n');
    const stateDir = join(dir, '.caduceus');
    h = harness([runtime({ execution: { mode: 'docker' } })], { configDir: dir, stateDir, revision: `dir:${dir}` });
    const res = await h.runner.exec({ command: 'cd /config && find . | sort' }, cli);
    expect(res.output.trim().split('\n')).toEqual(['.', './a.yaml']);
  });
});
