// Temp dirs for tests, named caduceus-*: each one a test file makes through tempDir() is
// removed once the file's tests are done (after its own afterAll hooks, which stop the
// apps and processes using them). The suite's global check (test/env/temp-guard.ts)
// fails the run if any caduceus-* entry is left behind.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

// Registered when a test file first imports this module, so it is the file's first
// afterAll and, hooks running in reverse order, its last.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the temp dir, removed when the test file is done. */
export function tempDir(prefix = 'caduceus-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
