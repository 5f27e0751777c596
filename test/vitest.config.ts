// The suite's vitest configuration (`npm test` passes it with --config): tests live in
// test/, and every run gets its own temp dir that must be left empty (env/temp-guard.ts).

import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: join(import.meta.dirname, '..'),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/env/temp-guard.ts'],
    // The same limits `npm test` passes, so runs that do not (Stryker's) behave alike.
    testTimeout: 60000,
    hookTimeout: 120000,
    // Two files at once: vitest's default (cores - 1) is one on the 2-core CI machine, and
    // most files wait on processes, git, Docker or HTTP rather than the CPU.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
