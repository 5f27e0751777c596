// The caller's isolation (RunOptions.isolation, a Task's spec.isolation) in the skill
// engine: the precedence rule as a table, then real runs in a real Docker engine showing
// that every shell step of the skill, nested skill calls included, honours it.

import { describe, it, expect, afterEach } from 'vitest';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { IsolationSpec } from '../../../reconciler/specs.js';
import { skillIsolation } from '../../../controllers/execution/runtime-config.js';
import { defaultRuntime, runtimeWithDefaults as withDefaults } from '../../../reconciler/runtime-defaults.js';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests, SANDBOX } from './docker-env.js';

const ready = await dockerReady();

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** One line a shell step prints about where it runs: uid, its own pid, the hostname. */
const WHERE = 'echo "where uid=$(id -u) pid=$$ host=$(hostname)"';
const where = (output: string): Array<{ uid: number; pid: number; host: string }> =>
  [...output.matchAll(/where uid=(\d+) pid=(\d+) host=(\S+)/g)].map((m) => ({
    uid: Number(m[1]),
    pid: Number(m[2]),
    host: m[3] as string,
  }));
/** In a container: sh is PID 1, the user is the sandbox user, the hostname is the container id. */
const inContainer = (uid = 65534) => ({ uid, pid: 1, host: expect.stringMatching(/^[0-9a-f]{12}$/) });
const onHost = () => ({ uid: process.getuid?.() ?? -1, pid: expect.any(Number), host: hostname() });

describe('isolation precedence: Runtime < skill < caller, field by field, but a Docker skill keeps what it set', () => {
  const rt = (mode: 'local' | 'docker') =>
    withDefaults({
      ...defaultRuntime(),
      execution: { ...defaultRuntime().execution, mode },
      isolation: { ...defaultRuntime().isolation, memory: '256Mi' },
    });
  const cases: Array<
    [string, 'local' | 'docker', IsolationSpec | undefined, IsolationSpec | undefined, Record<string, unknown>]
  > = [
    [
      'the Runtime alone',
      'docker',
      undefined,
      undefined,
      { mode: 'docker', memory: '256Mi', network: 'none', user: '65534:65534' },
    ],
    [
      'the caller moves a skill without its own mode into Docker',
      'local',
      undefined,
      { mode: 'docker' },
      { mode: 'docker', memory: '256Mi' },
    ],
    [
      'the caller moves a skill that only inherits Docker from the Runtime to local',
      'docker',
      { memory: '1Gi' },
      { mode: 'local' },
      { mode: 'local', memory: '1Gi' },
    ],
    [
      'the skill overrides the Runtime, the caller overrides the skill',
      'local',
      { memory: '1Gi', cpus: 1 },
      { memory: '2Gi', network: 'bridge' },
      { mode: 'local', memory: '2Gi', cpus: 1, network: 'bridge' },
    ],
    [
      'a Docker skill keeps the fields it set; the caller fills only the open ones',
      'local',
      { mode: 'docker', memory: '1Gi', cpus: 1 },
      { memory: '2Gi', network: 'bridge', pids: 64 },
      { mode: 'docker', memory: '1Gi', cpus: 1, network: 'bridge', pids: 64 },
    ],
    [
      "a skill asking for Docker is never moved to local nor loosened, yet takes the caller's other fields",
      'local',
      { mode: 'docker', user: '2000:2000', network: 'none' },
      { mode: 'local', user: '3000:3000', network: 'bridge', pids: 64 },
      { mode: 'docker', user: '2000:2000', network: 'none', pids: 64 },
    ],
    [
      'a skill asking for local may be moved into Docker',
      'docker',
      { mode: 'local' },
      { mode: 'docker', image: 'other:1' },
      { mode: 'docker', image: 'other:1' },
    ],
    [
      'undefined caller fields change nothing',
      'local',
      { mode: 'docker', memory: '1Gi' },
      { memory: undefined },
      { mode: 'docker', memory: '1Gi' },
    ],
  ];
  it.each(cases)('%s', (_name, mode, skillIso, callerIso, expected) => {
    expect(skillIsolation(rt(mode), skillIso, callerIso)).toMatchObject(expected);
  });
});

describe.runIf(runDockerTests(ready))("the caller's isolation in real runs", () => {
  it('runs every shell step, nested skill calls included, in a container when the caller says docker', async () => {
    const inner = skill('inner', { steps: [{ run: WHERE }] });
    const outer = skill('outer', {
      steps: [
        { run: WHERE },
        { skill: { name: 'inner' } },
        { id: 'last', run: `${WHERE}; cat /proc/1/cgroup | head -n 3` },
      ],
    });
    h = harness([runtime({ execution: { mode: 'local' }, isolation: { image: SANDBOX } }), inner, outer]);

    // The same skill without a caller isolation runs on the host: the test can fail.
    const local = await h.runner.runSkill('outer', {}, cli);
    expect(local.status).toBe('succeeded');
    expect(where(local.steps.map((s) => s.outputTail).join('\n'))).toEqual([onHost(), onHost(), onHost()]);

    const boxed = await h.runner.runSkill('outer', {}, { ...cli, isolation: { mode: 'docker' } });
    expect(boxed.status, boxed.error).toBe('succeeded');
    const seen = where(boxed.steps.map((s) => s.outputTail).join('\n'));
    expect(seen).toEqual([inContainer(), inContainer(), inContainer()]);
    // Three steps, three throw-away containers, none of them the host.
    expect(new Set(seen.map((s) => s.host)).size).toBe(3);
    expect(seen.every((s) => s.host !== hostname())).toBe(true);
    // With cgroup v1 (as here) PID 1's cgroup names the very container the step ran in.
    if (!readFileSync('/proc/self/cgroup', 'utf8').startsWith('0::'))
      expect(boxed.output).toContain(`/docker/${seen[2]?.host}`);
  });

  it("runs exec in the caller's isolation, with the request's own isolation laid over it", async () => {
    h = harness([runtime({ execution: { mode: 'local' }, isolation: { image: SANDBOX } })]);
    const boxed = await h.runner.exec({ command: WHERE }, { ...cli, isolation: { mode: 'docker', user: '1234:1234' } });
    expect(where(boxed.output)).toEqual([inContainer(1234)]);
    const asRequested = await h.runner.exec(
      { command: WHERE, isolation: { user: '4321:4321' } },
      { ...cli, isolation: { mode: 'docker', user: '1234:1234' } },
    );
    expect(where(asRequested.output)).toEqual([inContainer(4321)]);
    const back = await h.runner.exec(
      { command: WHERE, isolation: { mode: 'local' } },
      { ...cli, isolation: { mode: 'docker' } },
    );
    expect(where(back.output)).toEqual([onHost()]);
  });

  it("keeps a skill that asks for docker in its container when the caller says local (caller's user)", async () => {
    const boxedSkill = skill('needs-sandbox', { isolation: { mode: 'docker' }, steps: [{ run: WHERE }] });
    const plain = skill('plain', { steps: [{ run: WHERE }, { skill: { name: 'needs-sandbox' } }] });
    h = harness([runtime({ execution: { mode: 'docker' }, isolation: { image: SANDBOX } }), boxedSkill, plain]);

    const r = await h.runner.runSkill('plain', {}, { ...cli, isolation: { mode: 'local' } });
    expect(r.status, r.error).toBe('succeeded');
    // plain's own step follows the caller to the host; the nested sandboxed skill stays in Docker.
    expect(where(r.steps.map((s) => s.outputTail).join('\n'))).toEqual([onHost(), inContainer()]);

    const asUser = await h.runner.runSkill(
      'needs-sandbox',
      {},
      { ...cli, isolation: { mode: 'local', user: '4242:4242' } },
    );
    expect(asUser.status, asUser.error).toBe('succeeded');
    expect(where(asUser.output)).toEqual([inContainer(4242)]);
  });
});
