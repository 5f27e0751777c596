// vitest globalSetup: each suite run gets its own temp dir (TMPDIR, inherited by the test
// workers and the CLI processes they spawn), so two suites running at once on one machine
// never see each other's files. At the end the run fails if a test left a caduceus-* entry
// behind; the run's temp dir is removed either way.

import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The caduceus-* entries directly in `dir`, sorted. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('caduceus-'))
    .sort();
}

export default function setup(): () => void {
  const systemTemp = realpathSync(tmpdir());
  const runDir = mkdtempSync(join(systemTemp, 'caduceus-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runDir;
  return () => {
    const left = leftovers(runDir);
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(runDir, { recursive: true, force: true });
    if (left.length > 0) {
      throw new Error(
        `tests left ${left.length} caduceus-* entr${left.length === 1 ? 'y' : 'ies'} in the temp dir ` +
          `(make them with tempDir() from test/helpers/temp.ts, or remove them): ${left.join(', ')}`,
      );
    }
  };
}
