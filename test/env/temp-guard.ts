// vitest globalSetup: each suite run gets its own temp dir (TMPDIR, inherited by the test
// workers and the CLI processes they spawn), so two suites running at once on one machine
// never see each other's files. At the end the run fails if a test left a caduceus-* entry
// or a process behind (one still running with the run's TMPDIR, which every process a test
// starts inherits); the run's temp dir is removed and such processes are killed either way.

import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The caduceus-* entries directly in `dir`, sorted. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('caduceus-'))
    .sort();
}

const DAEMON = /^(\S*\/)?(dockerd|containerd|containerd-shim\S*|docker-proxy)(\s|$)/;

/**
 * Processes other than this one and vitest's own workers whose environment holds
 * `TMPDIR=<runDir>`: what the run's tests started and left running. Linux only (/proc).
 */
export function strayProcesses(runDir: string): Array<{ pid: number; command: string }> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const out: Array<{ pid: number; command: string }> = [];
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
      if (!env.includes(`TMPDIR=${runDir}`)) continue;
      const command = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
      // vitest's fork workers inherit the run's TMPDIR too; they end with the run. The Docker
      // engine a test may start (test/env/ensure-docker.sh) is meant to outlive it.
      if (command === '' || /vitest/.test(command) || DAEMON.test(command)) continue;
      out.push({ pid, command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return out;
}

/** Waits up to `ms` (synchronously: teardown is synchronous) for stray processes to exit. */
function settle(runDir: string, ms: number): Array<{ pid: number; command: string }> {
  const deadline = Date.now() + ms;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let left = strayProcesses(runDir);
  while (left.length > 0 && Date.now() < deadline) {
    Atomics.wait(pause, 0, 0, 100);
    left = strayProcesses(runDir);
  }
  return left;
}

export default function setup(): () => void {
  const systemTemp = realpathSync(tmpdir());
  const runDir = mkdtempSync(join(systemTemp, 'caduceus-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runDir;
  return () => {
    const stray = settle(runDir, 5000);
    for (const p of stray) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const left = leftovers(runDir);
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(runDir, { recursive: true, force: true });
    if (stray.length > 0) {
      throw new Error(
        `tests left ${stray.length} process${stray.length === 1 ? '' : 'es'} running (stop what a test starts ` +
          `in its afterAll/afterEach): ${stray.map((p) => `${p.pid} ${p.command.slice(0, 200)}`).join('; ')}`,
      );
    }
    if (left.length > 0) {
      throw new Error(
        `tests left ${left.length} caduceus-* entr${left.length === 1 ? 'y' : 'ies'} in the temp dir ` +
          `(make them with tempDir() from test/helpers/temp.ts, or remove them): ${left.join(', ')}`,
      );
    }
  };
}
