// The suite's temp-dir guard, run the way vitest runs it (setup, then the returned teardown):
// it must fail a run that leaves a caduceus-* entry or a process behind, and pass a clean one.
// The Docker and PostgreSQL checks have their own tests (docker-leftovers, postgres-leftovers).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { guard, strayProcesses } from './temp-guard.js';

describe('temp-dir guard', () => {
  it('gives the run its own TMPDIR and fails the run for a caduceus-* entry left in it', async () => {
    const before = process.env.TMPDIR;
    const teardown = await guard();
    const runDir = process.env.TMPDIR as string;
    expect(runDir).not.toBe(before);
    expect(runDir).toMatch(/\/caduceus-run-[^/]+$/);
    mkdirSync(join(runDir, 'caduceus-left-behind'));
    writeFileSync(join(runDir, 'not-ours.txt'), 'another tool');
    await expect(teardown()).rejects.toThrow(
      'tests left 1 caduceus-* entry in the temp dir (make them with tempDir() from test/helpers/temp.ts, ' +
        'or remove them): caduceus-left-behind',
    );
    expect(existsSync(runDir)).toBe(false);
    expect(process.env.TMPDIR).toBe(before);
  });

  it('passes a run that leaves only other files, and removes its temp dir', async () => {
    const teardown = await guard();
    const runDir = process.env.TMPDIR as string;
    writeFileSync(join(runDir, 'not-ours.txt'), 'another tool');
    await expect(teardown()).resolves.toBeUndefined();
    expect(existsSync(runDir)).toBe(false);
  });
});

describe('process guard', () => {
  it('fails the run for a process a test started and left running, and stops it', async () => {
    const teardown = await guard();
    const runDir = process.env.TMPDIR as string;
    // Spawned after setup: it inherits the run's TMPDIR, as everything a test starts does.
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise<string | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    expect(strayProcesses(runDir).map((p) => p.pid)).toContain(child.pid);
    await expect(teardown()).rejects.toThrow(
      `tests left 1 process running (stop what a test starts in its afterAll/afterEach): ${child.pid} sleep 600`,
    );
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(runDir)).toBe(false);
  });

  it('passes a run whose processes have ended', async () => {
    const teardown = await guard();
    const runDir = process.env.TMPDIR as string;
    const child = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    expect(strayProcesses(runDir)).toEqual([]);
    await expect(teardown()).resolves.toBeUndefined();
  });
});
