// A Task's spec.isolation reaches its skill subtasks, not only its run subtasks: real
// YAML through the real loader, execution + subagents composed, a real Docker engine.

import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { doc, dockerUnavailable, harnessPerTest, runtimeYaml, taskYaml } from './helpers.js';

const setup = harnessPerTest();
const cli = { trigger: { source: 'cli' } };

/** A skill whose only step says where it runs: uid, its shell's pid, the hostname, PID 1's cgroup. */
const probe = (name: string, isolation?: Record<string, unknown>): string =>
  doc('Skill', name, {
    version: '1.0.0',
    description: 'says where it runs',
    ...(isolation ? { isolation } : {}),
    steps: [{ run: 'echo "where uid=$(id -u) pid=$$ host=$(hostname)"; head -n 3 /proc/1/cgroup' }],
  });
const where = (output: string): { uid: number; pid: number; host: string } | undefined => {
  const m = /where uid=(\d+) pid=(\d+) host=(\S+)/.exec(output);
  return m ? { uid: Number(m[1]), pid: Number(m[2]), host: m[3] as string } : undefined;
};
const inContainer = { uid: 65534, pid: 1, host: expect.stringMatching(/^[0-9a-f]{12}$/) };
const onHost = { uid: process.getuid?.() ?? -1, pid: expect.any(Number), host: hostname() };
const cgroupV1 = !readFileSync('/proc/self/cgroup', 'utf8').startsWith('0::');

describe('task isolation for skill subtasks', () => {
  const noDocker = dockerUnavailable();
  const runIt = it.skipIf(noDocker !== undefined && process.env.CI !== 'true');

  runIt(
    'runs a skill subtask in a container when the task isolation says docker, though Runtime and skill say nothing',
    async () => {
      expect(noDocker).toBeUndefined();
      const h = await setup({
        'runtime.yaml': runtimeYaml({ execution: { mode: 'local' } }),
        'skills.yaml': probe('probe'),
        'tasks.yaml': [
          taskYaml('boxed', { isolation: { mode: 'docker' }, subtasks: [{ name: 'inside', skill: 'probe' }] }),
          taskYaml('plain', { subtasks: [{ name: 'outside', skill: 'probe' }] }),
        ].join('---\n'),
      });
      // Without the task's isolation the same skill runs on the host: the test can fail.
      const plain = await h.runner.runTask('plain', cli);
      expect(plain.subtasks[0]?.status).toBe('succeeded');
      expect(where(plain.subtasks[0]?.output ?? '')).toEqual(onHost);

      const boxed = await h.runner.runTask('boxed', cli);
      expect(boxed.subtasks[0]?.status, boxed.subtasks[0]?.error).toBe('succeeded');
      const output = boxed.subtasks[0]?.output ?? '';
      const seen = where(output);
      expect(seen).toEqual(inContainer);
      expect(seen?.host).not.toBe(hostname());
      // With cgroup v1 (as here) PID 1's cgroup names the container the step ran in.
      if (cgroupV1) expect(output).toContain(`/docker/${seen?.host}`);
      // The skill run is recorded as a child of the task run.
      const skillRun = h.runs.list({ kind: 'skill', name: 'probe' }).find((r) => r.parentId === boxed.runId);
      expect(skillRun?.status).toBe('succeeded');
    },
    60_000,
  );

  runIt(
    'never moves a skill that asks for docker to local, while the task still moves other skills',
    async () => {
      expect(noDocker).toBeUndefined();
      const h = await setup({
        'runtime.yaml': runtimeYaml({ execution: { mode: 'docker' } }),
        'skills.yaml': [probe('sandboxed', { mode: 'docker' }), probe('anywhere')].join('---\n'),
        'tasks.yaml': taskYaml('on-host', {
          isolation: { mode: 'local' },
          subtasks: [
            { name: 'needs-box', skill: 'sandboxed' },
            { name: 'follows-task', skill: 'anywhere' },
          ],
        }),
      });
      const report = await h.runner.runTask('on-host', cli);
      expect(report.status, JSON.stringify(report.subtasks)).toBe('succeeded');
      const byName = Object.fromEntries(report.subtasks.map((s) => [s.name, where(s.output)]));
      expect(byName).toEqual({ 'needs-box': inContainer, 'follows-task': onHost });
    },
    60_000,
  );
});
