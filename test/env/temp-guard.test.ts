// The suite's temp-dir guard, run the way vitest runs it (setup, then the returned teardown):
// it must fail a run that leaves a caduceus-* entry behind, and pass a clean one.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import setup from './temp-guard.js';

describe('temp-dir guard', () => {
  it('gives the run its own TMPDIR and fails the run for a caduceus-* entry left in it', () => {
    const before = process.env.TMPDIR;
    const teardown = setup();
    const runDir = process.env.TMPDIR as string;
    expect(runDir).not.toBe(before);
    expect(runDir).toMatch(/\/caduceus-run-[^/]+$/);
    mkdirSync(join(runDir, 'caduceus-left-behind'));
    writeFileSync(join(runDir, 'not-ours.txt'), 'another tool');
    expect(teardown).toThrow(
      'tests left 1 caduceus-* entry in the temp dir (make them with tempDir() from test/helpers/temp.ts, ' +
        'or remove them): caduceus-left-behind',
    );
    expect(existsSync(runDir)).toBe(false);
    expect(process.env.TMPDIR).toBe(before);
  });

  it('passes a run that leaves only other files, and removes its temp dir', () => {
    const teardown = setup();
    const runDir = process.env.TMPDIR as string;
    writeFileSync(join(runDir, 'not-ours.txt'), 'another tool');
    expect(teardown).not.toThrow();
    expect(existsSync(runDir)).toBe(false);
  });
});
