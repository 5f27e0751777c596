// vitest globalSetup: each suite run gets its own temp dir (TMPDIR, inherited by the test
// workers and the CLI processes they spawn), so two suites running at once on one machine
// never see each other's files. At the end the run fails if a test left a caduceus-* entry
// or a process behind (one still running with the run's TMPDIR, which every process a test
// starts inherits), a Docker container, Swarm service, config or network it made
// (docker-leftovers.ts), or a PostgreSQL database (postgres-leftovers.ts); whatever was
// left is removed either way, and what existed before the run is never counted.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerWatch, describeLeftovers } from './docker-leftovers.js';
import { dropDatabases, leftoverDatabases } from './postgres-leftovers.js';

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

/** Waits up to `ms` (synchronously) for stray processes to exit. */
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

export interface GuardOptions {
  /** Check the Docker engine (when one answers) for objects the run left. */
  docker?: boolean;
  /** Check the PostgreSQL test server (when it answers) for databases the run left. */
  postgres?: boolean;
  /** How long the Docker check waits for objects on their way out. */
  settleMs?: number;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Stops the processes the run left and names them, and the caduceus-* entries in its temp dir. */
function processesAndFiles(runDir: string): string[] {
  const failures: string[] = [];
  const stray = settle(runDir, 5000);
  for (const p of stray) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (stray.length > 0) {
    failures.push(
      `tests left ${plural(stray.length, 'process', 'processes')} running (stop what a test starts ` +
        `in its afterAll/afterEach): ${stray.map((p) => `${p.pid} ${p.command.slice(0, 200)}`).join('; ')}`,
    );
  }
  const left = leftovers(runDir);
  if (left.length > 0) {
    failures.push(
      `tests left ${plural(left.length, 'caduceus-* entry', 'caduceus-* entries')} in the temp dir ` +
        `(make them with tempDir() from test/helpers/temp.ts, or remove them): ${left.join(', ')}`,
    );
  }
  return failures;
}

/** Removes and names the Docker objects the run left; an engine gone meanwhile has nothing to say. */
async function dockerLeftovers(docker: DockerWatch, settleMs: number): Promise<string[]> {
  const objects = await docker.leftovers(settleMs).catch(() => []);
  if (objects.length === 0) return [];
  await docker.remove(objects);
  return [
    `tests left ${plural(objects.length, 'Docker object', 'Docker objects')} they made ` +
      `(remove them in the test's afterAll/afterEach): ${describeLeftovers(objects)}`,
  ];
}

/** Drops and names the PostgreSQL databases the run left. */
async function databaseLeftovers(run: string): Promise<string[]> {
  const dbs = await leftoverDatabases(run).catch(() => []);
  if (dbs.length === 0) return [];
  await dropDatabases(dbs);
  return [
    `tests left ${plural(dbs.length, 'PostgreSQL database', 'PostgreSQL databases')} (drop what ` +
      `createDatabase() from test/helpers/postgres.ts makes): ${dbs.join(', ')}`,
  ];
}

/** Sets the run up; the returned teardown rejects naming what the run left behind. */
export async function guard(opts: GuardOptions = {}): Promise<() => Promise<void>> {
  const systemTemp = realpathSync(tmpdir());
  const runDir = mkdtempSync(join(systemTemp, 'caduceus-run-'));
  const previous = { TMPDIR: process.env.TMPDIR, CADUCEUS_TEST_RUN: process.env.CADUCEUS_TEST_RUN };
  process.env.TMPDIR = runDir;
  // Names what the run's tests make where a temp dir cannot tell (PostgreSQL databases).
  const run = randomBytes(4).toString('hex');
  process.env.CADUCEUS_TEST_RUN = run;
  const docker = opts.docker ? await DockerWatch.start(runDir) : undefined;
  return async () => {
    const failures: string[] = [];
    try {
      failures.push(...processesAndFiles(runDir));
      if (docker) failures.push(...(await dockerLeftovers(docker, opts.settleMs ?? 15_000)));
      if (opts.postgres) failures.push(...(await databaseLeftovers(run)));
    } finally {
      docker?.close();
      for (const [k, v] of Object.entries(previous)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(runDir, { recursive: true, force: true });
    }
    if (failures.length > 0) throw new Error(failures.join('\n'));
  };
}

export default function setup(): Promise<() => Promise<void>> {
  return guard({ docker: true, postgres: true });
}
