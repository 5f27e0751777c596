// The Swarm backend on the single-node swarm test/env/ensure-swarm.sh makes of the test
// engine: subtasks as replicated-job services with their outputs and exit codes, the
// workspace carried in and out, the limits and hardening as `docker service inspect`
// shows them, cancellation, and the clean-up after a crash of `caduceus up`.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import Database from 'better-sqlite3';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';
import { harnessPerTest, runtimeYaml, taskYaml } from '../tasks/helpers.js';
import { waitFor } from '../../helpers/wait.js';
import { makeRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { upStarter } from '../../helpers/up-process.js';
import type { RuntimeSpec } from '../../../reconciler/specs.js';

const ready = (await dockerReady()) && swarmActive();
const docker = new Docker();
const startTasks = harnessPerTest();
const up = upStarter();

function swarmActive(): boolean {
  try {
    execFileSync('bash', [join(process.cwd(), 'test/env/ensure-swarm.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const state = execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8' });
    return state.trim() === 'active';
  } catch {
    return false;
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

// Whatever a failed test left on the shared engine goes: every object this worker's
// backends made carries its owner label (the up processes' are checked in their test).
afterAll(async () => {
  if (!ready) return;
  const filters = JSON.stringify({ label: [`caduceus.owner=${hostname()}:${process.pid}`] });
  for (const s of (await docker.listServices({ filters })) as Listed[]) await docker.getService(s.ID).remove();
  await waitFor(async () => {
    const left = [
      ...((await docker.listConfigs({ filters })) as Listed[]).map((c) => docker.getConfig(c.ID).remove()),
      ...(await docker.listNetworks({ filters })).map((n) => docker.getNetwork(n.Id).remove()),
    ];
    return (await Promise.allSettled(left)).every((r) => r.status === 'fulfilled');
  }, 60_000);
});

const swarmRuntime = (iso: Partial<RuntimeSpec['isolation']> = {}) =>
  runtime({ execution: { mode: 'swarm' }, isolation: { image: SANDBOX, ...iso } });

type Listed = { ID: string; Spec?: { Labels?: Record<string, string> } };
type Template = { Networks?: Array<{ Target: string }> };
const services = async (instance: string): Promise<Listed[]> =>
  (await docker.listServices({ filters: JSON.stringify({ label: [`caduceus.instance=${instance}`] }) })) as Listed[];
const configs = async (instance: string): Promise<Listed[]> =>
  (await docker.listConfigs({ filters: JSON.stringify({ label: [`caduceus.instance=${instance}`] }) })) as Listed[];
const containers = async (instance: string): Promise<string[]> =>
  (
    await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`caduceus.instance=${instance}`] }) })
  ).map((c) => c.Names[0] ?? c.Id);
type Task = { ID: string; Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string } } };
// Listed by label: Engine 20.10 keeps listing the task of a removed job (moby/moby#44312).
const tasks = async (instance: string): Promise<Task[]> =>
  (await docker.listTasks({ filters: JSON.stringify({ label: [`caduceus.instance=${instance}`] }) })) as Task[];
const networks = async (instance: string): Promise<Array<{ Id: string }>> =>
  docker.listNetworks({ filters: JSON.stringify({ label: [`caduceus.instance=${instance}`] }) });

describe.runIf(runDockerTests(ready))('swarm backend', () => {
  it('has a swarm manager with the sandbox image', () => {
    expect(ready).toBe(true);
  });

  it('runs a task of 12 subtasks as 12 Swarm jobs at once, each with its output and exit code', async () => {
    const subtasks = Array.from({ length: 12 }, (_, i) => ({
      name: `part-${i}`,
      run: `echo "part ${i} on $(hostname)"; sleep 2; exit ${i % 4 === 3 ? 3 : 0}`,
    }));
    const t = await startTasks({
      'runtime.yaml': runtimeYaml({
        execution: { mode: 'swarm' },
        isolation: { image: SANDBOX },
        concurrency: { default: 12, maximum: 12 },
      }),
      'task.yaml': taskYaml('fan-out', { subtasks, retry: { maxAttempts: 1 } }),
    });
    const instance = t.store.owner;
    // Every job is a service of its own while it runs: all 12 are seen at once, all on the
    // instance's one internal network.
    const seen = new Set<string>();
    const targets = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const s of (await services(instance)) as Array<Listed & { Spec?: { TaskTemplate?: Template } }>) {
          seen.add(s.ID);
          for (const n of s.Spec?.TaskTemplate?.Networks ?? []) targets.add(n.Target);
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const report = await t.runner.runTask('fan-out', cli);
    watching = false;
    await watch;
    expect(seen.size).toBe(12);
    expect(report.subtasks).toHaveLength(12);
    for (const [i, s] of report.subtasks.entries()) {
      expect(s.name).toBe(`part-${i}`);
      expect(s.output).toMatch(new RegExp(`^part ${i} on \\w+\\n$`));
      if (i % 4 === 3) {
        expect(s.status).toBe('failed');
        expect(s.error).toMatch(/^exit code 3/);
      } else expect(s.status).toBe('succeeded');
    }
    expect(report.status).toBe('failed');
    expect([...targets]).toEqual((await networks(instance)).map((n) => n.Id));
    // No job is left once the task is done, nor the network once the process stops.
    await waitFor(async () => (await services(instance)).length === 0 && (await configs(instance)).length === 0);
    await t.close();
    await waitFor(async () => (await networks(instance)).length === 0, 30_000, 'the network to go');
  }, 240_000);

  it('takes placement and reservations from a Task; a job no node can take waits until its timeout', async () => {
    const t = await startTasks({
      'runtime.yaml': runtimeYaml({ execution: { mode: 'swarm' }, isolation: { image: SANDBOX } }),
      'task.yaml': taskYaml('placed', {
        isolation: {
          placement: ['node.labels.caduceus-test == nowhere'],
          reservations: { memory: '16Mi', cpus: 0.1 },
        },
        subtasks: [{ name: 'unplaceable', run: 'echo never', timeout: '15s' }],
        retry: { maxAttempts: 1 },
      }),
    });
    const instance = t.store.owner;
    const running = t.runner.runTask('placed', cli);
    const [svc] = await waitFor(async () => {
      const list = await services(instance);
      return list.length === 1 ? list : undefined;
    }, 60_000);
    const spec = (await docker.getService((svc as Listed).ID).inspect()).Spec as {
      TaskTemplate: { Placement?: { Constraints?: string[] }; Resources?: { Reservations?: unknown } };
    };
    expect(spec.TaskTemplate.Placement?.Constraints).toEqual(['node.labels.caduceus-test == nowhere']);
    expect(spec.TaskTemplate.Resources?.Reservations).toEqual({ MemoryBytes: 16 * 1024 * 1024, NanoCPUs: 100_000_000 });
    const report = await running;
    expect(report.subtasks.map((s) => s.status)).toEqual(['timedOut']);
    await waitFor(async () => (await services(instance)).length === 0);
    // Stopping follows the job's task, which never gets a node, for the backend's 10 s in case
    // it still gets a container: closed here, in the test's time, not in a 10 s hook.
    await t.close();
  }, 120_000);

  it('carries the workspace into the job and what the job wrote back out', async () => {
    h = harness([
      swarmRuntime(),
      skill('round-trip', {
        steps: [
          { file: { path: 'in/notes.txt', action: 'write', content: 'from host\n' } },
          {
            id: 'job',
            run: 'cat in/notes.txt; echo "from job" >> in/notes.txt; mkdir -p out && echo made > out/r.txt',
          },
          { id: 'back', file: { path: 'in/notes.txt', action: 'read' } },
          { file: { path: 'out/r.txt', action: 'read' } },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('round-trip', {}, cli);
    expect(r.status).toBe('succeeded');
    // The job read what the host wrote; the host read what the job wrote.
    expect(r.steps.slice(1).map((s) => s.outputTail)).toEqual(['from host\n', 'from host\nfrom job\n', 'made\n']);
  });

  it('refuses a workspace over the 500 KiB a Swarm config holds, naming the limit', async () => {
    h = harness([
      swarmRuntime(),
      skill('too-big', {
        steps: [
          // Random bytes do not compress: 700 KiB stays over the limit.
          { file: { path: 'blob', action: 'write', content: randomBytes(700 * 1024).toString('base64') } },
          { run: 'echo never' },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('too-big', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.steps[1]?.error).toMatch(/workspace is \d+ KiB compressed; a Swarm job takes at most 500 KiB in/);
  });

  it('shows limits, reservations, placement and the hardening in docker service inspect', async () => {
    h = harness([
      swarmRuntime({
        memory: '64Mi',
        cpus: 0.5,
        pids: 64,
        placement: ['node.role == manager'],
        reservations: { memory: '32Mi', cpus: 0.25 },
      }),
    ]);
    const owner = h.store.owner;
    const ac = new AbortController();
    const running = h.runner.exec({ command: 'sleep 300' }, { ...cli, signal: ac.signal });
    const [svc] = await waitFor(async () => {
      const list = await services(owner);
      return list.length === 1 ? list : undefined;
    });
    const inspected = JSON.parse(
      execFileSync('docker', ['service', 'inspect', (svc as Listed).ID], { encoding: 'utf8' }),
      // biome-ignore lint/suspicious/noExplicitAny: the engine's JSON, checked field by field below
    )[0] as { Spec: Record<string, any> };
    const spec = inspected.Spec;
    expect(spec.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(spec.TaskTemplate.RestartPolicy.Condition).toBe('none');
    expect(spec.TaskTemplate.Resources).toEqual({
      Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 500_000_000, Pids: 64 },
      Reservations: { MemoryBytes: 32 * 1024 * 1024, NanoCPUs: 250_000_000 },
    });
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(['node.role == manager']);
    const c = spec.TaskTemplate.ContainerSpec;
    expect(c.User).toBe('65534:65534');
    expect(c.ReadOnly).toBe(true);
    expect(c.CapabilityDrop).toEqual(['ALL']);
    expect(c.Labels['caduceus.instance']).toBe(h.store.owner);
    // network none: one internal overlay network of the job's own.
    const nets = await networks(h.store.owner);
    expect(nets).toHaveLength(1);
    const net = await docker.getNetwork((nets[0] as { Id: string }).Id).inspect();
    expect(net.Internal).toBe(true);
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: net.Id }]);
    ac.abort();
    // The whole result, so that a job the swarm failed or rejected first shows why.
    const result = await running;
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'cancelled', exitCode: null });
  });

  it('fails a job whose task the swarm rejected (its exit code 0 is the field unset, not a success)', async () => {
    h = harness([swarmRuntime({ image: 'caduceus-no-such-image:latest' })]);
    const r = await h.runner.exec({ command: 'true' }, cli);
    expect(r.status, JSON.stringify(r)).toBe('failed');
    expect(r.exitCode).toBeNull();
    expect(r.output).toMatch(/swarm task rejected: No such image: caduceus-no-such-image:latest/);
  });

  it('cancelling a job removes its service and its config; stopping removes the network', async () => {
    h = harness([swarmRuntime()]);
    const instance = h.store.owner;
    const ac = new AbortController();
    const t0 = Date.now();
    const running = h.runner.exec({ command: 'sleep 300', timeoutMs: 600_000 }, { ...cli, signal: ac.signal });
    await waitFor(async () => (await services(instance)).length === 1);
    ac.abort();
    const res = await running;
    expect(res.status).toBe('cancelled');
    expect(res.exitCode).toBeNull();
    expect(Date.now() - t0).toBeLessThan(60_000);
    await waitFor(async () => (await services(instance)).length === 0);
    await waitFor(async () => (await configs(instance)).length === 0);
    expect(await networks(instance)).toHaveLength(1);
    await h.close();
    h = undefined;
    // The manager removes a swarm network first; the node's list can show it a moment longer.
    await waitFor(async () => (await networks(instance)).length === 0, 30_000, 'the network to go');
  });

  it('removes the container a job cancelled while its task was prepared gets after its service is gone', async () => {
    // Every swarm task tries to pull its image before using the local copy. A registry on
    // loopback that holds that pull keeps the task in preparing, with no container, until the
    // test lets it go: after the cancel removed the service. Then the engine makes the
    // container of a job whose service is gone (moby/moby#44312); the backend must remove it.
    const held: Socket[] = [];
    let holding = true;
    const registry = createServer((s) => {
      if (holding) held.push(s);
      else s.destroy();
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    const port = (registry.address() as AddressInfo).port;
    const repo = `127.0.0.1:${port}/caduceus-orphan-${randomBytes(4).toString('hex')}`;
    await docker.getImage(SANDBOX).tag({ repo, tag: 'latest' });
    try {
      h = harness([swarmRuntime({ image: `${repo}:latest` })]);
      const instance = h.store.owner;
      const ac = new AbortController();
      const running = h.runner.exec({ command: 'sleep 300' }, { ...cli, signal: ac.signal });
      await waitFor(() => held.length > 0, 60_000, 'the engine to pull the job’s image');
      const [task] = await tasks(instance);
      expect(task?.Status?.ContainerStatus?.ContainerID).toBeUndefined();
      ac.abort();
      expect(await running).toMatchObject({ status: 'cancelled', exitCode: null });
      expect(await services(instance)).toEqual([]);
      holding = false;
      for (const s of held) s.destroy();
      const orphan = await waitFor(
        async () => (await tasks(instance)).find((t) => t.ID === task?.ID)?.Status?.ContainerStatus?.ContainerID,
        60_000,
        'the orphaned task to get its container',
      );
      await waitFor(
        async () => !(await docker.listContainers({ all: true })).some((c) => c.Id === orphan),
        30_000,
        'the backend to remove the orphaned task’s container',
      );
      expect(await containers(instance)).toEqual([]);
    } finally {
      for (const s of held) s.destroy();
      registry.close();
      await docker
        .getImage(`${repo}:latest`)
        .remove()
        .catch(() => undefined);
    }
  }, 180_000);

  it('removes the job a crashed up left behind when up restarts, and spares other instances', async () => {
    const repo = makeRepo({
      'config/runtime.yaml': runtimeYaml({ execution: { mode: 'swarm' }, isolation: { image: SANDBOX } }),
      'config/task.yaml': taskYaml('long', {
        subtasks: [{ name: 'wait', run: 'sleep 600' }],
        retry: { maxAttempts: 1 },
      }),
    });
    const stateDir = join(tempDir('caduceus-swarm-up-'), 'state');
    // A job of another Caduceus on the same swarm, whose process is gone too: never touched.
    const foreign = await docker.createService({
      Name: `caduceus-foreign-${process.pid}`,
      Labels: {
        'caduceus.managed': 'true',
        'caduceus.instance': 'another-instance',
        'caduceus.owner': `${hostname()}:999999`,
      },
      TaskTemplate: {
        ContainerSpec: { Image: SANDBOX, Command: ['sleep', '600'] },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    } as unknown as Docker.CreateServiceOptions);
    try {
      const first = await up(['--repo', repo, '--path', 'config', '--state-dir', stateDir]);
      const db = new Database(join(stateDir, 'state.db'), { readonly: true });
      const instance = (db.prepare('SELECT instance_id FROM instance').get() as { instance_id: string }).instance_id;
      db.close();
      const [left] = await waitFor(async () => {
        const list = await services(instance);
        return list.length === 1 ? list : undefined;
      }, 60_000);
      first.child.kill('SIGKILL');
      await first.exited;
      // The engine keeps the job: nobody removed it.
      expect((await services(instance)).map((s) => s.ID)).toEqual([(left as Listed).ID]);

      const second = await up(['--repo', repo, '--path', 'config', '--state-dir', stateDir]);
      await waitFor(async () => !(await services(instance)).some((s) => s.ID === (left as Listed).ID), 60_000);
      expect((await docker.getService(foreign.id).inspect()).ID).toBe(foreign.id);
      // The crashed process's run was abandoned, so the task runs again: stop once its job is there.
      await waitFor(async () => (await services(instance)).some((s) => s.ID !== (left as Listed).ID), 60_000);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(await services(instance)).toEqual([]);
      // Engine 20.10 leaves a removed job's container running (moby/moby#44312): up removes it.
      expect(await containers(instance)).toEqual([]);
      expect(await configs(instance)).toEqual([]);
      await waitFor(async () => (await networks(instance)).length === 0, 30_000, 'the network to go');
    } finally {
      await docker
        .getService(foreign.id)
        .remove()
        .catch(() => undefined);
      const filters = JSON.stringify({ label: [`com.docker.swarm.service.id=${foreign.id}`] });
      for (const c of await docker.listContainers({ all: true, filters }))
        await docker.getContainer(c.Id).remove({ force: true });
    }
  });
});
