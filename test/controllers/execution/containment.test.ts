// Nothing a local step starts outlives its run, and a step cannot read the daemon's
// environment: processes that leave the process group (setsid, double fork) end with the
// step, on success, timeout and after `kill -9` of the process that ran it; /proc shows
// the step only its own processes.

import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { localContainment } from '../../../controllers/execution/containment.js';
import { configDir, doc } from '../../helpers/config.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { pidsWith, sleepMarker } from '../../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');

let h: Harness | undefined;
const markers: string[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  // A failing test may leave its sleepers: end them by pid, only those carrying our markers.
  for (const m of markers.splice(0)) for (const pid of pidsWith(m)) process.kill(pid, 'SIGKILL');
});

beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(CLI)).toBe(true);
}, 180_000);

function marker(): string {
  const m = sleepMarker();
  markers.push(m);
  return m;
}

/** Starts one process that leaves the group (setsid) and one double-forked; both outlive the shell. */
const escapees = (a: string, b: string): string =>
  `setsid sleep ${a} >/dev/null 2>&1 </dev/null & (sleep ${b} >/dev/null 2>&1 </dev/null &); echo started`;

describe('local containment', () => {
  it('runs local steps in their own PID namespace on this host', async () => {
    expect((await localContainment()).kind).toBe('pid-namespace');
  });

  it('ends processes that left the process group or were double-forked when the step ends', async () => {
    const [a, b] = [marker(), marker()];
    h = harness([runtime(), skill('escape', { steps: [{ run: escapees(a, b) }, { run: 'echo second' }] })]);
    const r = await h.runner.runSkill('escape', {}, cli);
    expect(r.status).toBe('succeeded');
    expect(r.steps[0]?.outputTail.trim()).toBe('started');
    // Nothing to wait for: the step's namespace is gone before its result is reported.
    expect(pidsWith(a)).toEqual([]);
    expect(pidsWith(b)).toEqual([]);
  });

  it('ends them when the step times out', async () => {
    const [a, b] = [marker(), marker()];
    h = harness([runtime()]);
    const res = await h.runner.exec({ command: `${escapees(a, b)}; sleep 30`, timeoutMs: 300 }, cli);
    expect(res.status).toBe('timedOut');
    expect(pidsWith(a)).toEqual([]);
    expect(pidsWith(b)).toEqual([]);
  });

  it('ends them when the process running the step is killed with SIGKILL', async () => {
    const [a, b, c] = [marker(), marker(), marker()];
    const dir = configDir({
      'skills/hang.yaml': doc('Skill', 'hang', {
        version: '1',
        description: 'starts escapees, then waits',
        steps: [{ run: `${escapees(a, b)}; sleep ${c}` }],
      }),
    });
    const child = spawn(process.execPath, [CLI, 'run', 'skill', 'hang', dir, '--state-dir', tempDir()], {
      stdio: 'ignore',
    });
    try {
      await waitFor(
        () => pidsWith(a).length > 0 && pidsWith(b).length > 0 && pidsWith(c).length > 0,
        20_000,
        'the step',
      );
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor(() => [a, b, c].every((m) => pidsWith(m).length === 0), 10_000, 'the escapees to end');
  });
});

describe('what a local step can see', () => {
  it("cannot read the daemon's environment through /proc, nor see its processes", async () => {
    process.env.CADUCEUS_TEST_DAEMON_SECRET = 'daemon-only-7c1e9';
    try {
      h = harness([runtime({ execution: { envAllowlist: ['PATH'] } })]);
      const res = await h.runner.exec(
        {
          command: [
            'echo "ppid=$PPID"',
            'tr "\\0" "\\n" < /proc/$PPID/environ 2>/dev/null || true',
            'for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$f" 2>/dev/null || true; done',
            `ls /proc | grep -c '^[0-9]'`,
          ].join('\n'),
        },
        cli,
      );
      expect(res.status).toBe('succeeded');
      expect(res.output).not.toContain('daemon-only-7c1e9');
      const lines = res.output.trim().split('\n');
      expect(lines[0]).toBe('ppid=1');
      // The shell, the loop's subshells and ls: a handful, not the host's process table.
      expect(Number(lines.at(-1))).toBeLessThan(10);
    } finally {
      delete process.env.CADUCEUS_TEST_DAEMON_SECRET;
    }
  });
});
