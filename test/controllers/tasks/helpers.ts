// Shared set-up of the subagent tests: a configuration directory of real YAML loaded by
// the real loader, a real SQLite state file, and the real execution registration composed
// with the subagent one, exactly as `caduceus run` and `caduceus up` wire them.

import { afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { compose, lateBoundRunner, type Composition } from '../../../app/compose.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { silentLogger } from '../../../reconciler/log.js';
import type { ControllerDeps, Runner, Snapshot } from '../../../reconciler/types.js';
import { register as execution } from '../../../controllers/execution/index.js';
import { register as subagents } from '../../../controllers/tasks/index.js';
import { tempDir } from '../../helpers/temp.js';
import { configDir, doc, loadSnapshot } from '../../helpers/config.js';
import { CoreStore } from '../../../reconciler/state/core-store.js';
export { configDir, doc, loadSnapshot } from '../../helpers/config.js';
export { eventually } from '../../helpers/wait.js';

export function runtimeYaml(spec: Record<string, unknown> = {}): string {
  return doc('Runtime', 'default', spec);
}

export function taskYaml(name: string, spec: Record<string, unknown>): string {
  return doc('Task', name, spec);
}

export interface Harness {
  runner: Runner;
  runs: RunStore;
  store: StateStore;
  stateDir: string;
  snapshot: Snapshot;
  composition: Composition;
  close(): Promise<void>;
}

/**
 * Loads `files` (or an existing configuration directory) and composes execution + subagents over a fresh state
 * directory.
 */
export async function harness(
  files: Record<string, string> | string,
  edit?: (snap: Snapshot) => void,
): Promise<Harness> {
  const dir = typeof files === 'string' ? files : configDir(files);
  const snapshot = await loadSnapshot(dir);
  edit?.(snapshot);
  const stateDir = tempDir('caduceus-subagents-state-');
  const store = new StateStore({ stateDir });
  const { runner, provide } = lateBoundRunner();
  const deps: ControllerDeps = {
    store,
    events: new CoreStore(store),
    log: silentLogger,
    stateDir,
    snapshot: () => snapshot,
    runner,
    metrics: new Registry(),
    configDir: dir,
  };
  const composition = compose(deps, provide, [execution, subagents]);
  return {
    runner,
    runs: new RunStore(store),
    store,
    stateDir,
    snapshot,
    composition,
    close: async () => {
      await composition.stop();
      store.close();
    },
  };
}

/** `harness`, closing every harness it made after each test of the calling file (call it at the file's top level). */
export function harnessPerTest(): typeof harness {
  const open: Harness[] = [];
  afterEach(async () => {
    while (open.length) await open.pop()?.close();
  });
  return async (files, edit) => {
    const h = await harness(files, edit);
    open.push(h);
    return h;
  };
}

/** The largest number of [start, end] intervals open at the same instant. */
export function maxOverlap(intervals: Array<[number, number]>): number {
  const events = intervals.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]) as Array<[number, number]>;
  // Ends sort before starts at the same instant: touching intervals do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) {
    open += d;
    max = Math.max(max, open);
  }
  return max;
}

/** A subtask command that prints its start and end time (ms) around a sleep. */
export function timedSleep(seconds: number): string {
  return `echo "start $(date +%s%3N)"; sleep ${seconds}; echo "end $(date +%s%3N)"`;
}

export function interval(output: string): [number, number] {
  const s = /start (\d+)/.exec(output);
  const e = /end (\d+)/.exec(output);
  if (!s || !e) throw new Error(`no timestamps in output: ${output}`);
  return [Number(s[1]), Number(e[1])];
}

/** True while the process runs; a zombie (dead, waiting for its reaper) counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Docker with the sandbox image, or why not (tests skip outside CI and fail in CI). */
export function dockerUnavailable(): string | undefined {
  try {
    execFileSync('docker', ['image', 'inspect', 'caduceus-sandbox:latest'], { stdio: 'ignore', timeout: 15_000 });
    return undefined;
  } catch {
    return 'no Docker engine with caduceus-sandbox:latest (run test/env/ensure-docker.sh)';
  }
}
