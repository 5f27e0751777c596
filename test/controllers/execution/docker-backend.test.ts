import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { CaduceusError } from '../../../reconciler/errors.js';
import type { Observed } from '../../../reconciler/types.js';
import { harness, runtime, skill, snapshot, recordingContext, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';
import { waitFor } from '../../helpers/wait.js';
import { tempDir } from '../../helpers/temp.js';

const ready = await dockerReady();
const docker = new Docker();
const owner = `${hostname()}:${process.pid}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const dockerRuntime = (
  iso: Parameters<typeof runtime>[0] extends infer T ? (T extends { isolation?: infer I } ? I : never) : never = {},
) => runtime({ execution: { mode: 'docker' }, isolation: { image: SANDBOX, ...iso } });

/** Containers this test process made, with the given command marker. */
async function ourContainers(marker: string): Promise<Docker.ContainerInfo[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`caduceus.owner=${owner}`] } });
  return list.filter((c) => c.Command.includes(marker));
}

describe.runIf(runDockerTests(ready))('docker backend', () => {
  it('has a Docker engine with the sandbox image', () => {
    expect(ready).toBe(true);
  });

  it('runs as nobody with no network, a read-only root and a writable /tmp and workspace', async () => {
    h = harness([dockerRuntime()]);
    const res = await h.runner.exec(
      {
        command: [
          'id -u; id -g; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "',
          'touch /rootfile 2>/dev/null && echo root-writable || echo root-readonly',
          'touch /tmp/t && echo tmp-ok; echo data > out && echo ws-ok; pwd; echo "$CADUCEUS_WORKSPACE"; echo oops >&2',
        ].join('; '),
      },
      cli,
    );
    expect(res.status).toBe('succeeded');
    // stderr is captured too; its place among stdout lines depends on the engine's pipes.
    const lines = res.output.trim().split('\n');
    expect(lines).toContain('oops');
    expect(lines.filter((l) => l !== 'oops')).toEqual([
      '65534',
      '65534',
      'lo',
      'root-readonly',
      'tmp-ok',
      'ws-ok',
      '/workspace',
      '/workspace',
    ]);
  });

  it('has a network interface besides lo only when the spec asks for bridge', async () => {
    h = harness([dockerRuntime({ network: 'bridge' })]);
    const res = await h.runner.exec(
      { command: 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort' },
      cli,
    );
    expect(res.output.trim().split('\n')).toContain('eth0');
  });

  it('creates the container with the limits, hardening, mounts and labels of the spec', async () => {
    const configDir = tempDir('caduceus-config-');
    chmodSync(configDir, 0o755); // like a git checkout; mkdtemp makes it private
    writeFileSync(join(configDir, 'hello.txt'), 'config file\n');
    h = harness([dockerRuntime({ memory: '64Mi', cpus: 0.5, pids: 32 })], { configDir });
    const marker = 'limits-marker-1';
    const running = h.runner.exec(
      {
        command:
          'cat /config/hello.txt; (echo x > /config/new) 2>/dev/null || echo config-ro; ' +
          `until [ -e /workspace/inspected ]; do sleep 0.1; done # ${marker}`,
      },
      cli,
    );
    const info = await waitFor(async () => (await ourContainers(marker))[0]);
    // The container waits for the test to have inspected it, however slow the machine is.
    const c = await docker.getContainer(info.Id).inspect();
    const workspace = (c.HostConfig.Binds ?? []).find((b) => b.endsWith(':/workspace:rw'))?.split(':')[0];
    expect(workspace).toMatch(/^\//);
    writeFileSync(join(workspace ?? '', 'inspected'), '');
    const res = await running;
    expect(res.output.trim().split('\n')).toEqual(['config file', 'config-ro']);
    expect(c.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 32,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
    });
    expect(Object.keys(c.HostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(c.HostConfig.Binds).toEqual(
      expect.arrayContaining([expect.stringMatching(/:\/workspace:rw$/), `${configDir}:/config:ro`]),
    );
    expect(c.Config.User).toBe('65534:65534');
    expect(c.Config.Labels).toMatchObject({
      'caduceus.managed': 'true',
      'caduceus.owner': owner,
      'caduceus.run': expect.any(String),
    });
  });

  it('kills and removes the container on timeout', async () => {
    h = harness([dockerRuntime()]);
    const marker = 'timeout-marker-2';
    const running = h.runner.exec({ command: `sleep 30 # ${marker}`, timeoutMs: 1500 }, cli);
    await waitFor(async () => ((await ourContainers(marker)).length === 1 ? true : undefined));
    const res = await running;
    expect(res.status).toBe('timedOut');
    expect(await ourContainers(marker)).toEqual([]);
  });

  it('kills and removes the container when the caller aborts', async () => {
    h = harness([dockerRuntime()]);
    const marker = 'abort-marker-3';
    const ac = new AbortController();
    const running = h.runner.exec({ command: `sleep 30 # ${marker}` }, { ...cli, signal: ac.signal });
    await waitFor(async () => ((await ourContainers(marker)).length === 1 ? true : undefined));
    ac.abort();
    expect((await running).status).toBe('cancelled');
    expect(await ourContainers(marker)).toEqual([]);
  });

  it('streams demultiplexed stdout and stderr lines to onProgress', async () => {
    h = harness([dockerRuntime()]);
    const lines: string[] = [];
    const res = await h.runner.exec(
      { command: 'echo out-1; echo err-1 >&2; echo out-2' },
      { ...cli, onProgress: (p) => p.message && lines.push(p.message) },
    );
    expect(res.status).toBe('succeeded');
    expect(lines.sort()).toEqual(['err-1', 'out-1', 'out-2']);
  });

  it('caps a flood of output from the container and counts the dropped bytes', async () => {
    h = harness([runtime({ execution: { mode: 'docker', outputLimitBytes: 4096 } })]);
    const res = await h.runner.exec({ command: 'head -c 20000000 /dev/zero; echo; echo tail-line' }, cli);
    expect(res.status).toBe('succeeded');
    expect(Buffer.byteLength(res.output)).toBe(4096);
    expect(res.output.endsWith('\ntail-line\n')).toBe(true);
    expect(res.droppedBytes).toBe(20_000_000 + 1 + 10 - 4096);
  });

  it('collects this instance’s containers of crashed processes, sparing live ones and other instances', async () => {
    const dead = spawnSync('true').pid as number;
    const instance = `test-instance-${process.pid}-${Date.now()}`;
    const make = (labels: Record<string, string>) =>
      docker.createContainer({
        Image: SANDBOX,
        Cmd: ['sleep', '300'],
        Labels: { 'caduceus.managed': 'true', 'caduceus.run': 'crashed-run', ...labels },
        HostConfig: { NetworkMode: 'none' },
      });
    const crashed = await make({ 'caduceus.instance': instance, 'caduceus.owner': `${hostname()}:${dead}` });
    await crashed.start();
    const unowned = await make({ 'caduceus.instance': instance });
    const alive = await make({ 'caduceus.instance': instance, 'caduceus.owner': `${hostname()}:1` });
    // Another Caduceus on the same engine, on another host (whose processes this one counts
    // as gone): not ours to collect. (Another host also keeps it from older Caduceus builds
    // that other suites may run on a shared engine, which collected any dead owner's.)
    const foreign = await make({ 'caduceus.instance': 'another-instance', 'caduceus.owner': `elsewhere:${dead}` });
    try {
      h = harness([], { instanceId: instance });
      const gone = async (id: string) => {
        try {
          await docker.getContainer(id).inspect();
          return undefined;
        } catch (err) {
          return (err as { statusCode?: number }).statusCode === 404 ? true : undefined;
        }
      };
      await waitFor(() => gone(crashed.id));
      await waitFor(() => gone(unowned.id));
      expect((await docker.getContainer(alive.id).inspect()).Id).toBe(alive.id);
      expect((await docker.getContainer(foreign.id).inspect()).Id).toBe(foreign.id);
    } finally {
      await foreign.remove({ force: true }).catch(() => undefined);
      await alive.remove({ force: true }).catch(() => undefined);
      await crashed.remove({ force: true }).catch(() => undefined);
      await unowned.remove({ force: true }).catch(() => undefined);
    }
  });

  it('runs a docker-mode skill with params, step outputs, file steps and the config mount', async () => {
    const configDir = tempDir('caduceus-config-');
    chmodSync(configDir, 0o755);
    writeFileSync(join(configDir, 'greeting'), 'hello');
    h = harness(
      [
        runtime(),
        skill('boxed', {
          isolation: { mode: 'docker' },
          params: [{ name: 'who', type: 'string', required: true }],
          steps: [
            { file: { path: 'in.txt', action: 'write', content: 'from host\n' } },
            { file: { path: 'made/by/host/x.txt', action: 'write', content: 'x' } },
            { run: 'echo y > made/by/host/y.txt && echo > made/z.txt' },
            {
              id: 'greet',
              run: 'echo "$(cat $CADUCEUS_CONFIG_DIR/greeting) $PARAM_WHO"; cat in.txt; echo container >> in.txt',
            },
            { file: { path: 'in.txt', action: 'read' } },
            { run: 'echo "[$STEP_GREET_OUTPUT]" | head -1' },
          ],
        }),
      ],
      { configDir },
    );
    const r = await h.runner.runSkill('boxed', { who: '$(id -u); rm -rf /workspace' }, cli);
    expect(r.status).toBe('succeeded');
    expect(r.steps[3]?.outputTail).toBe('hello $(id -u); rm -rf /workspace\nfrom host\n');
    expect(r.steps[4]?.outputTail).toBe('from host\ncontainer\n');
    expect(r.output.trim()).toBe('[hello $(id -u); rm -rf /workspace');
  });

  it('reports a missing image as ImageNotFound in exec, skill runs and Runtime/Skill status', async () => {
    const rt = dockerRuntime({ image: 'caduceus-no-such-image:none' });
    const sk = skill('needs-image', { steps: [{ run: 'true' }] });
    h = harness([rt, sk]);
    let err: unknown;
    try {
      await h.runner.exec({ command: 'true' }, cli);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('ImageNotFound');
    expect((err as CaduceusError).hint).toContain('caduceus sandbox build');

    const run = await h.runner.runSkill('needs-image', {}, cli);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('caduceus-no-such-image:none');

    const none: Observed = { status: undefined };
    const snap = snapshot([rt, sk]);
    for (const [kind, res] of [
      ['Runtime', rt],
      ['Skill', sk],
    ] as const) {
      const rec = recordingContext(`${kind}/${res.metadata.name}`, snap);
      await h.reg.controllers.find((c) => c.kind === kind)?.reconcile(rec.ctx, res, none);
      expect(rec.ready()).toMatchObject({ status: 'False', reason: 'ImageNotFound' });
      expect(rec.ready()?.message).toContain('caduceus sandbox build');
    }
    const good = dockerRuntime();
    const rec = recordingContext('Runtime/default', snapshot([good]));
    await h.reg.controllers.find((c) => c.kind === 'Runtime')?.reconcile(rec.ctx, good, none);
    expect(rec.ready()).toMatchObject({ status: 'True', reason: 'Ready' });
  });
});
